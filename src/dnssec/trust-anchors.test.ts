/**
 * Trust anchors: the built-in IANA root DS set (recomputed from the root DNSKEYs shipped on this
 * machine, when present), grouping and closest-anchor lookup, key matching against DS and DNSKEY
 * anchors with keys made by dnssec-keygen at test time, and RFC 7646 negative trust anchors.
 */
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAppError } from '../../test/support/unit.js';
import { ConfigError } from '../core/errors.js';
import { RRType } from '../wire/constants.js';
import type { ResourceRecord } from '../wire/message.js';
import { DnskeyFlag, parseDnskey, parseDs } from './dnssec-rdata.js';
import { dsDigest } from './ds.js';
import { parsePresentation } from './presentation.js';
import {
  defaultTrustAnchors, keyMatchesAnchor, negativeTrustAnchors, ROOT_TRUST_ANCHORS, trustAnchorSet, trustAnchorsFromText, type TrustAnchor,
} from './trust-anchors.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex').toUpperCase();
const parse = (text: string): ResourceRecord[] => parsePresentation(text, { fileName: 'test' });

/** IANA root-anchors.xml (KSK-2017, KSK-2024). */
const ROOT_DS = new Map([
  [20326, 'E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D'],
  [38696, '683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16'],
]);
const DEBIAN_ROOT_KEY = '/usr/share/dns/root.key';
const DEBIAN_ROOT_DS = '/usr/share/dns/root.ds';
const BIND_KEYS = '/etc/bind/bind.keys';

/** Digest of `dnskey` as the root DS of its key tag would carry it. */
function rootDigestOf(dnskey: ResourceRecord): { keyTag: number; digest: string } {
  return { keyTag: parseDnskey(dnskey).keyTag, digest: hex(dsDigest('.', dnskey.rdata, 2)!) };
}

describe('ROOT_TRUST_ANCHORS', () => {
  it('holds the IANA root KSK DS records 20326 and 38696 (algorithm 8, SHA-256)', () => {
    expect(ROOT_TRUST_ANCHORS.map((rr) => ({ name: rr.name, type: rr.type, ...parseDs(rr), digest: hex(parseDs(rr).digest) }))).toEqual([
      { name: '.', type: RRType.DS, keyTag: 20326, algorithm: 8, digestType: 2, digest: ROOT_DS.get(20326) },
      { name: '.', type: RRType.DS, keyTag: 38696, algorithm: 8, digestType: 2, digest: ROOT_DS.get(38696) },
    ]);
    const set = defaultTrustAnchors();
    expect(set.all().map((a) => a.zone)).toEqual(['.']);
    expect(set.warnings).toEqual([]);
  });

  it.skipIf(!existsSync(DEBIAN_ROOT_KEY))(`matches the SHA-256 of the root DNSKEYs in ${DEBIAN_ROOT_KEY} (RFC 4034 §5.1.4)`, () => {
    const keys = parse(readFileSync(DEBIAN_ROOT_KEY, 'utf8'));
    expect(keys.map(rootDigestOf).sort((a, b) => a.keyTag - b.keyTag)).toEqual([...ROOT_DS].map(([keyTag, digest]) => ({ keyTag, digest })));
    const root = defaultTrustAnchors().anchorFor('.')!;
    for (const key of keys) expect(keyMatchesAnchor(root, key)).toBe(true);
  });

  it.skipIf(!existsSync(DEBIAN_ROOT_DS))(`equals the DS records in ${DEBIAN_ROOT_DS}`, () => {
    expect(parse(readFileSync(DEBIAN_ROOT_DS, 'utf8')).map((rr) => hex(rr.rdata))).toEqual(ROOT_TRUST_ANCHORS.map((rr) => hex(rr.rdata)));
  });

  it.skipIf(!existsSync(BIND_KEYS))(`agrees with BIND's ${BIND_KEYS} (initial/static keys hashed, DS compared)`, () => {
    // named.conf syntax: `. initial-key 257 3 8 "base64…";` or `. initial-ds 38696 8 2 "hex…";`.
    const text = readFileSync(BIND_KEYS, 'utf8');
    const entries = [...text.matchAll(/^\s*\.\s+(?:initial|static)-(key|ds)\s+(\d+)\s+(\d+)\s+(\d+)\s+"([^"]+)"\s*;/gm)];
    expect(entries.length).toBeGreaterThan(0);
    for (const [, kind, a, b, c, data] of entries) {
      const rr = parse(`. ${kind === 'key' ? 'DNSKEY' : 'DS'} ${a} ${b} ${c} ${data!.replace(/\s+/g, '')}`)[0]!;
      if (rr.type === RRType.DNSKEY) {
        const { keyTag, digest } = rootDigestOf(rr);
        expect(ROOT_DS.get(keyTag), `key ${keyTag}`).toBe(digest);
      } else {
        expect(ROOT_DS.get(parseDs(rr).keyTag)).toBe(hex(parseDs(rr).digest));
      }
    }
  });
});

describe('trustAnchorsFromText', () => {
  const DIGEST = 'AA'.repeat(32);
  const KEY = `257 3 13 ${'A'.repeat(88)}`;

  it('groups DS and DNSKEY lines by zone, case-insensitively, dropping duplicates', () => {
    const set = trustAnchorsFromText(
      `Example.Test. DS 1 13 2 ${DIGEST}\nexample.test. DNSKEY ${KEY}\nEXAMPLE.test. DS 1 13 2 ${DIGEST.toLowerCase()}\ntest. DS 2 8 2 ${DIGEST}`,
      'lab.txt',
    );
    expect(set.all().map((a) => [a.zone, a.ds.length, a.dnskeys.length])).toEqual([['Example.Test.', 1, 1], ['test.', 1, 0]]);
  });

  it('picks the closest enclosing anchor (RFC 4035 §4.4)', () => {
    const set = trustAnchorSet([...ROOT_TRUST_ANCHORS, ...parse(`test. DS 2 8 2 ${DIGEST}\nexample.test. DNSKEY ${KEY}`)]);
    const zoneFor = (name: string): string | undefined => set.anchorFor(name)?.zone;
    expect(zoneFor('www.example.test.')).toBe('example.test.');
    expect(zoneFor('WWW.EXAMPLE.Test')).toBe('example.test.');
    expect(zoneFor('example.test.')).toBe('example.test.');
    expect(zoneFor('xexample.test.')).toBe('test.');
    expect(zoneFor('test.')).toBe('test.');
    expect(zoneFor('example.com.')).toBe('.');
    expect(zoneFor('.')).toBe('.');
    expect(trustAnchorsFromText(`test. DS 2 8 2 ${DIGEST}`, 'lab.txt').anchorFor('example.com.')).toBeUndefined();
  });

  it('keeps anchors with only unsupported algorithms or digests, with a warning (RFC 4035 §5.2)', () => {
    const set = trustAnchorsFromText(
      [`a.test. DS 1 253 2 ${DIGEST}`, 'b.test. DS 1 8 3 ABCD', 'c.test. DNSKEY 257 3 253 AAAA', `d.test. DS 1 253 2 ${DIGEST}`,
        `d.test. DS 1 13 2 ${DIGEST}`, 'e.test. DNSKEY 1 3 13 AAAA', 'f.test. DNSKEY 385 3 13 AAAA'].join('\n'),
      'lab.txt',
    );
    expect(set.all()).toHaveLength(6);
    expect(set.warnings).toEqual([
      expect.stringMatching(/^trust anchor for a\.test\. .*DS 1: algorithm ALG253 is not supported.*insecure/),
      expect.stringMatching(/^trust anchor for b\.test\. .*DS 1: digest type 3 is not supported/),
      expect.stringMatching(/^trust anchor for c\.test\. .*DNSKEY \d+: algorithm ALG253 is not supported/),
      expect.stringMatching(/^trust anchor for e\.test\. .*Zone Key flag is not set/),
      expect.stringMatching(/^trust anchor for f\.test\. .*revoked/),
    ]);
  });

  it('rejects a file without records, naming it', () => {
    expectAppError(() => trustAnchorsFromText('; nothing here\n', 'empty.txt'), ConfigError, /^empty\.txt: holds no DS or DNSKEY records/);
  });

  it('reports syntax errors with file and line', () => {
    expectAppError(() => trustAnchorsFromText(`\n\n. DS 20326 8 2 XYZ`, 'anchors.txt'), ConfigError, /^anchors\.txt:3: DS digest is not hex/);
  });
});

describe('keyMatchesAnchor', () => {
  let dir: string;
  let ksk: ResourceRecord;
  let otherKey: ResourceRecord;
  let dsText: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oedns-anchors-'));
    const keygen = async (): Promise<string> => {
      const { stdout } = await execa('dnssec-keygen', ['-q', '-K', dir, '-a', 'ECDSAP256SHA256', '-f', 'KSK', 'example.test.']);
      return join(dir, `${stdout.trim()}.key`);
    };
    const file = await keygen();
    ksk = parse(await readFile(file, 'utf8'))[0]!;
    otherKey = parse(await readFile(await keygen(), 'utf8'))[0]!;
    dsText = (await execa('dnssec-dsfromkey', ['-2', file])).stdout;
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const anchorOf = (text: string): TrustAnchor => trustAnchorsFromText(text, 'lab.txt').all()[0]!;
  const withFlags = (rr: ResourceRecord, flags: number): ResourceRecord => ({ ...rr, rdata: Uint8Array.from([flags >> 8, flags & 0xff, ...rr.rdata.subarray(2)]) });
  const renamed = (rr: ResourceRecord, name: string): ResourceRecord => ({ ...rr, name });

  it('matches the key a DS anchor from dnssec-dsfromkey designates, and no other', () => {
    const anchor = anchorOf(dsText);
    expect(keyMatchesAnchor(anchor, ksk)).toBe(true);
    expect(keyMatchesAnchor(anchor, renamed(ksk, 'EXAMPLE.test.'))).toBe(true);
    expect(keyMatchesAnchor(anchor, otherKey)).toBe(false);
    expect(keyMatchesAnchor(anchor, renamed(ksk, 'other.test.'))).toBe(false);
  });

  it('matches a DNSKEY anchor by identical RDATA and owner', () => {
    const anchor = anchorOf(`example.test. DNSKEY 257 3 13 ${Buffer.from(parseDnskey(ksk).publicKey).toString('base64')}`);
    expect(keyMatchesAnchor(anchor, ksk)).toBe(true);
    expect(keyMatchesAnchor(anchor, otherKey)).toBe(false);
    expect(keyMatchesAnchor(anchor, renamed(ksk, 'www.example.test.'))).toBe(false);
    expect(keyMatchesAnchor(anchor, withFlags(ksk, DnskeyFlag.ZoneKey))).toBe(false);
  });

  it('never matches a revoked key or one without the Zone Key flag (RFC 5011 §2.1, RFC 4034 §2.1.1)', () => {
    const revoked = withFlags(ksk, DnskeyFlag.ZoneKey | DnskeyFlag.Revoke | DnskeyFlag.SecureEntryPoint);
    const notZone = withFlags(ksk, DnskeyFlag.SecureEntryPoint);
    const dnskeyAnchor = (rr: ResourceRecord): TrustAnchor => ({ zone: 'example.test.', ds: [], dnskeys: [rr] });
    expect(keyMatchesAnchor(dnskeyAnchor(revoked), revoked)).toBe(false);
    expect(keyMatchesAnchor(dnskeyAnchor(notZone), notZone)).toBe(false);
    const dsOfRevoked = parse(`example.test. DS ${parseDnskey(revoked).keyTag} 13 2 ${hex(dsDigest('example.test.', revoked.rdata, 2)!)}`);
    expect(keyMatchesAnchor({ zone: 'example.test.', ds: dsOfRevoked, dnskeys: [] }, revoked)).toBe(false);
  });

  it('ignores records that are not DNSKEYs', () => {
    expect(keyMatchesAnchor(anchorOf(dsText), { ...ksk, type: RRType.DS })).toBe(false);
  });
});

describe('negativeTrustAnchors (RFC 7646)', () => {
  const ntas = negativeTrustAnchors(['broken.example', 'Bad.Test.']);

  it('covers the names at and below each NTA, case-insensitively', () => {
    expect(ntas.all()).toEqual(['broken.example.', 'Bad.Test.']);
    for (const name of ['broken.example.', 'www.BROKEN.example.', 'a.b.bad.test.', 'bad.test']) expect(ntas.covers(name), name).toBe(true);
    for (const name of ['example.', 'notbroken.example.', 'test.', '.', 'broken.example.com.']) expect(ntas.covers(name), name).toBe(false);
    expect(negativeTrustAnchors([]).covers('example.')).toBe(false);
  });

  it('rejects invalid names, naming them', () => {
    expectAppError(() => negativeTrustAnchors(['ok.example', 'bad..example']), ConfigError, /^negative trust anchor "bad\.\.example" is not a valid domain name/);
    expectAppError(() => negativeTrustAnchors([`${'a'.repeat(64)}.example`]), ConfigError, /^negative trust anchor "a{64}\.example" is not a valid domain name: .*63 bytes/);
  });

  it('rejects the root, which would turn validation off everywhere', () => {
    expectAppError(() => negativeTrustAnchors(['.']), ConfigError, /^negative trust anchor "\." is the root/);
    expectAppError(() => negativeTrustAnchors(['']), ConfigError, /^negative trust anchor "" is the root/);
  });
});
