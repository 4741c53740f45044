/**
 * The tunnels (seed 000 §4.4, stunnel's two modes) between real peers: a tunnel client in front of
 * `openssl s_server -rev`; a tunnel client → tunnel server → a plaintext echo service, with
 * half-close and a payload larger than every buffer on the way; client certificates required;
 * a DANE failure closing the plaintext client; close() freeing every connection (SIGTERM).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yargs from 'yargs';
import { ConfigError } from '../../src/core/errors.js';
import { NO_FLAGS } from '../../src/tls/index.js';
import { startTunnelClient } from '../../src/tls/tunnel-client.js';
import type { Tunnel } from '../../src/tls/tunnel-listener.js';
import { startTunnelServer } from '../../src/tls/tunnel-server.js';
import { startTunnel, tunnelCommand } from '../../src/tls/tunnel-command.js';
import { freePort } from '../support/free-port.js';
import type { TlsRuntime } from '../../src/tls-runtime.js';
import { comboHost, host, startTlsLab, type TlsLab } from '../support/tls-lab.js';

const LOCAL = '127.0.0.1';

let lab: TlsLab;
let client: TlsRuntime;
let server: TlsRuntime;
let echo: Server;
let echoPort: number;
let echoConnections = 0;
const tunnels: Tunnel[] = [];

/** A plaintext service that sends back what it gets and ends when the client ends (half-close). */
function startEcho(): Promise<number> {
  echo = createServer({ allowHalfOpen: true }, (socket) => {
    echoConnections++;
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  return new Promise((resolve) => echo.listen(0, LOCAL, () => {
    const address = echo.address();
    resolve(typeof address === 'object' && address ? address.port : 0);
  }));
}

async function tunnel(start: Promise<Tunnel>): Promise<Tunnel> {
  const started = await start;
  tunnels.push(started);
  return started;
}

/** Connects to a tunnel, sends `data`, half-closes, and collects everything until the other side ends. */
function exchange(port: number, data: Uint8Array | string, halfClose = true): Promise<{ received: Buffer; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket: Socket = netConnect({ host: LOCAL, port, allowHalfOpen: true });
    let ended = false;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      ended = true;
      socket.end();
    });
    socket.on('close', () => resolve({ received: Buffer.concat(chunks), ended }));
    socket.on('error', reject);
    socket.write(data);
    if (halfClose) socket.end();
  });
}

/** A TLS client (with a certificate or without) that sends a line, half-closes and collects the answer. */
function tlsExchange(port: number, credentials?: { cert: string; key: string }): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: LOCAL, port, rejectUnauthorized: false,
      ...(credentials ? { cert: readFileSync(credentials.cert), key: readFileSync(credentials.key) } : {}),
    });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => { text += chunk; });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text));
    socket.once('secureConnect', () => socket.end('hello\n'));
  });
}

beforeAll(async () => {
  lab = await startTlsLab();
  client = await lab.runtime({ handshakeTimeoutMs: 5000 });
  server = await lab.runtime({ handshakeTimeoutMs: 5000, certFile: lab.files.good.fullchain, keyFile: lab.files.good.key });
  echoPort = await startEcho();
}, 120_000);

afterAll(async () => {
  for (const started of tunnels) await started.close();
  await new Promise((resolve) => echo?.close(resolve));
  await lab?.stop();
});

describe('tunnel client → openssl s_server -rev', () => {
  it('carries bytes both ways and passes the server\'s close back', async () => {
    const t = await tunnel(startTunnelClient({
      engine: client.engine, log: client.log, listen: { host: LOCAL, port: 0 },
      connect: { name: comboHost(3, 1, 1), port: lab.ports.good }, flags: NO_FLAGS,
    }));
    // s_server -rev answers each line reversed and closes the connection on CLOSE.
    const { received, ended } = await exchange(t.port, 'hello tunnel\nCLOSE\n', false);
    expect(received.toString()).toContain('lennut olleh');
    expect(ended).toBe(true);
  });

  it('closes the plaintext connection when DANE fails, and logs the reply code', async () => {
    const t = await tunnel(startTunnelClient({
      engine: client.engine, log: client.log, listen: { host: LOCAL, port: 0 },
      connect: { name: host('mismatch'), port: lab.ports.good }, flags: NO_FLAGS,
    }));
    const { received } = await exchange(t.port, 'secret\n', false);
    expect(received.length).toBe(0);
    expect(lab.logs.some((line) => line.includes('"reply":"TLSA_MISMATCH"') && line.includes('tunnel refused'))).toBe(true);
  });
});

describe('tunnel client → tunnel server → plaintext echo', () => {
  let front: Tunnel;

  beforeAll(async () => {
    await tunnel(startTunnelServer({
      engine: server.engine, log: server.log, listen: { host: LOCAL, port: lab.ports.tunnel },
      forward: { host: LOCAL, port: echoPort }, requireClientCertificate: false, flags: NO_FLAGS,
    }));
    front = await tunnel(startTunnelClient({
      engine: client.engine, log: client.log, listen: { host: LOCAL, port: 0 },
      connect: { name: host('tunnel'), port: lab.ports.tunnel }, flags: NO_FLAGS,
    }));
  });

  it('echoes a payload larger than every buffer, then ends after the client\'s half-close', async () => {
    const payload = randomBytes(4 * 1024 * 1024);
    const { received, ended } = await exchange(front.port, payload);
    expect(received.length).toBe(payload.length);
    expect(createHash('sha256').update(received).digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
    expect(ended).toBe(true);
  });

  it('counts open connections and closes them all on close() (SIGTERM)', async () => {
    const extra = await tunnel(startTunnelClient({
      engine: client.engine, log: client.log, listen: { host: LOCAL, port: 0 },
      connect: { name: host('tunnel'), port: lab.ports.tunnel }, flags: NO_FLAGS,
    }));
    const socket = netConnect({ host: LOCAL, port: extra.port });
    socket.on('error', () => undefined);
    const closed = new Promise((resolve) => socket.on('close', resolve));
    const firstByte = new Promise((resolve) => socket.once('data', resolve));
    socket.write('x');
    await firstByte;
    expect(extra.connections()).toBe(1);
    await extra.close();
    await closed;
    expect(extra.connections()).toBe(0);
  });
});

describe('tunnel server requiring client certificates', () => {
  let guarded: Tunnel;

  beforeAll(async () => {
    guarded = await tunnel(startTunnelServer({
      engine: server.engine, log: server.log, listen: { host: LOCAL, port: 0 },
      forward: { host: LOCAL, port: echoPort }, requireClientCertificate: true, flags: NO_FLAGS,
    }));
  });

  it('refuses a client without a certificate: nothing reaches the service', async () => {
    const before = echoConnections;
    expect(await tlsExchange(guarded.port)).toBe('');
    expect(echoConnections).toBe(before);
    expect(lab.logs.some((line) => line.includes('"reply":"NO_PEER_CERT"'))).toBe(true);
  });

  it('lets a client in whose certificate its domain\'s TLSA record matches', async () => {
    expect(await tlsExchange(guarded.port, lab.files.client)).toBe('hello\n');
  });
});

describe('oedns tunnel (the command)', () => {
  /** The options as `oedns tunnel …` parses them; the handler, which waits for SIGTERM, is not run. */
  async function parse(args: readonly string[]): Promise<Parameters<typeof startTunnel>[0]> {
    let parsed: Parameters<typeof startTunnel>[0] | undefined;
    await yargs().command({ ...tunnelCommand, handler: (argv) => { parsed = argv; } }).strict().parseAsync(['tunnel', ...args]);
    return parsed!;
  }

  it('runs a client from its command line, the negative flags spelled as the control socket\'s words', async () => {
    const listen = await freePort();
    const argv = await parse(['client', '--listen', `${LOCAL}:${listen}`, '--connect', `host.insecure.test:${lab.ports.good}`, '--no-dnssec', '--log-level', 'silent', ...lab.cliArgs]);
    expect(argv).toMatchObject({ dnssec: false, dane: true, ldap: true, 'ignore-bogus': false });
    const t = await tunnel(startTunnel(argv));
    const { received } = await exchange(t.port, 'insecure but asked for\nCLOSE\n', false);
    expect(received.toString()).toContain('rof deksa tub erucesni');
  });

  it('refuses a server without --forward, --cert or --key', async () => {
    const argv = await parse(['server', '--listen', `${LOCAL}:1`, '--forward', `${LOCAL}:2`, ...lab.cliArgs]);
    await expect(startTunnel(argv)).rejects.toBeInstanceOf(ConfigError);
    await expect(startTunnel({ ...argv, forward: undefined })).rejects.toThrow(/--forward/);
  });
});
