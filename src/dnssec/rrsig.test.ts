import { describe, expect, it } from 'vitest';
import { nameWire, rr } from '../../test/support/unit.js';
import { RRClass, RRType, type ResourceRecord } from '../wire/index.js';
import { keyTag } from './key-tag.js';
import { createVerifyBudget, verifyRrset, type RrsetSignature } from './rrsig.js';
import { parseRecords, SIGNATURE_VECTORS, testKey, testRrsig, type TestKey } from './test-vectors.js';
import { Ede, type Verdict } from './verdict.js';

const NOW = 2000;
const ZONE = 'example.';
const A_SET = [rr('www.example.', RRType.A, 300, [192, 0, 2, 1]), rr('www.example.', RRType.A, 300, [192, 0, 2, 2])];

function verify(rrset: readonly ResourceRecord[], rrsigs: readonly ResourceRecord[], keys: readonly ResourceRecord[], now = NOW, zone = ZONE): Promise<Verdict<RrsetSignature>> {
  return verifyRrset(rrset, rrsigs, keys, zone, now, createVerifyBudget());
}

function expectBogus(verdict: Verdict<RrsetSignature>, ede: Ede, reason: RegExp): void {
  expect(verdict).toMatchObject({ status: 'bogus', ede });
  if (verdict.status === 'bogus') expect(verdict.reason).toMatch(reason);
}

function withFlags(key: TestKey, flags: number, protocol = 3): TestKey {
  const rdata = key.dnskey.rdata.slice();
  rdata.set([flags >> 8, flags & 0xff, protocol]);
  return { ...key, dnskey: { ...key.dnskey, rdata } };
}

describe('verifyRrset on the published examples (RFC 5702 §6, RFC 6605 §6, RFC 8080 §6 + erratum 4935)', () => {
  const cases = SIGNATURE_VECTORS.map((v) => {
    const records = parseRecords(v.text);
    const rrsigs = records.filter((r) => r.type === RRType.RRSIG);
    const dnskeys = records.filter((r) => r.type === RRType.DNSKEY);
    const rrset = records.filter((r) => r.type === RRType.A || r.type === RRType.MX);
    return [v.name, { ...v, rrsigs, dnskeys, rrset }] as const;
  });

  it.each(cases)('%s verifies as secure at a time inside its window', async (_name, v) => {
    const verdict = await verify(v.rrset, v.rrsigs, v.dnskeys, v.now, v.zone);
    expect(verdict).toMatchObject({ status: 'secure', value: { keyTag: v.keyTag } });
  });

  it.each(cases)('%s is bogus once one byte of the RRset changes', async (_name, v) => {
    const rdata = v.rrset[0]!.rdata.slice();
    rdata[1]! ^= 1; // the A record's second octet, the low byte of the MX preference
    expectBogus(await verify([{ ...v.rrset[0]!, rdata }], v.rrsigs, v.dnskeys, v.now, v.zone), Ede.DnssecBogus, /did not verify/);
  });

  it('accepts the owner in any case: the signature is over the lowercased name (RFC 4034 §6.2)', async () => {
    const [, v] = cases[0]!;
    const shouting = v.rrset.map((r) => ({ ...r, name: 'WWW.Example.NET.' }));
    const rrsigs = v.rrsigs.map((r) => ({ ...r, name: 'WWW.Example.NET.' }));
    expect(await verify(shouting, rrsigs, v.dnskeys, v.now, 'EXAMPLE.net.')).toMatchObject({ status: 'secure' });
  });
});

describe('verifyRrset checks of RFC 4035 §5.3.1', () => {
  const key = testKey(ZONE);

  it('is secure with a valid RRSIG and reports its key tag, algorithm and expiration', async () => {
    const verdict = await verify(A_SET, [testRrsig(key, A_SET)], [key.dnskey]);
    expect(verdict).toEqual({ status: 'secure', value: { keyTag: key.keyTag, algorithm: 15, expiration: 3000 } });
  });

  it('is secure for a wildcard expansion: Labels smaller than the owner\'s count (RFC 4035 §5.3.2)', async () => {
    const wildcard = A_SET.map((r) => ({ ...r, name: '*.example.' }));
    const sig = testRrsig(key, wildcard, { labels: 1 });
    const expanded = A_SET.map((r) => ({ ...r, name: 'a.b.example.' }));
    expect(await verify(expanded, [{ ...sig, name: 'a.b.example.' }], [key.dnskey])).toMatchObject({ status: 'secure' });
  });

  it('rejects an RRSIG whose Labels exceed the owner\'s label count', async () => {
    expectBogus(await verify(A_SET, [testRrsig(key, A_SET, { labels: 3 })], [key.dnskey]), Ede.DnssecBogus, /claims 3 labels/);
  });

  it('rejects an RRSIG whose signer is not the zone that holds the RRset', async () => {
    const other = testKey('other.');
    const verdict = await verify(A_SET, [testRrsig(other, A_SET)], [key.dnskey, other.dnskey]);
    expectBogus(verdict, Ede.DnssecBogus, /signed by other\., not by the zone example\./);
  });

  it('rejects an RRSIG whose signer is not an ancestor of the owner', async () => {
    const outside = A_SET.map((r) => ({ ...r, name: 'www.elsewhere.' }));
    expectBogus(await verify(outside, [testRrsig(key, outside)], [key.dnskey]), Ede.DnssecBogus, /signed by example\./);
  });

  it('rejects an RRSIG of another class than the RRset', async () => {
    const sig = { ...testRrsig(key, A_SET), class: RRClass.CH };
    expectBogus(await verify(A_SET, [sig], [key.dnskey]), Ede.DnssecBogus, /class 3/);
  });

  it('reports RRSIGs missing when none covers the type or the owner', async () => {
    expectBogus(await verify(A_SET, [], [key.dnskey]), Ede.RrsigsMissing, /no RRSIG covers www\.example\.\/A/);
    const aaaaSig = testRrsig(key, A_SET, { typeCovered: RRType.AAAA });
    expectBogus(await verify(A_SET, [aaaaSig], [key.dnskey]), Ede.RrsigsMissing, /no RRSIG/);
    const otherOwner = { ...testRrsig(key, A_SET), name: 'mail.example.' };
    expectBogus(await verify(A_SET, [otherOwner], [key.dnskey]), Ede.RrsigsMissing, /no RRSIG/);
  });

  it('rejects an RRSIG whose expiration is in the past (RFC 4035 §5.3.1)', async () => {
    expectBogus(await verify(A_SET, [testRrsig(key, A_SET)], [key.dnskey], 3001), Ede.SignatureExpired, /RRSIG expired for www\.example\.\/A/);
  });

  it('rejects an RRSIG whose inception is in the future (RFC 4035 §5.3.1)', async () => {
    expectBogus(await verify(A_SET, [testRrsig(key, A_SET)], [key.dnskey], 999), Ede.SignatureNotYetValid, /not yet valid/);
  });

  it('accepts both window edges and a window across the 2^32 wrap (RFC 1982 via RFC 4034 §3.1.5)', async () => {
    const sig = testRrsig(key, A_SET);
    expect(await verify(A_SET, [sig], [key.dnskey], 1000)).toMatchObject({ status: 'secure' });
    expect(await verify(A_SET, [sig], [key.dnskey], 3000)).toMatchObject({ status: 'secure' });
    const wrapping = testRrsig(key, A_SET, { inception: 0xffff_ff00, expiration: 0x100 });
    expect(await verify(A_SET, [wrapping], [key.dnskey], 0x1_0000_0010)).toMatchObject({ status: 'secure', value: { expiration: 0x1_0000_0100 } });
  });

  it('reports the DNSKEY missing when no key has the RRSIG\'s tag, algorithm and owner', async () => {
    const stranger = testKey(ZONE);
    expectBogus(await verify(A_SET, [testRrsig(stranger, A_SET)], [key.dnskey]), Ede.DnskeyMissing, /no DNSKEY of example\./);
    const elsewhere = { ...key.dnskey, name: 'other.' };
    expectBogus(await verify(A_SET, [testRrsig(key, A_SET)], [elsewhere]), Ede.DnskeyMissing, /no DNSKEY/);
  });

  it('refuses a key without the Zone Key flag (RFC 4035 §5.3.1)', async () => {
    const notZone = withFlags(testKey(ZONE), 0x0001);
    const signer = { ...notZone, keyTag: keyTag(notZone.dnskey.rdata) };
    expectBogus(await verify(A_SET, [testRrsig(signer, A_SET)], [signer.dnskey]), Ede.NoZoneKeyBitSet, /Zone Key flag/);
  });

  it('refuses a revoked key (RFC 5011 §2.1) and a protocol other than 3 (RFC 4034 §2.1.2)', async () => {
    for (const changed of [withFlags(testKey(ZONE), 0x0181), withFlags(testKey(ZONE), 0x0101, 2)]) {
      const signer = { ...changed, keyTag: keyTag(changed.dnskey.rdata) };
      expectBogus(await verify(A_SET, [testRrsig(signer, A_SET)], [signer.dnskey]), Ede.DnskeyMissing, /revoked or has a protocol/);
    }
  });

  it('gives a distinct EDE when no RRSIG uses a supported algorithm (caller decides per RFC 4035 §5.2)', async () => {
    const sig = testRrsig(key, A_SET, { algorithm: 253 });
    expectBogus(await verify(A_SET, [sig], [key.dnskey]), Ede.UnsupportedDnskeyAlgorithm, /unsupported algorithm/);
  });

  it('uses a supported RRSIG next to an unsupported one', async () => {
    const verdict = await verify(A_SET, [testRrsig(key, A_SET, { algorithm: 253 }), testRrsig(key, A_SET)], [key.dnskey]);
    expect(verdict).toMatchObject({ status: 'secure' });
  });

  it('is secure on the first valid RRSIG after an expired and a forged one', async () => {
    const sigs = [testRrsig(key, A_SET, { expiration: 1500 }), testRrsig(key, A_SET, { signature: new Uint8Array(64) }), testRrsig(key, A_SET)];
    expect(await verify(A_SET, sigs, [key.dnskey])).toMatchObject({ status: 'secure' });
  });

  it('prefers the expiry over a bad signature as the reason when all fail', async () => {
    const sigs = [testRrsig(key, A_SET, { signature: new Uint8Array(64) }), testRrsig(key, A_SET, { expiration: 1500 })];
    expectBogus(await verify(A_SET, sigs, [key.dnskey]), Ede.SignatureExpired, /expired/);
  });

  it('is bogus for a malformed RRSIG, a malformed DNSKEY or RRset RDATA that does not fit its type', async () => {
    const truncated = { ...testRrsig(key, A_SET), rdata: Uint8Array.from([0, 1, 15, 2, 0, 0]) };
    expectBogus(await verify(A_SET, [truncated], [key.dnskey]), Ede.DnssecBogus, /malformed RRSIG/);
    const shortKey = { ...key.dnskey, rdata: key.dnskey.rdata.subarray(0, 20) };
    const signer = { ...key, dnskey: shortKey, keyTag: keyTag(shortKey.rdata) };
    expectBogus(await verify(A_SET, [testRrsig(signer, A_SET)], [shortKey]), Ede.DnssecBogus, /DNSKEY for .* is malformed/);
    const mx = [rr('www.example.', RRType.MX, 300, [0, 10, 4, 0x6d])];
    const mxSig = testRrsig(key, [rr('www.example.', RRType.MX, 300, [0, 10, ...nameWire('mx.example.')])]);
    expectBogus(await verify(mx, [mxSig], [key.dnskey]), Ede.DnssecBogus, /cannot build the signed data/);
  });

  it('is bogus for an empty RRset or one that mixes owners', async () => {
    expectBogus(await verify([], [], [key.dnskey]), Ede.DnssecBogus, /empty RRset/);
    const mixed = [A_SET[0]!, { ...A_SET[1]!, name: 'other.example.' }];
    expectBogus(await verify(mixed, [testRrsig(key, A_SET)], [key.dnskey]), Ede.DnssecBogus, /mixes owner names/);
  });
});
