/**
 * The daemon's protocol over a real UNIX socket, with a fake engine (test/support/tls-control-fakes.ts:
 * real TLS, no checks) and fake DNS; the real engine is driven in test/scenarios/tls-control.test.ts.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { acceptPlain, connectPlain, OednsTlsError, recvTls, recvTlsOn, startTls, startTlsOn } from '../../client/index.js';
import {
  fakeEngine, fakeLookup, portOf, startEchoServer, startStartTlsServer, tlsClientTo,
} from '../../../test/support/tls-control-fakes.js';
import type { TlsEngine } from '../session.js';
import { TlsDaemon, type TlsDaemonOptions } from './daemon.js';

let dir: string;
let echo: Server;
let starttls: Server;
let daemon: TlsDaemon | undefined;
const engine = fakeEngine(() => portOf(echo));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oedns-tlsd-'));
  echo = await startEchoServer();
  starttls = await startStartTlsServer();
});

afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

afterAll(async () => {
  echo?.close();
  starttls?.close();
  await rm(dir, { recursive: true, force: true });
});

async function start(extra: Partial<TlsDaemonOptions> = {}): Promise<string> {
  const socketPath = join(dir, 'tls.sock');
  daemon = await TlsDaemon.start({
    socketPath, engine, lookup: fakeLookup, log: pino({ level: 'silent' }),
    listeners: [{ name: 'web', host: '127.0.0.1', port: 0, requireCert: false }], ...extra,
  });
  return socketPath;
}

/** Sends raw bytes and collects everything until the daemon closes. */
function raw(socketPath: string, bytes: string | undefined): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('close', () => resolve(text));
    socket.on('error', () => undefined);
    if (bytes !== undefined) socket.write(bytes);
  });
}

function readOnce(stream: Socket): Promise<string> {
  return new Promise((resolve) => stream.once('data', (chunk: Buffer) => resolve(chunk.toString())));
}

const codeOf = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OednsTlsError) return error.code;
    throw error;
  }
  throw new Error('resolved');
};

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('start-tls', () => {
  it('answers OK with the identity first and relays plaintext both ways', async () => {
    const socketPath = await start();
    const { stream, identity, attributes } = await startTls({ socketPath, name: 'www.example.test', port: 443 });
    expect(identity).toBe('www.example.test.');
    expect(attributes).toMatchObject({ method: 'dane', dnssec: 'secure', dane: '3,1,1', tlsa: '_443._tcp.www.example.test.' });
    expect(attributes['peer']).toMatch(/^127\.0\.0\.1:\d+$/);
    stream.write('hello');
    expect(await readOnce(stream)).toBe('HELLO');
    stream.destroy();
  });

  it('delivers data the application sent right after the request line, before OK', async () => {
    const socketPath = await start();
    const text = await new Promise<string>((resolve) => {
      const socket = connect(socketPath, () => socket.write('start-tls www.example.test 443\nearly'));
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString();
        if (received.includes('EARLY')) {
          socket.destroy();
          resolve(received);
        }
      });
    });
    expect(text).toMatch(/^OK www\.example\.test\. .*\nEARLY$/s);
  });

  it('passes the engine\'s refusal on as ERR with its code', async () => {
    const socketPath = await start();
    expect(await codeOf(startTls({ socketPath, name: 'mismatch.test', port: 443 }))).toBe('TLSA_MISMATCH');
    expect(await raw(socketPath, 'start-tls mismatch.test 443\n')).toBe('ERR TLSA_MISMATCH no TLSA record of _443._tcp.mismatch.test. matches\n');
  });

  it('answers INTERNAL to a fault of its own, keeping the details for its log', async () => {
    const logged: string[] = [];
    const faulty: TlsEngine = { ...engine, connect: () => Promise.reject(new TypeError('a bug in the engine')) };
    const socketPath = await start({ engine: faulty, log: pino({ level: 'error' }, { write: (line: string) => void logged.push(line) }) });
    expect(await raw(socketPath, 'start-tls www.example.test 443\n')).toBe('ERR INTERNAL internal error (see the daemon log)\n');
    expect(logged.some((line) => line.includes('"msg":"control request failed"') && line.includes('a bug in the engine'))).toBe(true);
  });

  it('times a hung peer out with ERR TIMEOUT and frees the connection', async () => {
    const socketPath = await start({ operationTimeoutMs: 200 });
    expect(await codeOf(startTls({ socketPath, name: 'hang.test', port: 443 }))).toBe('TIMEOUT');
    await until(() => daemon!.connectionCount === 0);
  });

  it('frees the slot of an application that hangs up while it waits', async () => {
    const socketPath = await start();
    const controller = new AbortController();
    const pending = startTls({ socketPath, name: 'hang.test', port: 443, signal: controller.signal });
    await until(() => daemon!.connectionCount === 1);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await until(() => daemon!.connectionCount === 0);
  });
});

describe('bad requests and bounds', () => {
  it('answers BAD_REQUEST to lines outside the grammar and closes', async () => {
    const socketPath = await start();
    expect(await raw(socketPath, 'start-tls www.example.test 443 no-checks\n')).toMatch(/^ERR BAD_REQUEST unknown flag "no-checks"/);
    expect(await raw(socketPath, 'GET / HTTP/1.1\r\n')).toMatch(/^ERR BAD_REQUEST unknown command/);
    expect(await raw(socketPath, `start-tls ${'a'.repeat(2000)}`)).toMatch(/^ERR BAD_REQUEST request line longer than 1024 bytes\n$/);
    expect(await raw(socketPath, '\u0000\u00ff\n')).toMatch(/^ERR BAD_REQUEST .*printable/);
    expect(await codeOf(startTls({ socketPath, name: 'a b', port: 443 }))).toBe('BAD_REQUEST');
  });

  it('answers TIMEOUT to a client that sends no line in time', async () => {
    const socketPath = await start({ commandTimeoutMs: 100 });
    expect(await raw(socketPath, 'start-tls www.exa')).toBe('ERR TIMEOUT no request line within 100 ms\n');
  });

  it('refuses connections beyond the limit with one ERR line', async () => {
    const socketPath = await start({ maxConnections: 1 });
    const held = connect(socketPath);
    await until(() => daemon!.connectionCount === 1);
    expect(await raw(socketPath, undefined)).toMatch(/^ERR BUSY too many control connections \(1\); try again later\n$/);
    held.destroy();
  });

  it('answers NO_LISTENER for a listener it does not have', async () => {
    const socketPath = await start();
    expect(await codeOf(recvTls({ socketPath, listener: 'nope' }))).toBe('NO_LISTENER');
    expect(await codeOf(acceptPlain({ socketPath, listener: 'nope' }))).toBe('NO_LISTENER');
  });

  it('reports NO_DAEMON when nothing listens', async () => {
    expect(await codeOf(startTls({ socketPath: join(dir, 'none.sock'), name: 'a.test', port: 1 }))).toBe('NO_DAEMON');
  });
});

describe('recv-tls and accept', () => {
  it('hands the next peer of a listener to recv-tls, anonymous without a certificate', async () => {
    const socketPath = await start();
    const waiting = recvTls({ socketPath, listener: 'web' });
    await until(() => daemon!.waitingOn('web') === 1);
    const peer = await tlsClientTo(daemon!.listenerPort('web')!, 'ping');
    const { stream, identity, attributes } = await waiting;
    expect(identity).toBe('anonymous');
    expect(attributes['method']).toBe('none');
    expect(await readOnce(stream)).toBe('ping');
    stream.write('pong');
    expect(await peer.received).toBe('pong');
    peer.tls.destroy();
    stream.destroy();
  });

  it('limits the requests waiting on one listener and forgets those whose application left', async () => {
    const socketPath = await start({ maxWaitingPerListener: 1 });
    const controller = new AbortController();
    const first = recvTls({ socketPath, listener: 'web', signal: controller.signal });
    await until(() => daemon!.waitingOn('web') === 1);
    expect(await codeOf(recvTls({ socketPath, listener: 'web' }))).toBe('BUSY');
    controller.abort();
    await expect(first).rejects.toThrow();
    await until(() => daemon!.waitingOn('web') === 0);
  });

  it('tells an application waiting in recv-tls that the daemon is stopping', async () => {
    const socketPath = await start();
    const waiting = recvTls({ socketPath, listener: 'web' });
    await until(() => daemon!.waitingOn('web') === 1);
    const told = expect(waiting).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/stopping/) });
    await daemon!.stop();
    await told;
  });

  it('accept relays plaintext, recv-tls @TOKEN upgrades it in place', async () => {
    const socketPath = await start();
    const accepting = acceptPlain({ socketPath, listener: 'web' });
    await until(() => daemon!.waitingOn('web') === 1);
    const peerSocket = connect(daemon!.listenerPort('web')!, '127.0.0.1');
    const plain = await accepting;
    expect(plain.address).toBe('127.0.0.1');
    peerSocket.write('STARTTLS\n');
    expect(await readOnce(plain.stream)).toBe('STARTTLS\n');
    plain.stream.write('220 go\n');
    expect(await readOnce(peerSocket)).toBe('220 go\n');
    const upgraded = recvTlsOn(plain.token, { socketPath });
    const { connect: tlsConnect } = await import('node:tls');
    const tls = tlsConnect({ socket: peerSocket, rejectUnauthorized: false });
    expect((await upgraded).identity).toBe('anonymous');
    tls.write('secret');
    expect(await readOnce(plain.stream)).toBe('secret');
    expect(engine.upgrades).toContain('server require-cert=false');
    tls.destroy();
    plain.stream.destroy();
  });
});

describe('connect and start-tls @TOKEN (STARTTLS)', () => {
  it('relays the plaintext dialogue, then upgrades the same stream', async () => {
    const socketPath = await start();
    const plain = await connectPlain({ socketPath, name: 'mail.example.test', port: portOf(starttls) });
    expect(plain.address).toBe('127.0.0.1');
    expect(plain.token).toMatch(/^[0-9a-f]{32}$/);
    expect(await readOnce(plain.stream)).toBe('220 ready\n');
    plain.stream.write('STARTTLS\n');
    expect(await readOnce(plain.stream)).toBe('220 go\n');
    const result = await startTlsOn(plain.token, { socketPath });
    expect(result.identity).toBe('mail.example.test.');
    plain.stream.write('over tls');
    expect(await readOnce(plain.stream)).toBe('OVER TLS');
    // Single use: the token is spent.
    expect(await codeOf(startTlsOn(plain.token, { socketPath }))).toBe('BAD_REQUEST');
    plain.stream.destroy();
  });

  it('refuses unknown tokens, and tokens of the other side', async () => {
    const socketPath = await start();
    expect(await codeOf(startTlsOn('0'.repeat(32), { socketPath }))).toBe('BAD_REQUEST');
    const plain = await connectPlain({ socketPath, name: 'mail.example.test', port: portOf(starttls) });
    expect(await codeOf(recvTlsOn(plain.token, { socketPath }))).toBe('BAD_REQUEST');
    plain.stream.destroy();
  });

  it('refuses insecure addresses without no-dnssec, and names that do not exist', async () => {
    const socketPath = await start();
    expect(await codeOf(connectPlain({ socketPath, name: 'insecure.test', port: portOf(starttls) }))).toBe('DNSSEC_INSECURE');
    expect(await codeOf(connectPlain({ socketPath, name: 'gone.test', port: portOf(starttls) }))).toBe('NOT_FOUND');
    const plain = await connectPlain({ socketPath, name: 'insecure.test', port: portOf(starttls), flags: ['no-dnssec'] });
    plain.stream.destroy();
  });
});

describe('the socket file', () => {
  it('is 0660 from the start, replaced when stale, refused when live, and removed on stop', async () => {
    const socketPath = await start();
    expect((await stat(socketPath)).mode & 0o777).toBe(0o660);
    await expect(TlsDaemon.start({ socketPath, engine, lookup: fakeLookup, log: pino({ level: 'silent' }) })).rejects.toThrow(/another oedns tls-daemon is running: its TLS daemon socket .* answers/);
    await daemon!.stop();
    daemon = undefined;
    await expect(stat(socketPath)).rejects.toThrow(/ENOENT/);
  });
});
