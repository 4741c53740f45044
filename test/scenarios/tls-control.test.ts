/**
 * The start-tls/recv-tls daemon (seed 000 §4.1) with the real engine over the TLS lab
 * (test/support/tls-lab.ts: a BIND-signed zone of TLSA records, `openssl s_server -rev` peers):
 * an application uses the client library (`oedns/client`) and gets OK plus a plaintext stream, or
 * ERR with the code of what failed; the server side takes `openssl s_client` peers on the
 * daemon's listeners; STARTTLS runs as connect + start-tls @TOKEN against aiosmtpd; the socket
 * file has the mode and group asked; a peer that hangs gets TIMEOUT and frees its slot. The
 * daemon runs in-process, and once as the `oedns tls-daemon` process (needs dist/).
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { acceptPlain, connectPlain, OednsTlsError, recvTls, recvTlsOn, startTls, startTlsOn, type TlsFlagWord } from '../../src/client/index.js';
import { resolveGroup, TlsDaemon } from '../../src/tls/control/index.js';
import type { TlsRuntime } from '../../src/tls-runtime.js';
import { stopChild } from '../support/lab-process.js';
import { sClient } from '../support/openssl-peer.js';
import { startSmtpServer, type SmtpServer } from '../support/smtp-server.js';
import { oednsCommand } from '../support/tls-commands.js';
import { comboHost, host, startTlsLab, TLS_INSECURE_ZONE, type TlsLab } from '../support/tls-lab.js';
import { readLine } from '../support/read-line.js';

let lab: TlsLab;
let runtime: TlsRuntime;
let dir: string;
let smtp: SmtpServer;
let daemon: TlsDaemon | undefined;
let socketPath: string;

beforeAll(async () => {
  lab = await startTlsLab();
  runtime = await lab.runtime({ handshakeTimeoutMs: 1500, certFile: lab.files.good.fullchain, keyFile: lab.files.good.key });
  dir = await mkdtemp(join(tmpdir(), 'oedns-tls-control-'));
  smtp = await startSmtpServer({ certFile: lab.files.good.fullchain, keyFile: lab.files.good.key });
}, 120_000);

afterAll(async () => {
  await smtp?.stop();
  await lab?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

async function start(gid?: number): Promise<TlsDaemon> {
  socketPath = join(dir, 'tls.sock');
  daemon = await TlsDaemon.start({
    socketPath, gid, engine: runtime.engine, lookup: runtime.lookup, log: pino({ level: 'silent' }),
    listeners: [{ name: 'web', host: '127.0.0.1', port: 0, requireCert: false }, { name: 'strict', host: '127.0.0.1', port: 0, requireCert: true }],
  });
  return daemon;
}

async function code(promise: Promise<object>): Promise<string> {
  try {
    const result = await promise;
    if ('stream' in result) (result.stream as Socket).destroy();
  } catch (error) {
    if (error instanceof OednsTlsError) return error.code;
    throw error;
  }
  return 'OK';
}


async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('start-tls', () => {
  it('answers OK with the DANE-checked identity and carries plaintext to s_server -rev and back', async () => {
    await start();
    const { stream, identity, attributes } = await startTls({ socketPath, name: comboHost(3, 1, 1), port: lab.ports.good });
    expect(identity).toBe('u3s1m1.tls.test.');
    expect(attributes).toMatchObject({ method: 'dane', dnssec: 'secure', dane: '3,1,1', tlsa: `_${lab.ports.good}._tcp.u3s1m1.tls.test.`, peer: `127.0.0.1:${lab.ports.good}` });
    expect(attributes['protocol']).toMatch(/^TLSv1\.[23]$/);
    stream.write('hello\n');
    expect(await readLine(stream)).toBe('olleh\n');
    stream.destroy();
  });

  it('answers ERR with the code of each failure, one line, and closes', async () => {
    await start();
    const cases: Array<[string, number, string, TlsFlagWord[]?]> = [
      [host('mismatch'), lab.ports.good, 'TLSA_MISMATCH'],
      [host('notlsa'), lab.ports.good, 'NO_TLSA'],
      [host('bogus'), lab.ports.good, 'DNSSEC_BOGUS'],
      [`host.${TLS_INSECURE_ZONE}`, lab.ports.good, 'DNSSEC_INSECURE'],
      [host('refused'), lab.ports.closed, 'CONNECT_FAILED'],
      [host('lame'), lab.ports.good, 'DNS_FAILED'],
      [host('nowhere'), lab.ports.good, 'NOT_FOUND'],
      [host('wrong-ta'), lab.ports.wrong, 'NAME_MISMATCH'],
      [host('expired'), lab.ports.expired, 'CHAIN_INVALID', ['no-dane']],
      [host('notlsa'), lab.ports.good, 'OK', ['no-dane']],
    ];
    for (const [name, port, expected, flags] of cases) {
      expect([name, await code(startTls({ socketPath, name, port, flags }))]).toEqual([name, expected]);
    }
  });

  it('answers BAD_REQUEST to lines and flags outside the grammar', async () => {
    await start();
    const raw = (text: string): Promise<string> => new Promise((resolve) => {
      const socket = connect(socketPath, () => socket.write(text));
      let reply = '';
      socket.on('data', (chunk) => (reply += chunk.toString()));
      socket.on('close', () => resolve(reply));
    });
    expect(await raw(`start-tls ${comboHost(3, 1, 1)} ${lab.ports.good} no-security\n`)).toMatch(/^ERR BAD_REQUEST unknown flag "no-security": no-dnssec, ignore-bogus, no-dane, no-ldap\n$/);
    expect(await raw('start-tls www.example.test 99999\n')).toMatch(/^ERR BAD_REQUEST port "99999"/);
    expect(await raw('recv-tls\n')).toMatch(/^ERR BAD_REQUEST recv-tls: missing LISTENER\n$/);
  });

  it('times out a peer that hangs in the handshake with ERR TIMEOUT and frees the slot and the socket', async () => {
    const d = await start();
    expect(await code(startTls({ socketPath, name: host('hang'), port: lab.ports.hang }))).toBe('TIMEOUT');
    await until(() => d.connectionCount === 0);
    await lab.hang.allClosed();
  });
});

describe('recv-tls on a daemon listener', () => {
  it('hands an openssl s_client peer to the application as a plaintext stream', async () => {
    const d = await start();
    const waiting = recvTls({ socketPath, listener: 'web' });
    await until(() => d.waitingOn('web') === 1);
    const client = sClient({ port: d.listenerPort('web')!, input: 'ping\n' });
    const { stream, identity, attributes } = await waiting;
    expect(identity).toBe('anonymous');
    expect(attributes['method']).toBe('none');
    expect(await readLine(stream)).toBe('ping\n');
    stream.end('pong\n');
    const result = await client;
    expect(result.stdout).toBe('pong');
  });

  it('checks a client certificate by the TLSA record at its name, and demands one where the listener says so', async () => {
    const d = await start();
    const port = d.listenerPort('strict')!;
    const waiting = recvTls({ socketPath, listener: 'strict' });
    const client = sClient({ port, cert: lab.files.client.cert, key: lab.files.client.key, input: 'hi\n' });
    const { stream, identity, attributes } = await waiting;
    expect(identity).toBe('client.tls.test.');
    expect(attributes).toMatchObject({ method: 'dane', dane: '3,1,1' });
    expect(await readLine(stream)).toBe('hi\n');
    stream.end();
    await client;
    const refused = code(recvTls({ socketPath, listener: 'strict' }));
    await sClient({ port });
    expect(await refused).toBe('NO_PEER_CERT');
  });

  it('answers HANDSHAKE_FAILED for a peer that does not speak TLS, and NO_LISTENER for a listener it does not have', async () => {
    const d = await start();
    const refused = code(recvTls({ socketPath, listener: 'web' }));
    await until(() => d.waitingOn('web') === 1);
    const peer = connect(d.listenerPort('web')!, '127.0.0.1', () => peer.end('GET / HTTP/1.0\r\n\r\n'));
    peer.on('error', () => undefined);
    peer.resume();
    expect(await refused).toBe('HANDSHAKE_FAILED');
    expect(await code(recvTls({ socketPath, listener: 'nope' }))).toBe('NO_LISTENER');
  });
});

describe('STARTTLS: connect, the protocol\'s own dialogue, start-tls @TOKEN', () => {
  async function toStartTls(): Promise<{ stream: Socket; token: string }> {
    const { stream, token, port } = await connectPlain({ socketPath, name: host('notlsa'), port: smtp.port });
    expect(port).toBe(smtp.port);
    expect(await readLine(stream)).toMatch(/^220 /);
    stream.write('STARTTLS\r\n');
    expect(await readLine(stream)).toMatch(/^220 /);
    return { stream, token };
  }

  it('upgrades the relayed SMTP session in place (here by PKIX, no-dane: the host has no TLSA)', async () => {
    await start();
    const { stream, token } = await toStartTls();
    const { identity, attributes } = await startTlsOn(token, { socketPath, flags: ['no-dane'] });
    expect(identity).toBe('notlsa.tls.test.');
    expect(attributes['method']).toBe('pkix');
    stream.write('EHLO app.example\r\n');
    expect(await readLine(stream)).toMatch(/^250-/);
    stream.destroy();
  });

  it('answers the refusal on the second connection and closes the first', async () => {
    await start();
    const { stream, token } = await toStartTls();
    const closed = new Promise((resolve) => stream.once('close', resolve));
    expect(await code(startTlsOn(token, { socketPath }))).toBe('NO_TLSA');
    await closed;
  });
});

describe('server-side STARTTLS: accept, the dialogue, recv-tls @TOKEN', () => {
  it('upgrades an `openssl s_client -starttls smtp` peer that sends its ClientHello right after 220', async () => {
    const d = await start();
    const accepting = acceptPlain({ socketPath, listener: 'web' });
    await until(() => d.waitingOn('web') === 1);
    const client = sClient({ port: d.listenerPort('web')!, extraArgs: ['-starttls', 'smtp'], input: 'hello\n' });
    const { stream, token, address } = await accepting;
    expect(address).toBe('127.0.0.1');
    stream.write('220 app.example ESMTP\r\n');
    expect(await readLine(stream)).toMatch(/^EHLO /);
    stream.write('250-app.example\r\n250 STARTTLS\r\n');
    expect(await readLine(stream)).toBe('STARTTLS\r\n');
    // The natural order: answer first, then ask for TLS; the relay holds the ClientHello meanwhile.
    stream.write('220 ready\r\n');
    await until(() => d.heldBytes > 0);
    const { identity } = await recvTlsOn(token, { socketPath });
    expect(identity).toBe('anonymous');
    expect(await readLine(stream)).toBe('hello\n');
    stream.end('bye\n');
    expect((await client).stdout).toMatch(/bye$/);
  });
});

describe('the socket and the process', () => {
  it('gives the socket mode 0660 and the group asked, from /etc/group', async () => {
    const gid = await resolveGroup('daemon', '--socket-group');
    await start(gid);
    const st = await stat(socketPath);
    expect({ mode: st.mode & 0o777, gid: st.gid, socket: st.isSocket() }).toEqual({ mode: 0o660, gid, socket: true });
  });

  it('runs as `oedns tls-daemon`, serves start-tls, and removes its socket on SIGTERM', async () => {
    const [node, ...script] = await oednsCommand(dir);
    socketPath = join(dir, 'process.sock');
    const child: ResultPromise = execa(node!, [...script, 'tls-daemon', ...lab.cliArgs, '--socket', socketPath, '--socket-mode', '0600', '--log-level', 'info'], { reject: false, buffer: false, stdin: 'ignore', forceKillAfterDelay: 3000 });
    let log = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
    try {
      await until(() => log.includes('tls daemon listening') || child.exitCode !== null);
      expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
      const { stream, identity } = await startTls({ socketPath, name: comboHost(2, 1, 1), port: lab.ports.good });
      expect(identity).toBe('u2s1m1.tls.test.');
      stream.destroy();
    } finally {
      await stopChild(child);
    }
    await expect(stat(socketPath)).rejects.toThrow(/ENOENT/);
  });
});
