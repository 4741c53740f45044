/**
 * The user key check against a real slapd (test/support/slapd.ts), with the DNS answers faked and
 * the TLS connection made by the test (Node's own check of slapd's certificate against its one CA
 * file stands in for the engine's DANE check, which test/scenarios/tls-ldap.test.ts uses).
 */
import { connect as tlsConnect } from 'node:tls';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nameWire } from '../../test/support/unit.js';
import { issue, type Issued } from '../../test/support/pki.js';
import { startSlapd, type Slapd } from '../../test/support/slapd.js';
import { NO_FLAGS, TlsError, type ConnectTarget, type NameAnswer, type NameLookup, type TlsSession } from '../tls/index.js';
import { RRType } from '../wire/constants.js';
import { createUserKeyCheck, type UserKeyChecker } from './user-keys.js';

const log = pino({ level: 'silent' });
const server = issue({ subject: 'keys.ldap.test', dns: ['keys.ldap.test'] });
const alice = issue({ subject: 'alice', emails: ['alice@ldap.test'] });
const aliceTwin = issue({ subject: 'alice (other key)', emails: ['alice@ldap.test'] });
const bob = issue({ subject: 'bob', emails: ['bob@ldap.test'] });
const erin = issue({ subject: 'erin', emails: ['erin@corp.test'] });
const star = issue({ subject: 'al*', emails: ['al*@ldap.test'] });
const NOW = 1_000_000;

let slapd: Slapd;

function srvWire(priority: number, port: number, target: string): Uint8Array {
  return Uint8Array.from([0, priority, 0, 0, port >> 8, port & 0xff, ...nameWire(target)]);
}

interface LookupShape {
  readonly status?: NameAnswer['status'];
  readonly ttlMs?: number;
}

/** SRV answers per domain; anything else is NXDOMAIN. */
function lookupOf(srv: Record<string, readonly Uint8Array[]>, shape: LookupShape = {}): NameLookup {
  return async (name, type): Promise<NameAnswer> => {
    const domain = name.replace(/^_pgpkey-ldap\._tcp\./, '').replace(/\.$/, '');
    const rdata = type === RRType.SRV ? (srv[domain] ?? []) : [];
    return {
      name, type, status: shape.status ?? 'secure', outcome: rdata.length > 0 ? 'records' : 'nxdomain', owner: name, rdata,
      expiresAtMs: NOW + (shape.ttlMs ?? 3_600_000),
    };
  };
}

/** keys.<domain> is slapd, checked against its own certificate; other names are refused. */
function connectToSlapd(connected: string[]) {
  return async (target: ConnectTarget, _flags: unknown, signal: AbortSignal): Promise<TlsSession> => {
    connected.push(`${target.name}:${target.port}`);
    if (!target.name.startsWith('keys.')) throw new TlsError('CONNECT_FAILED', `${target.name}: connection refused`);
    if (signal.aborted) throw new TlsError('TIMEOUT', `${target.name}: aborted`);
    const socket = tlsConnect({ host: '127.0.0.1', port: target.port, servername: 'keys.ldap.test', ca: server.certPem });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    return {
      socket, identity: target.name, method: 'dane', dnssec: 'secure', protocol: socket.getProtocol() ?? '', cipher: socket.getCipher().name,
      peerAddress: '127.0.0.1', peerPort: target.port,
    };
  };
}

function checker(srv: Record<string, readonly Uint8Array[]>, connected: string[] = [], shape: LookupShape = {}, clock = { now: NOW }): UserKeyChecker {
  return createUserKeyCheck({ lookup: lookupOf(srv, shape), connect: connectToSlapd(connected), log, nowMs: () => clock.now });
}

const signal = (): AbortSignal => AbortSignal.timeout(20_000);
const user = (uid: string, mail: string, ...certs: Issued[]) => ({ uid, mail: [mail], certificates: certs.map((c) => c.der) });

beforeAll(async () => {
  slapd = await startSlapd({
    tls: server,
    users: [user('alice', 'alice@ldap.test', aliceTwin, alice), user('erin', 'erin@corp.test', erin), user('carol', 'carol@ldap.test')],
  });
});

afterAll(async () => {
  await slapd?.stop();
});

describe('user key check against slapd', () => {
  it('accepts the key stored for the address, and answers a repeat from the cache without a second search', async () => {
    const check = checker({ 'ldap.test': [srvWire(0, slapd.port, 'keys.ldap.test.')] });
    const before = await slapd.searchCount('(mail=alice@ldap.test)');
    for (let i = 0; i < 2; i++) {
      expect(await check('alice@ldap.test', alice.x509, NO_FLAGS, signal())).toEqual({
        ok: true, identity: 'alice@ldap.test', keyServer: `keys.ldap.test:${slapd.port}`, dnssec: 'secure',
      });
    }
    expect(check.stats()).toEqual({ cacheHits: 1, keyServersAsked: 1 });
    expect(await slapd.searchCount('(mail=alice@ldap.test)')).toBe(before + 1);
  });

  it('keeps a result no longer than the SRV answer holds', async () => {
    const clock = { now: NOW };
    const check = checker({ 'ldap.test': [srvWire(0, slapd.port, 'keys.ldap.test.')] }, [], { ttlMs: 60_000 }, clock);
    await check('alice@ldap.test', alice.x509, NO_FLAGS, signal());
    clock.now += 59_999;
    await check('alice@ldap.test', alice.x509, NO_FLAGS, signal());
    expect(check.stats()).toEqual({ cacheHits: 1, keyServersAsked: 1 });
    clock.now += 1;
    expect(await check('alice@ldap.test', alice.x509, NO_FLAGS, signal())).toMatchObject({ ok: true });
    expect(check.stats()).toEqual({ cacheHits: 1, keyServersAsked: 2 });
  });

  it('uses an unsigned SRV record only with no-dnssec, and reports the session as insecure', async () => {
    const check = checker({ 'ldap.test': [srvWire(0, slapd.port, 'keys.ldap.test.')] }, [], { status: 'insecure' });
    expect(await check('alice@ldap.test', alice.x509, NO_FLAGS, signal())).toMatchObject({ ok: false, reply: 'DNSSEC_INSECURE' });
    expect(await check('alice@ldap.test', alice.x509, { ...NO_FLAGS, noDnssec: true }, signal())).toMatchObject({ ok: true, dnssec: 'insecure' });
  });

  it('answers LDAP_KEY_MISMATCH for a certificate naming the user with another key, LDAP_NO_USER without an entry', async () => {
    const check = checker({ 'ldap.test': [srvWire(0, slapd.port, 'keys.ldap.test.')] });
    expect(await check('alice@ldap.test', bob.x509, NO_FLAGS, signal())).toMatchObject({ ok: false, reply: 'NAME_MISMATCH' });
    const other = issue({ subject: 'not alice', emails: ['alice@ldap.test'] });
    expect(await check('alice@ldap.test', other.x509, NO_FLAGS, signal())).toMatchObject({ ok: false, reply: 'LDAP_KEY_MISMATCH', reason: expect.stringContaining('2 certificate(s)') });
    expect(await check('bob@ldap.test', bob.x509, NO_FLAGS, signal())).toMatchObject({ ok: false, reply: 'LDAP_NO_USER' });
    const carol = issue({ subject: 'carol', emails: ['carol@ldap.test'] });
    expect(await check('carol@ldap.test', carol.x509, NO_FLAGS, signal())).toMatchObject({ ok: false, reply: 'LDAP_KEY_MISMATCH', reason: expect.stringContaining('0 certificate(s)') });
  });

  it('sends the address as an equality value: "al*" is not a wildcard (RFC 4515)', async () => {
    const check = checker({ 'ldap.test': [srvWire(0, slapd.port, 'keys.ldap.test.')] });
    expect(await check('al*@ldap.test', star.x509, NO_FLAGS, signal())).toMatchObject({ ok: false, reply: 'LDAP_NO_USER' });
    expect(await slapd.searchCount('(mail=al\\2A@ldap.test)')).toBe(1);
  });

  it('searches the naming contexts of the root DSE when the domain has no dc= base of its own', async () => {
    const check = checker({ 'corp.test': [srvWire(0, slapd.port, 'keys.ldap.test.')] });
    expect(await check('erin@corp.test', erin.x509, NO_FLAGS, signal())).toMatchObject({ ok: true, identity: 'erin@corp.test' });
  });

  it('tries the next target when one cannot be reached, in priority order', async () => {
    const connected: string[] = [];
    const check = checker({ 'ldap.test': [srvWire(5, slapd.port, 'keys.ldap.test.'), srvWire(1, 636, 'down.ldap.test.')] }, connected);
    expect(await check('alice@ldap.test', alice.x509, NO_FLAGS, signal())).toMatchObject({ ok: true });
    expect(connected).toEqual(['down.ldap.test:636', `keys.ldap.test:${slapd.port}`]);
  });

  it('fails LDAP_FAILED with each server\'s reason when none answers, trying at most three', async () => {
    const connected: string[] = [];
    const check = checker({ 'ldap.test': [1, 2, 3, 4].map((p) => srvWire(p, 636, `down${p}.ldap.test.`)) }, connected);
    const result = await check('alice@ldap.test', alice.x509, NO_FLAGS, signal());
    expect(result).toMatchObject({ ok: false, reply: 'LDAP_FAILED', reason: expect.stringContaining('down1.ldap.test:636: CONNECT_FAILED') });
    expect(connected).toHaveLength(3);
  });

  it('answers LDAP_NO_SERVER for a domain without the SRV record and for an address that is not one', async () => {
    const check = checker({});
    expect(await check('alice@ldap.test', alice.x509, NO_FLAGS, signal())).toMatchObject({ ok: false, reply: 'LDAP_NO_SERVER' });
    expect(await check('alice(x)@ldap.test', alice.x509, NO_FLAGS, signal())).toMatchObject({ ok: false, reply: 'LDAP_NO_SERVER', reason: expect.stringContaining('dot-atom') });
  });

  it('gives up with TIMEOUT, uncached, when the caller aborts', async () => {
    const check = checker({ 'ldap.test': [srvWire(0, slapd.port, 'keys.ldap.test.')] });
    const aborted = AbortSignal.abort(new Error('handshake deadline'));
    expect(await check('alice@ldap.test', alice.x509, NO_FLAGS, aborted)).toMatchObject({ ok: false, reply: 'TIMEOUT' });
    expect(await check('alice@ldap.test', alice.x509, NO_FLAGS, signal())).toMatchObject({ ok: true });
  });
});
