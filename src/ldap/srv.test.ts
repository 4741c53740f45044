import { describe, expect, it } from 'vitest';
import { expectAppError, nameWire } from '../../test/support/unit.js';
import { WireFormatError } from '../core/errors.js';
import type { NameAnswer, NameLookup, NameStatus } from '../tls/index.js';
import { NO_FLAGS } from '../tls/index.js';
import { RRType } from '../wire/constants.js';
import { decodeSrv, findKeyServers, orderSrv, type SrvRdata } from './srv.js';

function srvWire(priority: number, weight: number, port: number, target: string): Uint8Array {
  return Uint8Array.from([priority >> 8, priority & 0xff, weight >> 8, weight & 0xff, port >> 8, port & 0xff, ...nameWire(target)]);
}

const srv = (priority: number, weight: number, port: number, target: string): SrvRdata => ({ priority, weight, port, target });

function answer(status: NameStatus, outcome: NameAnswer['outcome'], rdata: readonly Uint8Array[] = [], reason?: string): NameAnswer {
  return { name: '_pgpkey-ldap._tcp.ldap.test.', type: RRType.SRV, status, outcome, owner: '_pgpkey-ldap._tcp.ldap.test.', rdata, expiresAtMs: 1_000_000, reason };
}

/** A lookup that answers `validated` normally and `unchecked` when asked with { unchecked: true }. */
function fakeLookup(validated: NameAnswer, unchecked?: NameAnswer): NameLookup & { calls: string[] } {
  const calls: string[] = [];
  const lookup = async (name: string, type: number, _signal: AbortSignal, options?: { unchecked?: boolean }): Promise<NameAnswer> => {
    calls.push(`${name}/${type}${options?.unchecked ? '/unchecked' : ''}`);
    return options?.unchecked ? (unchecked ?? validated) : validated;
  };
  return Object.assign(lookup, { calls });
}

const signal = new AbortController().signal;

describe('SRV RDATA (RFC 2782)', () => {
  it('reads priority, weight, port and target', () => {
    expect(decodeSrv(srvWire(10, 60, 636, 'keys.ldap.test.'))).toEqual(srv(10, 60, 636, 'keys.ldap.test.'));
    expect(decodeSrv(srvWire(0, 0, 0, '.'))).toEqual(srv(0, 0, 0, '.'));
  });

  it('refuses truncated RDATA and trailing bytes', () => {
    expectAppError(() => decodeSrv(Uint8Array.from([0, 1, 0, 2, 0])), WireFormatError, /SRV RDATA: truncated: port/);
    expectAppError(() => decodeSrv(srvWire(0, 0, 636, 'keys.test.').subarray(0, 10)), WireFormatError, /truncated/);
    expectAppError(() => decodeSrv(Uint8Array.from([...srvWire(0, 0, 636, 'keys.test.'), 7])), WireFormatError, /trailing/);
  });
});

describe('RFC 2782 target order', () => {
  it('orders by ascending priority first', () => {
    const ordered = orderSrv([srv(20, 0, 1, 'c.'), srv(10, 0, 2, 'a.'), srv(15, 0, 3, 'b.')], () => 0);
    expect(ordered.map((r) => r.target)).toEqual(['a.', 'b.', 'c.']);
  });

  it('draws by weight within a priority: the running sum reaching the draw wins', () => {
    const records = [srv(1, 10, 1, 'ten.'), srv(1, 30, 1, 'thirty.'), srv(1, 0, 1, 'zero.')];
    // sum 40; draw floor(r*41). Weight 0 goes first, so draw 0 picks it.
    expect(orderSrv(records, () => 0).map((r) => r.target)).toEqual(['zero.', 'ten.', 'thirty.']);
    // draw 40 passes zero (0) and ten (10) and lands on thirty (40); then sum 10, draw 10 → ten.
    expect(orderSrv(records, () => 0.999).map((r) => r.target)).toEqual(['thirty.', 'ten.', 'zero.']);
    // draw floor(0.25*41)=10 → ten; then thirty+zero sum 30, draw 7 → thirty.
    expect(orderSrv(records, () => 0.25).map((r) => r.target)).toEqual(['ten.', 'thirty.', 'zero.']);
  });
});

describe('finding key servers', () => {
  const records = [srvWire(20, 0, 6360, 'backup.ldap.test.'), srvWire(10, 0, 636, 'Keys.LDAP.test.')];

  it('asks _pgpkey-ldap._tcp.<domain> for SRV and returns the targets in order, lowercased', async () => {
    const lookup = fakeLookup(answer('secure', 'records', records));
    const found = await findKeyServers(lookup, 'ldap.test', NO_FLAGS, signal);
    expect(lookup.calls).toEqual(['_pgpkey-ldap._tcp.ldap.test./33']);
    expect(found).toEqual({ ok: true, value: { targets: [{ name: 'keys.ldap.test', port: 636 }, { name: 'backup.ldap.test', port: 6360 }], dnssec: 'secure', expiresAtMs: 1_000_000 } });
  });

  it('refuses bogus SRV (DNSSEC_BOGUS), and without no-dnssec ignore-bogus alone does not help', async () => {
    const lookup = fakeLookup(answer('bogus', 'records', records, 'RRSIG expired'));
    expect(await findKeyServers(lookup, 'ldap.test', NO_FLAGS, signal)).toMatchObject({ ok: false, reply: 'DNSSEC_BOGUS', reason: expect.stringContaining('RRSIG expired') });
    expect(await findKeyServers(lookup, 'ldap.test', { ...NO_FLAGS, ignoreBogus: true }, signal)).toMatchObject({ ok: false, reply: 'DNSSEC_INSECURE' });
  });

  it('uses the unchecked data with ignore-bogus and no-dnssec, reported as bogus-ignored', async () => {
    const lookup = fakeLookup(answer('bogus', 'failed'), answer('insecure', 'records', records));
    const found = await findKeyServers(lookup, 'ldap.test', { ...NO_FLAGS, ignoreBogus: true, noDnssec: true }, signal);
    expect(lookup.calls).toEqual(['_pgpkey-ldap._tcp.ldap.test./33', '_pgpkey-ldap._tcp.ldap.test./33/unchecked']);
    expect(found).toMatchObject({ ok: true, value: { dnssec: 'bogus-ignored' } });
  });

  it('refuses insecure SRV unless no-dnssec', async () => {
    const lookup = fakeLookup(answer('insecure', 'records', records));
    expect(await findKeyServers(lookup, 'ldap.test', NO_FLAGS, signal)).toMatchObject({ ok: false, reply: 'DNSSEC_INSECURE' });
    expect(await findKeyServers(lookup, 'ldap.test', { ...NO_FLAGS, noDnssec: true }, signal)).toMatchObject({ ok: true, value: { dnssec: 'insecure' } });
  });

  it('fails DNS_FAILED on indeterminate and on failed lookups', async () => {
    expect(await findKeyServers(fakeLookup(answer('indeterminate', 'failed')), 'ldap.test', NO_FLAGS, signal)).toMatchObject({ reply: 'DNS_FAILED' });
    expect(await findKeyServers(fakeLookup(answer('secure', 'failed')), 'ldap.test', NO_FLAGS, signal)).toMatchObject({ reply: 'DNS_FAILED' });
  });

  it('answers LDAP_NO_SERVER for a proven absence, the "." target, and only unusable records', async () => {
    for (const outcome of ['nxdomain', 'nodata'] as const) {
      expect(await findKeyServers(fakeLookup(answer('secure', outcome)), 'ldap.test', NO_FLAGS, signal)).toMatchObject({ reply: 'LDAP_NO_SERVER', expiresAtMs: 1_000_000 });
    }
    const dot = await findKeyServers(fakeLookup(answer('secure', 'records', [srvWire(0, 0, 0, '.')])), 'ldap.test', NO_FLAGS, signal);
    expect(dot).toMatchObject({ reply: 'LDAP_NO_SERVER', reason: expect.stringContaining('RFC 2782') });
    const junk = [Uint8Array.from([0, 1]), srvWire(0, 0, 0, 'keys.ldap.test.'), srvWire(0, 0, 636, 'bad\\032name.test.')];
    const unusable = await findKeyServers(fakeLookup(answer('secure', 'records', junk)), 'ldap.test', NO_FLAGS, signal);
    expect(unusable).toMatchObject({ reply: 'LDAP_NO_SERVER', reason: expect.stringMatching(/truncated.*port 0.*port 636/) });
  });
});
