/**
 * The TLS engine against real peers: `openssl s_server` with lab certificates whose TLSA records
 * sit in a BIND-signed zone, validated by oedns' own resolver from the lab root (tls-lab.ts).
 * Every usage × selector × matching type is accepted; each way of failing gets its reply code:
 * RFC 6698 and RFC 7671 for the checks, RFC 7672 §2.2 for failed TLSA lookups, seed 000 §4.1.1
 * for the flags.
 */
import { connect as netConnect, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_FLAGS, TlsError, type ConnectTarget, type TlsFlags, type TlsSession } from '../../src/tls/index.js';
import type { TlsRuntime } from '../../src/tls-runtime.js';
import { sClient } from '../support/openssl-peer.js';
import { comboHost, host, MATCHING_TYPES, SELECTORS, startTlsLab, TLS_INSECURE_ZONE, USAGES, type TlsLab } from '../support/tls-lab.js';

let lab: TlsLab;
let runtime: TlsRuntime;

beforeAll(async () => {
  lab = await startTlsLab();
  runtime = await lab.runtime({ handshakeTimeoutMs: 3000 });
}, 120_000);

afterAll(async () => {
  await lab?.stop();
});

const flags = (words: Partial<TlsFlags> = {}): TlsFlags => ({ ...NO_FLAGS, ...words });
const signal = (): AbortSignal => AbortSignal.timeout(20_000);

/** Connects, closes at once (s_server serves one connection at a time) and returns the session. */
async function connect(target: ConnectTarget, with_: Partial<TlsFlags> = {}): Promise<TlsSession> {
  const session = await runtime.engine.connect(target, flags(with_), signal());
  session.socket.destroy();
  return session;
}

/** The reply code a connect fails with. */
async function refusal(target: ConnectTarget, with_: Partial<TlsFlags> = {}): Promise<string> {
  try {
    const session = await runtime.engine.connect(target, flags(with_), signal());
    session.socket.destroy();
    return `OK ${session.identity}`;
  } catch (error) {
    if (error instanceof TlsError) return error.reply;
    throw error;
  }
}

describe('DANE against openssl s_server (RFC 6698 §2.1, RFC 7671 §5)', () => {
  const combos = USAGES.flatMap((u) => SELECTORS.flatMap((s) => MATCHING_TYPES.map((m) => [u, s, m] as const)));
  it.each(combos)('accepts TLSA %i %i %i', async (usage, selector, matching) => {
    const name = comboHost(usage, selector, matching);
    const session = await connect({ name, port: lab.ports.good });
    expect(session).toMatchObject({
      identity: name, method: 'dane', dnssec: 'secure', peerAddress: '127.0.0.1', peerPort: lab.ports.good, serverName: name,
      dane: { usage, selector, matchingType: matching, tlsaOwner: `_${lab.ports.good}._tcp.${name}` },
    });
    expect(session.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(session.cipher).not.toBe('');
    expect(session.peerCertificate?.subject).toContain('good.tls.test');
  });

  it('carries bytes both ways once authenticated (s_server -rev)', async () => {
    const session = await runtime.engine.connect({ name: comboHost(3, 1, 1), port: lab.ports.good }, NO_FLAGS, signal());
    const reply = await new Promise<string>((resolve, reject) => {
      let text = '';
      session.socket.setEncoding('utf8');
      session.socket.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('\n')) resolve(text);
      });
      session.socket.once('error', reject);
      session.socket.write('hello\n');
    });
    session.socket.destroy();
    expect(reply).toContain('olleh');
  });

  it('looks TLSA up at the CNAME-expanded name first (RFC 7671 §7)', async () => {
    const session = await connect({ name: host('alias'), port: lab.ports.good });
    expect(session).toMatchObject({ identity: host('alias'), method: 'dane', dane: { tlsaOwner: `_${lab.ports.good}._tcp.${comboHost(3, 1, 1)}` } });
  });

  it('accepts an expired certificate under DANE-EE (RFC 7671 §5.1)', async () => {
    expect(await connect({ name: host('expired'), port: lab.ports.expired })).toMatchObject({ method: 'dane', dane: { usage: 3 } });
  });

  it('refuses a certificate no TLSA record matches: TLSA_MISMATCH', async () => {
    expect(await refusal({ name: host('mismatch'), port: lab.ports.good })).toBe('TLSA_MISMATCH');
  });

  it('refuses a certificate without the name under PKIX-EE and DANE-TA: NAME_MISMATCH (RFC 7671 §5.2)', async () => {
    expect(await refusal({ name: host('wrong-ee'), port: lab.ports.wrong })).toBe('NAME_MISMATCH');
    expect(await refusal({ name: host('wrong-ta'), port: lab.ports.wrong })).toBe('NAME_MISMATCH');
  });

  it('takes only the usages the caller accepts (RFC 7672 §3.1.3: SMTP drops 0 and 1)', async () => {
    expect(await refusal({ name: comboHost(1, 1, 1), port: lab.ports.good, usages: [2, 3] })).toBe('NO_TLSA');
    expect(await connect({ name: comboHost(2, 1, 1), port: lab.ports.good, usages: [2, 3] })).toMatchObject({ method: 'dane' });
  });
});

describe('DNS rules (seed 000 §4.1.1, RFC 7672 §2.2)', () => {
  it('refuses a bogus TLSA RRset: DNSSEC_BOGUS; with ignore-bogus and no-dnssec it is used', async () => {
    const target = { name: host('bogus'), port: lab.ports.good };
    expect(await refusal(target)).toBe('DNSSEC_BOGUS');
    expect(await refusal(target, { ignoreBogus: true })).toBe('DNSSEC_INSECURE');
    expect(await connect(target, { ignoreBogus: true, noDnssec: true })).toMatchObject({ method: 'dane', dnssec: 'bogus-ignored' });
  });

  it('refuses insecure data without no-dnssec: DNSSEC_INSECURE; with it, DANE over insecure TLSA', async () => {
    const target = { name: `host.${TLS_INSECURE_ZONE}`, port: lab.ports.good };
    expect(await refusal(target)).toBe('DNSSEC_INSECURE');
    expect(await connect(target, { noDnssec: true })).toMatchObject({ method: 'dane', dnssec: 'insecure' });
  });

  it('refuses a host without TLSA: NO_TLSA; PKIX or opportunistic only where the caller allows', async () => {
    expect(await refusal({ name: host('notlsa'), port: lab.ports.good })).toBe('NO_TLSA');
    expect(await connect({ name: host('notlsa'), port: lab.ports.good, withoutTlsa: 'pkix' })).toMatchObject({ method: 'pkix', identity: host('notlsa') });
    expect(await connect({ name: host('notlsa'), port: lab.ports.good, withoutTlsa: 'opportunistic' })).toMatchObject({ method: 'none' });
  });

  it('treats an RRset of unusable records as absent: NO_TLSA (RFC 7671 §4.1)', async () => {
    expect(await refusal({ name: host('unusable'), port: lab.ports.good })).toBe('NO_TLSA');
  });

  it('fails hard when the TLSA lookup fails: DNS_FAILED, never "no TLSA" (RFC 7672 §2.2)', async () => {
    expect(await refusal({ name: host('lame'), port: lab.ports.good, withoutTlsa: 'opportunistic' })).toBe('DNS_FAILED');
  });

  it('refuses a name that does not exist: NOT_FOUND', async () => {
    expect(await refusal({ name: host('nowhere'), port: lab.ports.good })).toBe('NOT_FOUND');
  });

  it('checks PKIX and the name under no-dane, without TLSA', async () => {
    expect(await connect({ name: host('notlsa'), port: lab.ports.good }, { noDane: true })).toMatchObject({ method: 'pkix', dnssec: 'unused' });
    expect(await refusal({ name: host('wrong-ee'), port: lab.ports.wrong }, { noDane: true })).toBe('NAME_MISMATCH');
    expect(await refusal({ name: host('expired'), port: lab.ports.expired }, { noDane: true })).toBe('CHAIN_INVALID');
  });
});

describe('connections', () => {
  it('reports a refused connection: CONNECT_FAILED', async () => {
    expect(await refusal({ name: host('refused'), port: lab.ports.closed })).toBe('CONNECT_FAILED');
  });

  it('times out a peer that never answers the handshake and frees the socket: TIMEOUT', async () => {
    const before = lab.hang.accepted();
    expect(await refusal({ name: host('hang'), port: lab.ports.hang })).toBe('TIMEOUT');
    expect(lab.hang.accepted()).toBe(before + 1);
    await lab.hang.allClosed();
  });

  it('pins the key on a repeat connection within the TTLs, without the TLSA lookup', async () => {
    const name = host('pin');
    const first = await connect({ name, port: lab.ports.good });
    const second = await connect({ name, port: lab.ports.good });
    expect(first.method).toBe('dane');
    expect(second).toMatchObject({ method: 'pinned', identity: name, dane: first.dane, dnssec: 'secure' });
    // Other flags are another pin: validated in full.
    expect((await connect({ name, port: lab.ports.good }, { noDnssec: true })).method).toBe('dane');
  });
});

describe('server side: client certificates (draft-ietf-dance-client-auth)', () => {
  let server: Server;
  let port: number;
  let results: Array<Promise<TlsSession>>;
  let serverRuntime: TlsRuntime;

  beforeAll(async () => {
    serverRuntime = await lab.runtime({ handshakeTimeoutMs: 3000, certFile: lab.files.good.fullchain, keyFile: lab.files.good.key });
    results = [];
    server = createServer((socket) => {
      const upgraded = serverRuntime.engine.upgradeServer(socket, { requireClientCertificate: true }, NO_FLAGS, signal());
      upgraded.then((session) => session.socket.end('welcome\n'), () => undefined);
      results.push(upgraded);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  it('authenticates a client by the TLSA record at its domain name', async () => {
    await sClient({ port, cert: lab.files.client.cert, key: lab.files.client.key, input: '' });
    await expect(results.at(-1)).resolves.toMatchObject({ identity: host('client'), method: 'dane', dnssec: 'secure', dane: { usage: 3, tlsaOwner: host('client') } });
  });

  it('refuses a client without a certificate: NO_PEER_CERT', async () => {
    await sClient({ port, input: '' });
    await expect(results.at(-1)).rejects.toMatchObject({ reply: 'NO_PEER_CERT' });
  });

  it('refuses a domain certificate whose domain has no TLSA: NO_TLSA', async () => {
    await sClient({ port, cert: lab.files.wrong.cert, key: lab.files.wrong.key, input: '' });
    await expect(results.at(-1)).rejects.toMatchObject({ reply: 'NO_TLSA' });
  });

  it('says INTERNAL without a server certificate', async () => {
    const socket = netConnect({ host: '127.0.0.1', port: lab.ports.good });
    socket.on('error', () => undefined);
    await expect(runtime.engine.upgradeServer(socket, { requireClientCertificate: false }, NO_FLAGS, signal())).rejects.toMatchObject({ reply: 'INTERNAL' });
    expect(socket.destroyed).toBe(true);
  });
});
