import { describe, expect, it } from 'vitest';
import { WireFormatError } from '../core/errors.js';
import { RRType } from '../wire/index.js';
import { expectAppError } from '../../test/support/unit.js';
import { denialRecord, RFC5155_HASHES, RFC5155_ITERATIONS, RFC5155_NSEC3, RFC5155_SALT, RFC5155_ZONE, rfc5155Nsec3 } from './denial-vectors.js';
import {
  base32HexDecode, base32HexEncode, createHashBudget, nsec3Covers, nsec3Hash,
  nsec3Matches, parseNsec3Rdata, selectNsec3s, type Nsec3Record,
} from './nsec3.js';
import { MAX_NSEC3_HASHES_PER_ANSWER } from './limits.js';

function hashOf(name: string): Uint8Array {
  return nsec3Hash(name, RFC5155_SALT, RFC5155_ITERATIONS);
}

function record(key: string): Nsec3Record {
  const [selected] = selectNsec3s(rfc5155Nsec3(key), RFC5155_ZONE).records;
  if (!selected) throw new Error(`RFC 5155 NSEC3 ${key} not usable`);
  return selected;
}

describe('base32hex (RFC 4648 §7, no padding)', () => {
  it('encodes and decodes the RFC 4648 §10 vectors', () => {
    const vectors: Array<[string, string]> = [['', ''], ['f', 'co'], ['fo', 'cpng'], ['foo', 'cpnmu'],
      ['foob', 'cpnmuog'], ['fooba', 'cpnmuoj1'], ['foobar', 'cpnmuoj1e8']];
    for (const [plain, encoded] of vectors) {
      const bytes = new TextEncoder().encode(plain);
      expect(base32HexEncode(bytes)).toBe(encoded);
      expect(base32HexDecode(encoded.toUpperCase())).toEqual(bytes);
    }
  });

  it('rejects letters past v, padding, impossible lengths and stray bits', () => {
    expectAppError(() => base32HexDecode('cpnmuw'), WireFormatError, /bad character "w"/);
    expectAppError(() => base32HexDecode('co======'), WireFormatError, /bad character "="/);
    expectAppError(() => base32HexDecode('c'), WireFormatError, /not canonical/);
    expectAppError(() => base32HexDecode('cp'), WireFormatError, /not canonical/);
  });
});

describe('nsec3Hash (RFC 5155 §5)', () => {
  it.each(RFC5155_HASHES)('reproduces H(%s) = %s (RFC 5155 Appendix A, salt aabbccdd, 12 iterations)', (name, expected) => {
    expect(base32HexEncode(hashOf(name))).toBe(expected);
  });

  it('hashes the canonical (lowercased) wire form', () => {
    expect(hashOf('X.W.Example.')).toEqual(hashOf('x.w.example.'));
  });

  it('hashes without salt and iterations: H(com) with 0 iterations (BIND nsec3hash test)', () => {
    expect(base32HexEncode(nsec3Hash('com.', new Uint8Array(0), 0)).toUpperCase()).toBe('CK0POJMG874LJREF7EFN8430QVIT8BSM');
  });
});

describe('NSEC3 RDATA (RFC 5155 §3.2)', () => {
  it('reads every field of the Appendix A apex NSEC3', () => {
    const parsed = parseNsec3Rdata(rfc5155Nsec3('0p9m')[0]!.rdata);
    expect(parsed).toMatchObject({ hashAlgorithm: 1, flags: 1, optOut: true, iterations: 12, salt: RFC5155_SALT });
    expect(base32HexEncode(parsed.nextHashedOwner)).toBe('2t7b4g4vsa5smi47k61mv5bv1a22bojr');
    expect(parsed.typeBitmap.types).toEqual([RRType.NS, RRType.SOA, RRType.MX, RRType.RRSIG, RRType.DNSKEY, RRType.NSEC3PARAM]);
  });

  it('reads an empty salt and an empty type bit map', () => {
    const rr = denialRecord('ji6neoaepv8b5o6k4ev33abha8ht9fgc.example. NSEC3 1 0 0 - k8udemvp1j2f7eg6jebps17vp3n8i58h');
    expect(parseNsec3Rdata(rr.rdata)).toMatchObject({ optOut: false, iterations: 0, salt: new Uint8Array(0) });
    expect(parseNsec3Rdata(rr.rdata).typeBitmap.types).toEqual([]);
  });

  it('rejects RDATA cut short in every variable field', () => {
    expectAppError(() => parseNsec3Rdata(Uint8Array.from([1, 0, 0])), WireFormatError, /shorter than its fixed fields/);
    expectAppError(() => parseNsec3Rdata(Uint8Array.from([1, 0, 0, 0, 4, 0xaa])), WireFormatError, /salt runs past/);
    expectAppError(() => parseNsec3Rdata(Uint8Array.from([1, 0, 0, 0, 0, 20, 1, 2])), WireFormatError, /next hashed owner name runs past/);
    expectAppError(() => parseNsec3Rdata(Uint8Array.from([1, 0, 0, 0, 0, 0])), WireFormatError, /empty/);
  });
});

describe('the Appendix A chain', () => {
  it('is one ring in hash order whose owners are the hashes of the zone names', () => {
    const keys = Object.keys(RFC5155_NSEC3);
    const records = keys.map(record);
    const zoneHashes = new Set(RFC5155_HASHES.slice(0, 12).map(([, hash]) => hash));
    records.forEach((r, i) => {
      const following = records[(i + 1) % records.length]!;
      expect(r.rdata.nextHashedOwner).toEqual(following.ownerHash);
      expect(zoneHashes.has(base32HexEncode(r.ownerHash))).toBe(true);
    });
    expect(records).toHaveLength(zoneHashes.size);
  });
});

describe('matching and covering (RFC 5155 §1.3)', () => {
  it('matches x.w.example with its own NSEC3 and covers c.x.w.example with the apex one', () => {
    expect(nsec3Matches(record('b4um'), hashOf('x.w.example.'))).toBe(true);
    expect(nsec3Covers(record('b4um'), hashOf('x.w.example.'))).toBe(false);
    expect(nsec3Covers(record('0p9m'), hashOf('c.x.w.example.'))).toBe(true);
    expect(nsec3Covers(record('0p9m'), hashOf('ns1.example.'))).toBe(false);
  });

  it('wraps the last NSEC3 of the chain round to the first', () => {
    const last = record('t644');
    expect(nsec3Covers(last, Uint8Array.from(new Array<number>(20).fill(0xff)))).toBe(true);
    expect(nsec3Covers(last, Uint8Array.from(new Array<number>(20).fill(0x00)))).toBe(true);
    expect(nsec3Covers(last, hashOf('ai.example.'))).toBe(false);
  });

  it('lets a lone NSEC3 (next = owner) cover every other hash', () => {
    const lone = selectNsec3s([denialRecord('0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. NSEC3 1 0 12 aabbccdd 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom NS SOA')], 'example.').records[0]!;
    expect(nsec3Covers(lone, hashOf('a.example.'))).toBe(true);
    expect(nsec3Covers(lone, hashOf('example.'))).toBe(false);
  });
});

describe('selecting usable NSEC3s (RFC 5155 §8.1, §8.2)', () => {
  const hash = '2t7b4g4vsa5smi47k61mv5bv1a22bojr';
  it('ignores unknown hash algorithms, unknown flags, other zones and malformed owners', () => {
    const { records, ignored } = selectNsec3s([
      denialRecord(`0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. NSEC3 2 0 12 aabbccdd ${hash} A`),
      denialRecord(`0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. NSEC3 1 2 12 aabbccdd ${hash} A`),
      denialRecord(`0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.other. NSEC3 1 0 12 aabbccdd ${hash} A`),
      denialRecord(`0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.sub.example. NSEC3 1 0 12 aabbccdd ${hash} A`),
      denialRecord(`not-base32hex-zzz.example. NSEC3 1 0 12 aabbccdd ${hash} A`),
      denialRecord('0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. NSEC3 1 0 12 aabbccdd 0p9mhave A'),
      rfc5155Nsec3('0p9m')[0]!,
    ], 'example.');
    expect(records.map((r) => r.owner)).toEqual(['0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.']);
    expect(ignored).toEqual([
      expect.stringMatching(/unknown hash algorithm 2/), expect.stringMatching(/unknown flags 2/),
      expect.stringMatching(/not a hashed name in example/), expect.stringMatching(/not a hashed name in example/),
      expect.stringMatching(/malformed/), expect.stringMatching(/not that of SHA-1/),
    ]);
  });
});

describe('hash budget', () => {
  it('starts at MAX_NSEC3_HASHES_PER_ANSWER unless told otherwise', () => {
    expect(createHashBudget()).toEqual({ hashesLeft: MAX_NSEC3_HASHES_PER_ANSWER });
    expect(createHashBudget(3)).toEqual({ hashesLeft: 3 });
  });
});
