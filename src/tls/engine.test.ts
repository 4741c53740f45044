/**
 * The engine with its DNS boundary scripted (tls-fake-lookup.ts) and a real TLS server in the
 * process: pinning within the TTLs, a changed key validated in full, the withoutTlsa fallbacks.
 */
import { connect as netConnect, createServer as createNetServer, type Server as NetServer } from 'node:net';
import { connect as tlsConnect, createServer, type Server } from 'node:tls';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeNameLookup, type FakeNameLookup } from '../../test/support/tls-fake-lookup.js';
import { issue, tlsaText, type Issued } from '../../test/support/pki.js';
import { createRootLogger } from '../core/log.js';
import { createTlsEngine } from './engine.js';
import { NO_FLAGS, type TlsEngine, type TlsSession } from './session.js';

const NAME = 'www.example.test.';
const signal = (): AbortSignal => AbortSignal.timeout(5000);

let root: Issued;
let first: Issued;
let second: Issued;
let server: Server;
let port: number;
let fake: FakeNameLookup;
let engine: TlsEngine;
let now = Date.UTC(2030, 0, 1);
const logs: string[] = [];

beforeAll(async () => {
  root = issue({ subject: 'unit root', ca: true });
  first = issue({ subject: NAME, dns: ['www.example.test'], issuer: root });
  second = issue({ subject: NAME, dns: ['www.example.test'], issuer: root });
  server = createServer({ cert: first.certPem, key: first.keyPem }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : 0;
  fake = fakeNameLookup({
    [`${NAME}/A`]: { records: ['127.0.0.1'], expiresAtMs: now + 300_000 },
    [`_${port}._tcp.${NAME}/TLSA`]: { records: [tlsaText(first, 3, 1, 1)], expiresAtMs: now + 60_000 },
  });
  const log = createRootLogger('debug', new Writable({ write: (chunk: Buffer, _encoding, done) => { logs.push(String(chunk)); done(); } }));
  engine = createTlsEngine({ lookup: fake.lookup, log, caPem: root.certPem, nowMs: () => now });
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

async function connect(target = { name: NAME, port }): Promise<{ method: string; tlsaAsked: number }> {
  const before = fake.asked.filter((q) => q.endsWith('/TLSA')).length;
  const session = await engine.connect(target, NO_FLAGS, signal());
  session.socket.destroy();
  return { method: session.method, tlsaAsked: fake.asked.filter((q) => q.endsWith('/TLSA')).length - before };
}

describe('pins (seed 000 §6.1)', () => {
  it('validates by DANE first, then accepts the same key as pinned without asking for TLSA', async () => {
    expect(await connect()).toEqual({ method: 'dane', tlsaAsked: 1 });
    expect(await connect()).toEqual({ method: 'pinned', tlsaAsked: 0 });
  });

  it('lets a pin lapse with the shortest TTL it stood on', async () => {
    now += 60_000;
    fake.set(`_${port}._tcp.${NAME}/TLSA`, { records: [tlsaText(first, 3, 1, 1)], expiresAtMs: now + 60_000 });
    expect(await connect()).toEqual({ method: 'dane', tlsaAsked: 1 });
    expect(await connect()).toEqual({ method: 'pinned', tlsaAsked: 0 });
  });

  it('validates a changed key in full, logs the change, and refuses it unless a TLSA record matches', async () => {
    server.setSecureContext({ cert: second.certPem, key: second.keyPem });
    await expect(engine.connect({ name: NAME, port }, NO_FLAGS, signal())).rejects.toMatchObject({ reply: 'TLSA_MISMATCH' });
    expect(logs.some((line) => line.includes('key changed'))).toBe(true);
    fake.set(`_${port}._tcp.${NAME}/TLSA`, { records: [tlsaText(first, 3, 1, 1), tlsaText(second, 3, 1, 1)], expiresAtMs: now + 60_000 });
    expect(await connect()).toEqual({ method: 'dane', tlsaAsked: 1 });
    expect(await connect()).toEqual({ method: 'pinned', tlsaAsked: 0 });
  });
});

describe('without TLSA', () => {
  it('fails NO_TLSA, or falls back to PKIX or to unauthenticated TLS as the caller asks', async () => {
    fake.set(`other.example.test./A`, { records: ['127.0.0.1'] });
    const other = { name: 'other.example.test.', port };
    await expect(engine.connect(other, NO_FLAGS, signal())).rejects.toMatchObject({ reply: 'NO_TLSA' });
    // PKIX: the CA store trusts the chain, but the certificate is www's.
    await expect(engine.connect({ ...other, withoutTlsa: 'pkix' }, NO_FLAGS, signal())).rejects.toMatchObject({ reply: 'NAME_MISMATCH' });
    const session = await engine.connect({ ...other, withoutTlsa: 'opportunistic' }, NO_FLAGS, signal());
    session.socket.destroy();
    expect(session).toMatchObject({ method: 'none', identity: 'other.example.test.' });
  });

  it('takes insecure addresses as no DANE: DNSSEC_INSECURE unless the caller falls back', async () => {
    fake.set(`insecure.example.test./A`, { status: 'insecure', records: ['127.0.0.1'] });
    const target = { name: 'insecure.example.test.', port };
    await expect(engine.connect(target, NO_FLAGS, signal())).rejects.toMatchObject({ reply: 'DNSSEC_INSECURE' });
    const session = await engine.connect({ ...target, withoutTlsa: 'opportunistic' }, NO_FLAGS, signal());
    session.socket.destroy();
    expect(session).toMatchObject({ method: 'none', dnssec: 'insecure' });
    expect(fake.asked).not.toContain(`_${port}._tcp.insecure.example.test./TLSA`);
  });
});

describe('upgradeClient', () => {
  it('authenticates over a socket the caller connected (STARTTLS), pinned like connect', async () => {
    const socket = netConnect({ host: '127.0.0.1', port });
    await new Promise((resolve) => socket.once('connect', resolve));
    const session = await engine.upgradeClient(socket, { name: NAME, port }, NO_FLAGS, signal());
    session.socket.destroy();
    expect(session).toMatchObject({ identity: NAME, method: 'pinned', serverName: NAME });
  });

  it('destroys the caller\'s socket when the lookups refuse', async () => {
    const socket = netConnect({ host: '127.0.0.1', port });
    await new Promise((resolve) => socket.once('connect', resolve));
    await expect(engine.upgradeClient(socket, { name: 'nowhere.example.test.', port }, NO_FLAGS, signal())).rejects.toMatchObject({ reply: 'NOT_FOUND' });
    expect(socket.destroyed).toBe(true);
  });
});

describe('upgradeServer: user certificates (seed 000 §4.1, §4.2)', () => {
  let listener: NetServer;
  let listenPort: number;
  let serverEngine: TlsEngine;
  let nextFlags = NO_FLAGS;
  let results: Array<Promise<TlsSession>> = [];
  const alice = (): Issued => issue({ subject: 'Alice', emails: ['alice@example.test'], issuer: root });
  let aliceCert: Issued;

  beforeAll(async () => {
    aliceCert = alice();
    serverEngine = createTlsEngine({
      lookup: fake.lookup, log: createRootLogger('silent'), caPem: root.certPem, nowMs: () => now,
      credentials: { certPem: first.certPem, keyPem: first.keyPem },
      userKeys: async (email, peer) => (peer.fingerprint256 === aliceCert.x509.fingerprint256
        ? { ok: true, identity: email, keyServer: 'ldap.example.test.', dnssec: 'secure' }
        : { ok: false, reply: 'LDAP_KEY_MISMATCH', reason: 'no stored key matches' }),
    });
    listener = createNetServer((socket) => {
      const upgraded = serverEngine.upgradeServer(socket, { requireClientCertificate: false }, nextFlags, signal());
      upgraded.then((session) => session.socket.end(), () => undefined);
      results.push(upgraded);
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const address = listener.address();
    listenPort = typeof address === 'object' && address ? address.port : 0;
  });

  afterAll(async () => {
    await new Promise((resolve) => listener?.close(resolve));
  });

  async function present(cert?: Issued, flags = NO_FLAGS): Promise<TlsSession> {
    nextFlags = flags;
    results = [];
    await new Promise<void>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: listenPort, rejectUnauthorized: false, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) });
      socket.on('error', () => undefined);
      socket.on('close', () => resolve());
      socket.resume();
    });
    return results[0]!;
  }

  it('accepts a user whose key the key server holds, as user@domain by LDAP', async () => {
    await expect(present(aliceCert)).resolves.toMatchObject({ identity: 'alice@example.test', method: 'ldap', dnssec: 'secure' });
  });

  it('passes the key server\'s refusal on', async () => {
    await expect(present(alice())).rejects.toMatchObject({ reply: 'LDAP_KEY_MISMATCH' });
  });

  it('checks the CA store and the address instead under no-ldap', async () => {
    await expect(present(alice(), { ...NO_FLAGS, noLdap: true })).resolves.toMatchObject({ identity: 'alice@example.test', method: 'pkix' });
    const stranger = issue({ subject: 'Mallory', emails: ['alice@example.test'] });
    await expect(present(stranger, { ...NO_FLAGS, noLdap: true })).rejects.toMatchObject({ reply: 'CHAIN_INVALID' });
  });

  it('lets an anonymous client in where certificates are not required', async () => {
    await expect(present()).resolves.toMatchObject({ identity: 'anonymous', method: 'none', dnssec: 'unused' });
  });
});
