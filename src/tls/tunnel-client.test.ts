/**
 * The tunnel client with its engine faked (the boundary): what happens to the engine's work when
 * the plaintext client leaves before its tunnel is up, and when it only half-closes.
 */
import { once } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { connect as tlsConnect, createServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issue } from '../../test/support/pki.js';
import { createRootLogger } from '../core/log.js';
import { ReplyCode } from './reply-codes.js';
import { NO_FLAGS, TlsError, type TlsEngine, type TlsSession } from './session.js';
import { startTunnelClient } from './tunnel-client.js';
import type { Tunnel } from './tunnel-listener.js';

const LOCAL = '127.0.0.1';
const logs: string[] = [];
const log = createRootLogger('debug', new Writable({ write: (chunk: Buffer, _encoding, done) => { logs.push(String(chunk)); done(); } }));

/** A TLS server that echoes and ends when its client ends. */
let echo: Server;
let echoPort = 0;
const tunnels: Tunnel[] = [];

beforeAll(async () => {
  const cert = issue({ subject: 'echo.test', dns: ['echo.test'] });
  echo = createServer({ cert: cert.certPem, key: cert.keyPem, allowHalfOpen: true }, (socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, LOCAL, resolve));
  const address = echo.address();
  echoPort = typeof address === 'object' && address ? address.port : 0;
});

afterAll(async () => {
  for (const tunnel of tunnels) await tunnel.close();
  await new Promise((resolve) => echo.close(resolve));
});

/** An engine whose connect waits for `settle` (or for its signal), and reports the signal it got. */
function fakeEngine(settle: (signal: AbortSignal) => Promise<TlsSession>): TlsEngine & { readonly signals: AbortSignal[] } {
  const signals: AbortSignal[] = [];
  const refuse = (): Promise<never> => Promise.reject(new TlsError(ReplyCode.Internal, 'not in this test'));
  return {
    signals,
    connect: (_target, _flags, signal) => {
      signals.push(signal);
      return settle(signal);
    },
    upgradeClient: refuse,
    upgradeServer: refuse,
  };
}

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
}

async function startWith(engine: TlsEngine): Promise<Tunnel> {
  const tunnel = await startTunnelClient({ engine, log, listen: { host: LOCAL, port: 0 }, connect: { name: 'echo.test.', port: echoPort }, flags: NO_FLAGS });
  tunnels.push(tunnel);
  return tunnel;
}

async function echoSession(): Promise<TlsSession> {
  const socket = tlsConnect({ host: LOCAL, port: echoPort, rejectUnauthorized: false });
  await once(socket, 'secureConnect');
  return { socket, identity: 'echo.test.', method: 'pinned', dnssec: 'secure', protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', peerAddress: LOCAL, peerPort: echoPort };
}

describe('tunnel client: a plaintext client that leaves early', () => {
  it('aborts the engine\'s lookup and TLS when the client closes before sending anything, and closes its socket', async () => {
    const engine = fakeEngine(untilAborted);
    const tunnel = await startWith(engine);
    const client: Socket = netConnect({ host: LOCAL, port: tunnel.port });
    client.on('error', () => undefined);
    await once(client, 'connect');
    client.end();
    await once(client, 'close');
    expect(engine.signals).toHaveLength(1);
    expect(engine.signals[0]!.aborted).toBe(true);
    expect(tunnel.connections()).toBe(0);
    expect(logs.some((line) => line.includes('client left; tunnel abandoned'))).toBe(true);
  });

  it('keeps the tunnel of a client that sent bytes and half-closed: the bytes go through and the answer comes back', async () => {
    // The session comes up only after a pause, so the client's FIN has usually arrived by then.
    const engine = fakeEngine(async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return echoSession();
    });
    const tunnel = await startWith(engine);
    const client: Socket = netConnect({ host: LOCAL, port: tunnel.port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    client.on('data', (chunk: Buffer) => chunks.push(chunk));
    await once(client, 'connect');
    client.end('hello through a half-closed tunnel\n');
    await once(client, 'end');
    expect(Buffer.concat(chunks).toString()).toBe('hello through a half-closed tunnel\n');
    expect(engine.signals[0]!.aborted).toBe(false);
    client.destroy();
  });
});
