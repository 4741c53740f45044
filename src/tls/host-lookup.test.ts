import { describe, expect, it } from 'vitest';
import { fakeNameLookup, FAR_FUTURE_MS } from '../../test/support/tls-fake-lookup.js';
import { checkedLookup, lookUpAddresses, lookUpTlsa, tlsaName, weakest } from './host-lookup.js';
import { NO_FLAGS } from './session.js';
import { RRType } from '../wire/index.js';

const signal = AbortSignal.timeout(5000);
const TLSA = '3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6';
const WWW = 'www.example.test.';

describe('checkedLookup', () => {
  it('refuses bogus data as DNSSEC_BOGUS, and with ignore-bogus refetches it unchecked (seed 000 §4.1.1)', async () => {
    const fake = fakeNameLookup({ [`${WWW}/A`]: { status: 'bogus', records: ['192.0.2.1'] }, [`${WWW}/A/unchecked`]: { status: 'insecure', records: ['192.0.2.1'] } });
    expect(await checkedLookup(fake.lookup, WWW, RRType.A, NO_FLAGS, signal)).toMatchObject({ ok: false, reply: 'DNSSEC_BOGUS' });
    expect(await checkedLookup(fake.lookup, WWW, RRType.A, { ...NO_FLAGS, ignoreBogus: true }, signal)).toMatchObject({ ok: true, dnssec: 'bogus-ignored' });
    expect(fake.asked).toEqual([`${WWW}/A`, `${WWW}/A`, `${WWW}/A/unchecked`]);
  });

  it('takes indeterminate and failed answers as DNS_FAILED, never as absence (RFC 7672 §2.2)', async () => {
    const fake = fakeNameLookup({ [`${WWW}/A`]: { status: 'indeterminate', outcome: 'failed' }, [`${WWW}/AAAA`]: { status: 'secure', outcome: 'failed' } });
    expect(await checkedLookup(fake.lookup, WWW, RRType.A, NO_FLAGS, signal)).toMatchObject({ reply: 'DNS_FAILED' });
    expect(await checkedLookup(fake.lookup, WWW, RRType.AAAA, NO_FLAGS, signal)).toMatchObject({ reply: 'DNS_FAILED' });
  });
});

describe('lookUpAddresses', () => {
  it('asks A and AAAA and keeps both families, the weakest status and the first expiry', async () => {
    const fake = fakeNameLookup({
      [`${WWW}/A`]: { records: ['192.0.2.1'], expiresAtMs: 2000 },
      [`${WWW}/AAAA`]: { status: 'insecure', records: ['2001:db8::1'], expiresAtMs: 1000 },
    });
    expect(await lookUpAddresses(fake.lookup, WWW, NO_FLAGS, signal)).toEqual({
      ok: true, addresses: [{ address: '192.0.2.1', family: 4 }, { address: '2001:db8::1', family: 6 }],
      owner: WWW, secureCname: false, dnssec: 'insecure', expiresAtMs: 1000,
    });
  });

  it('tolerates one failed family when the other has addresses; both absent is NOT_FOUND, absent and failed DNS_FAILED', async () => {
    const partial = fakeNameLookup({ [`${WWW}/A`]: { records: ['192.0.2.1'] }, [`${WWW}/AAAA`]: { outcome: 'failed' } });
    expect(await lookUpAddresses(partial.lookup, WWW, NO_FLAGS, signal)).toMatchObject({ ok: true, addresses: [{ address: '192.0.2.1' }] });
    expect(await lookUpAddresses(fakeNameLookup().lookup, WWW, NO_FLAGS, signal)).toMatchObject({ ok: false, reply: 'NOT_FOUND' });
    const failed = fakeNameLookup({ [`${WWW}/A`]: { records: [] }, [`${WWW}/AAAA`]: { status: 'indeterminate', outcome: 'failed' } });
    expect(await lookUpAddresses(failed.lookup, WWW, NO_FLAGS, signal)).toMatchObject({ ok: false, reply: 'DNS_FAILED' });
  });

  it('refuses when either family is bogus, even if the other is secure', async () => {
    const fake = fakeNameLookup({ [`${WWW}/A`]: { records: ['192.0.2.1'] }, [`${WWW}/AAAA`]: { status: 'bogus', records: ['2001:db8::1'] } });
    expect(await lookUpAddresses(fake.lookup, WWW, NO_FLAGS, signal)).toMatchObject({ ok: false, reply: 'DNSSEC_BOGUS' });
  });

  it('marks a secure CNAME chain, whose end is a TLSA base domain (RFC 7671 §7)', async () => {
    const fake = fakeNameLookup({ [`${WWW}/A`]: { records: ['192.0.2.1'], owner: 'host.example.test.' } });
    expect(await lookUpAddresses(fake.lookup, WWW, NO_FLAGS, signal)).toMatchObject({ owner: 'host.example.test.', secureCname: true });
    fake.set(`${WWW}/A`, { status: 'insecure', records: ['192.0.2.1'], owner: 'host.example.test.' });
    expect(await lookUpAddresses(fake.lookup, WWW, NO_FLAGS, signal)).toMatchObject({ secureCname: false });
  });

  it('passes an address literal through without DNS', async () => {
    const fake = fakeNameLookup();
    expect(await lookUpAddresses(fake.lookup, '::1', NO_FLAGS, signal)).toMatchObject({ ok: true, addresses: [{ address: '::1', family: 6 }], dnssec: 'insecure' });
    expect(fake.asked).toEqual([]);
  });
});

describe('lookUpTlsa', () => {
  const at = (base: string) => ({ name: tlsaName(443, base), base });

  it('names the RRset _PORT._tcp.NAME (RFC 6698 §3)', () => {
    expect(tlsaName(25, 'mx.example.test')).toBe('_25._tcp.mx.example.test.');
  });

  it('returns the first base domain that has records, and skips undecodable RDATA as unusable', async () => {
    const fake = fakeNameLookup({ [`_443._tcp.${WWW}/TLSA`]: { records: [TLSA, Uint8Array.from([3, 1, 1, 0xab])], expiresAtMs: 5000 } });
    const found = await lookUpTlsa(fake.lookup, [at('host.example.test.'), at(WWW)], NO_FLAGS, signal);
    expect(found).toMatchObject({ kind: 'records', tlsaOwner: `_443._tcp.${WWW}`, baseDomain: WWW, dnssec: 'secure', expiresAtMs: 5000 });
    expect(found).toHaveProperty('records.length', 1);
    expect(found).toHaveProperty('undecodable.length', 1);
    expect(fake.asked).toEqual(['_443._tcp.host.example.test./TLSA', `_443._tcp.${WWW}/TLSA`]);
  });

  it('stops at a failed lookup: a later name must not stand in for a suppressed answer', async () => {
    const fake = fakeNameLookup({ '_443._tcp.host.example.test./TLSA': { status: 'indeterminate', outcome: 'failed' }, [`_443._tcp.${WWW}/TLSA`]: { records: [TLSA] } });
    expect(await lookUpTlsa(fake.lookup, [at('host.example.test.'), at(WWW)], NO_FLAGS, signal)).toMatchObject({ ok: false, reply: 'DNS_FAILED' });
  });

  it('discards insecure TLSA without no-dnssec, and uses it with', async () => {
    const fake = fakeNameLookup({ [`_443._tcp.${WWW}/TLSA`]: { status: 'insecure', records: [TLSA] } });
    expect(await lookUpTlsa(fake.lookup, [at(WWW)], NO_FLAGS, signal)).toMatchObject({ kind: 'none', insecure: true, dnssec: 'insecure' });
    expect(await lookUpTlsa(fake.lookup, [at(WWW)], { ...NO_FLAGS, noDnssec: true }, signal)).toMatchObject({ kind: 'records', dnssec: 'insecure' });
  });

  it('reports a secure denial as no TLSA', async () => {
    expect(await lookUpTlsa(fakeNameLookup().lookup, [at(WWW)], NO_FLAGS, signal)).toMatchObject({ kind: 'none', insecure: false, expiresAtMs: FAR_FUTURE_MS });
  });
});

it('weakest: secure > insecure > bogus-ignored', () => {
  expect(weakest()).toBe('secure');
  expect(weakest('secure', 'insecure')).toBe('insecure');
  expect(weakest('insecure', 'bogus-ignored', 'secure')).toBe('bogus-ignored');
});
