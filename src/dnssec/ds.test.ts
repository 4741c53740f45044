import { describe, expect, it } from 'vitest';
import { RRType, type ResourceRecord } from '../wire/index.js';
import { DigestType } from './algorithms.js';
import { parseDs } from './dnssec-rdata.js';
import { dsDigest, dsMatches } from './ds.js';
import { keyTag } from './key-tag.js';
import { RFC4034_DS_EXAMPLE, recordsOfType, SIGNATURE_VECTORS } from './test-vectors.js';

function pair(text: string): { dnskey: ResourceRecord; ds: ResourceRecord } {
  return { dnskey: recordsOfType(text, RRType.DNSKEY)[0]!, ds: recordsOfType(text, RRType.DS)[0]! };
}

const hex = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? []).toString('hex');

describe('dsDigest (RFC 4034 §5.1.4)', () => {
  it('reproduces the SHA-1 DS of dskey.example.com from RFC 4034 §5.4', () => {
    const { dnskey } = pair(RFC4034_DS_EXAMPLE);
    expect(hex(dsDigest('dskey.example.com.', dnskey.rdata, DigestType.SHA1))).toBe('2bb183af5f22588179a53b0a98631fad1a292118');
  });

  it('hashes the owner name in canonical (lowercase) form', () => {
    const { dnskey } = pair(RFC4034_DS_EXAMPLE);
    expect(hex(dsDigest('DSKEY.Example.COM.', dnskey.rdata, DigestType.SHA1))).toBe('2bb183af5f22588179a53b0a98631fad1a292118');
  });

  it.each(SIGNATURE_VECTORS.filter((v) => v.text.includes(' DS ')).map((v) => [v.name, v] as const))(
    'reproduces the published DS digest of %s (SHA-256, or SHA-384 for RFC 6605 §6.2)',
    (_name, vector) => {
      const { dnskey, ds } = pair(vector.text);
      const parsed = parseDs(ds);
      expect(hex(dsDigest(vector.zone, dnskey.rdata, parsed.digestType))).toBe(hex(parsed.digest));
    },
  );

  it('returns undefined for a digest type it does not implement (3, GOST)', () => {
    const { dnskey } = pair(RFC4034_DS_EXAMPLE);
    expect(dsDigest('dskey.example.com.', dnskey.rdata, 3)).toBeUndefined();
  });
});

describe('dsMatches', () => {
  const { dnskey, ds } = pair(RFC4034_DS_EXAMPLE);
  const parsed = parseDs(ds);

  it('matches the RFC 4034 §5.4 DS to its DNSKEY', () => {
    expect(dsMatches(parsed, 'dskey.example.com.', dnskey)).toBe(true);
  });

  it('does not match under another owner name', () => {
    expect(dsMatches(parsed, 'other.example.com.', { ...dnskey, name: 'other.example.com.' })).toBe(false);
  });

  it('does not match a DS with another key tag, algorithm or digest', () => {
    expect(dsMatches({ ...parsed, keyTag: parsed.keyTag + 1 }, 'dskey.example.com.', dnskey)).toBe(false);
    expect(dsMatches({ ...parsed, algorithm: 8 }, 'dskey.example.com.', dnskey)).toBe(false);
    const digest = parsed.digest.slice();
    digest[0]! ^= 1;
    expect(dsMatches({ ...parsed, digest }, 'dskey.example.com.', dnskey)).toBe(false);
  });

  it('does not match with an unsupported digest type', () => {
    expect(dsMatches({ ...parsed, digestType: 3 }, 'dskey.example.com.', dnskey)).toBe(false);
  });

  it('refuses a DNSKEY without the Zone Key flag (RFC 4034 §5.2)', () => {
    const rdata = dnskey.rdata.slice();
    rdata[0] = 0; // flags 256 → 0; the key tag changes too, so give the DS the new tag.
    const notZoneKey = { ...dnskey, rdata };
    const digest = dsDigest('dskey.example.com.', rdata, DigestType.SHA1)!;
    const sameButZoneKey = { ...parsed, keyTag: keyTag(rdata), digest };
    expect(dsMatches(sameButZoneKey, 'dskey.example.com.', notZoneKey)).toBe(false);
    rdata[0] = 1; // the Zone Key flag back: everything else equal, now it matches
    expect(dsMatches({ ...sameButZoneKey, keyTag: keyTag(rdata), digest: dsDigest('dskey.example.com.', rdata, DigestType.SHA1)! }, 'dskey.example.com.', { ...dnskey, rdata })).toBe(true);
  });
});
