import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expectAppRejection } from '../../test/support/unit.js';
import { WireFormatError } from '../core/errors.js';
import { RRType } from '../wire/index.js';
import { algorithmName, DnssecAlgorithm, dnskeyToKeyObject, isSupportedAlgorithm, isSupportedDigestType, MAX_INLINE_VERIFY_BYTES, verifySignature } from './algorithms.js';
import { signedData } from './canonical-rrset.js';
import { parseDnskey, parseRrsig } from './dnssec-rdata.js';
import { recordsOfType, SIGNATURE_VECTORS } from './test-vectors.js';

const RSA256 = SIGNATURE_VECTORS.find((v) => v.name.includes('RSA/SHA-256'))!;
const rsaKey = parseDnskey(recordsOfType(RSA256.text, RRType.DNSKEY)[0]!).publicKey;

describe('algorithm tables (RFC 8624 §3.1, §3.3)', () => {
  it('supports RSASHA1, NSEC3RSASHA1, RSASHA256, RSASHA512, ECDSA P-256/P-384, Ed25519 and Ed448', () => {
    for (const n of [5, 7, 8, 10, 13, 14, 15, 16]) expect(isSupportedAlgorithm(n)).toBe(true);
  });

  it('keeps other numbers as values without throwing: RSAMD5, DSA, GOST, PRIVATEDNS', () => {
    for (const n of [1, 3, 6, 12, 253]) expect(isSupportedAlgorithm(n)).toBe(false);
    expect(algorithmName(DnssecAlgorithm.ECDSAP256SHA256)).toBe('ECDSAP256SHA256');
    expect(algorithmName(253)).toBe('ALG253');
  });

  it('supports DS digest types 1, 2 and 4 but not 3 (GOST)', () => {
    expect([1, 2, 3, 4].map(isSupportedDigestType)).toEqual([true, true, false, true]);
  });
});

describe('dnskeyToKeyObject', async () => {
  it('reads an RFC 3110 RSA key with a one-byte exponent length (RFC 5702 §6.1: 512 bits, e = 65537)', async () => {
    const key = await dnskeyToKeyObject(DnssecAlgorithm.RSASHA256, rsaKey);
    expect(key.asymmetricKeyDetails).toMatchObject({ modulusLength: 512, publicExponent: 65537n });
  });

  it('reads the three-byte exponent length form (RFC 3110 §2: first octet zero)', async () => {
    const modulus = rsaKey.subarray(4);
    const long = Uint8Array.from([0, 0, 3, 1, 0, 1, ...modulus]);
    const key = await dnskeyToKeyObject(DnssecAlgorithm.RSASHA256, long);
    expect(key.asymmetricKeyDetails).toMatchObject({ modulusLength: 512, publicExponent: 65537n });
    expect(key.export({ format: 'jwk' })).toEqual((await dnskeyToKeyObject(DnssecAlgorithm.RSASHA256, rsaKey)).export({ format: 'jwk' }));
  });

  it.each([
    ['a zero exponent length', [0, 0, 0, 1]],
    ['an exponent that leaves no modulus', [3, 1, 0, 1]],
    ['a three-byte length that runs past the key', [0, 1, 0, 1, 2, 3]],
    ['a key shorter than three bytes', [1, 3]],
  ])('refuses an RSA key with %s', async (_what, bytes) => {
    await expectAppRejection(dnskeyToKeyObject(DnssecAlgorithm.RSASHA256, Uint8Array.from(bytes)), WireFormatError, /RSA/);
  });

  it('refuses RSA moduli above 4096 bits and below 512 bits (RFC 3110 §2, RFC 5702 §2.1)', async () => {
    const big = Uint8Array.from([3, 1, 0, 1, ...new Uint8Array(513).fill(0xff)]);
    await expectAppRejection(dnskeyToKeyObject(DnssecAlgorithm.RSASHA256, big), WireFormatError, /4104 bits/);
    const small = Uint8Array.from([3, 1, 0, 1, ...new Uint8Array(63).fill(0xff)]);
    await expectAppRejection(dnskeyToKeyObject(DnssecAlgorithm.RSASHA256, small), WireFormatError, /504 bits/);
  });

  it('refuses ECDSA keys of the wrong length or off the curve (RFC 6605 §4)', async () => {
    await expectAppRejection(dnskeyToKeyObject(DnssecAlgorithm.ECDSAP256SHA256, new Uint8Array(65)), WireFormatError, /65 bytes, not 64/);
    await expectAppRejection(dnskeyToKeyObject(DnssecAlgorithm.ECDSAP384SHA384, new Uint8Array(64)), WireFormatError, /not 96/);
    await expectAppRejection(dnskeyToKeyObject(DnssecAlgorithm.ECDSAP256SHA256, new Uint8Array(64).fill(1)), WireFormatError, /not a valid key/);
  });

  it('refuses EdDSA keys of the wrong length (RFC 8080 §3)', async () => {
    await expectAppRejection(dnskeyToKeyObject(DnssecAlgorithm.ED25519, new Uint8Array(31)), WireFormatError, /31 bytes, not 32/);
    await expectAppRejection(dnskeyToKeyObject(DnssecAlgorithm.ED448, new Uint8Array(32)), WireFormatError, /not 57/);
  });

  it('refuses an unsupported algorithm by name', async () => {
    await expectAppRejection(dnskeyToKeyObject(253, new Uint8Array(32)), WireFormatError, /ALG253 is not supported/);
  });
});

describe('verifySignature', () => {
  const [a] = recordsOfType(RSA256.text, RRType.A);
  const [rrsig] = recordsOfType(RSA256.text, RRType.RRSIG);
  const sig = parseRrsig(rrsig!);
  const data = signedData(rrsig!, [a!], sig);
  const key = dnskeyToKeyObject(sig.algorithm, rsaKey);

  it('accepts the RFC 5702 §6.1 signature and rejects it over changed data', async () => {
    expect(await verifySignature(sig.algorithm, await key, data, sig.signature)).toBe(true);
    const changed = data.slice();
    changed[changed.length - 1]! ^= 1;
    expect(await verifySignature(sig.algorithm, await key, changed, sig.signature)).toBe(false);
  });

  it('resolves false, without throwing, for a malformed signature or an unsupported algorithm', async () => {
    expect(await verifySignature(sig.algorithm, await key, data, new Uint8Array(3))).toBe(false);
    expect(await verifySignature(253, await key, data, sig.signature)).toBe(false);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(await verifySignature(DnssecAlgorithm.ECDSAP256SHA256, ec.publicKey, data, new Uint8Array(10))).toBe(false);
  });

  it('gives the same answers on the event loop thread (inline) as in the thread pool', async () => {
    const changed = data.slice();
    changed[0]! ^= 1;
    for (const inline of [false, true]) {
      expect(await verifySignature(sig.algorithm, await key, data, sig.signature, inline)).toBe(true);
      expect(await verifySignature(sig.algorithm, await key, changed, sig.signature, inline)).toBe(false);
      expect(await verifySignature(sig.algorithm, await key, data, new Uint8Array(3), inline)).toBe(false);
    }
    const ed = generateKeyPairSync('ed25519');
    const big = new Uint8Array(MAX_INLINE_VERIFY_BYTES + 1).fill(7);
    const edSig = sign(null, big, ed.privateKey);
    expect(await verifySignature(DnssecAlgorithm.ED25519, ed.publicKey, big, edSig, true)).toBe(true);
  });

  it('takes ECDSA signatures as r || s (IEEE P1363), not DER (RFC 6605 §4)', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const raw = sign('sha384', data, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
    const der = sign('sha384', data, ec.privateKey);
    expect(raw).toHaveLength(96);
    expect(await verifySignature(DnssecAlgorithm.ECDSAP384SHA384, ec.publicKey, data, raw)).toBe(true);
    expect(await verifySignature(DnssecAlgorithm.ECDSAP384SHA384, ec.publicKey, data, der)).toBe(false);
  });
});
