import { createPublicKey, createSecretKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expectAppError } from '../../test/support/unit.js';
import { KeyFormatError } from './errors.js';
import { GatewayType, IpseckeyAlgorithm, parseIpseckeyText, type IpseckeyRdata } from './ipseckey.js';
import { ipseckeyPublicKey } from './ipseckey-key.js';
import { ipseckeyKeyField } from './public-key-rdata.js';
import { RFC4025_EXAMPLES, testKeyPair, type TestKeyKind } from './test-vectors.js';

const OWNER = 'host.example.com.';
const record = (algorithm: number, publicKey: number[] | Uint8Array): IpseckeyRdata =>
  ({ precedence: 10, gateway: { type: GatewayType.None }, algorithm, publicKey: Uint8Array.from(publicKey) });
const spki = (key: { export(options: { type: 'spki'; format: 'der' }): Buffer }): string => key.export({ type: 'spki', format: 'der' }).toString('hex');

describe('IPSECKEY keys as node:crypto keys', () => {
  it('turns the RFC 4025 §3.3 RSA key (RFC 3110 form) into a KeyObject and SPKI PEM', () => {
    const result = ipseckeyPublicKey(parseIpseckeyText(RFC4025_EXAMPLES[0].text), OWNER);
    if (result.kind !== 'key') throw new Error(`expected a key, got ${result.kind}`);
    expect(result.keyType).toBe('rsa');
    expect(result.keyObject.asymmetricKeyDetails).toMatchObject({ modulusLength: 255, publicExponent: 3n });
    expect(result.spkiPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
  });

  it.each<[TestKeyKind, number, number]>([
    ['rsa', IpseckeyAlgorithm.Rsa, 260], ['dsa', IpseckeyAlgorithm.Dsa, 405], ['ecdsa-p256', IpseckeyAlgorithm.Ecdsa, 64],
    ['ecdsa-p384', IpseckeyAlgorithm.Ecdsa, 96], ['ed25519', IpseckeyAlgorithm.EdDsa, 32], ['ed448', IpseckeyAlgorithm.EdDsa, 57],
  ])('carries a %s key through its IPSECKEY form (algorithm %i, %i bytes) unchanged', (kind, algorithm, keyBytes) => {
    const { publicKey, privateKey } = testKeyPair(kind);
    const field = ipseckeyKeyField(publicKey);
    expect(field.algorithm).toBe(algorithm);
    expect(field.publicKey).toHaveLength(keyBytes);
    expect(ipseckeyKeyField(privateKey)).toEqual(field);
    const result = ipseckeyPublicKey(record(field.algorithm, field.publicKey), OWNER);
    if (result.kind !== 'key') throw new Error(`expected a key, got ${result.kind}`);
    expect(result.keyType).toBe(kind);
    expect(spki(result.keyObject)).toBe(spki(publicKey));
    expect(spki(createPublicKey(result.spkiPem))).toBe(spki(publicKey));
  });

  it('writes an RSA exponent over 255 bytes in the three-byte length form (RFC 3110 §2)', () => {
    const exponent = [1, ...new Array<number>(299).fill(0), 1];
    const modulus = [0xc1, ...new Array<number>(255).fill(0x55), 0x01];
    const field = ipseckeyKeyField(createPublicKey({ key: { kty: 'RSA', n: Buffer.from(modulus).toString('base64url'), e: Buffer.from(exponent).toString('base64url') }, format: 'jwk' }));
    expect([...field.publicKey.subarray(0, 3)]).toEqual([0, 1, 45]);
    expect(ipseckeyPublicKey(record(IpseckeyAlgorithm.Rsa, field.publicKey), OWNER).kind).toBe('key');
  });

  it('reports algorithm 0 as no key (RFC 4025 §2.4)', () => {
    expect(ipseckeyPublicKey(record(0, []), OWNER)).toEqual({ kind: 'none' });
  });

  it('reports an algorithm outside the registry as unsupported instead of throwing', () => {
    expect(ipseckeyPublicKey(record(7, [1, 2, 3]), OWNER)).toMatchObject({ kind: 'unsupported', algorithm: 7 });
  });

  it('refuses to write keys IPSECKEY has no format for', () => {
    expectAppError(() => ipseckeyKeyField(generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey), KeyFormatError, /ECDSA curve P-521 cannot go in an IPSECKEY record/);
    expectAppError(() => ipseckeyKeyField(generateKeyPairSync('x25519').publicKey), KeyFormatError, /a x25519 key cannot go in an IPSECKEY record/);
    const dsa2048 = generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).publicKey;
    expectAppError(() => ipseckeyKeyField(dsa2048), KeyFormatError, /a DSA key with a 2048-bit P and 256-bit Q does not fit RFC 2536/);
    expectAppError(() => ipseckeyKeyField(createSecretKey(Buffer.alloc(16))), KeyFormatError, /a secret key cannot go/);
  });
});

const rsa = (...bytes: number[]): number[] => bytes;
const rsaModulus = new Array<number>(64).fill(0xa5);
const ecPoint = new Array<number>(64).fill(1);

describe('malformed IPSECKEY keys are refused, naming the record', () => {
  it.each<[string, number, number[], RegExp]>([
    ['a key for algorithm 0', 0, [1, 2], /algorithm 0 means no key \(RFC 4025 §2\.4\), yet 2 key bytes/],
    ['an RSA record without a key', 2, [], /the public key is missing/],
    ['an RSA exponent length running past the key', 2, rsa(5, 1, 0, 1), /RSA exponent of 5 bytes leaves no modulus in a 4-byte key/],
    ['an RSA key with no modulus', 2, rsa(1, 3), /leaves no modulus/],
    ['a truncated three-byte exponent length', 2, rsa(0, 1), /three-byte form\) is truncated/],
    ['a three-byte exponent length under 256', 2, rsa(0, 0, 3, 1, 0, 1, ...rsaModulus), /exponent length 3 is in the three-byte form/],
    ['a leading zero in the RSA exponent', 2, rsa(2, 0, 3, ...rsaModulus), /RSA exponent has a leading zero byte/],
    ['a leading zero in the RSA modulus', 2, rsa(1, 3, 0, ...rsaModulus), /RSA modulus has a leading zero byte/],
    ['an RSA modulus over 4096 bits', 2, rsa(1, 3, ...new Array<number>(513).fill(0xa5)), /RSA modulus of 513 bytes exceeds RFC 3110's 4096 bits/],
    ['an ECDSA key of 65 bytes', 3, [4, ...ecPoint], /ECDSA public key of 65 bytes is neither P-256 \(64 bytes\) nor P-384 \(96 bytes\)/],
    ['an ECDSA point off the curve', 3, ecPoint, /ECDSA P-256 point is not a valid key/],
    ['an EdDSA key of 31 bytes', 4, new Array<number>(31).fill(9), /EdDSA public key of 31 bytes is neither Ed25519 \(32 bytes\) nor Ed448 \(57 bytes\)/],
    ['a DSA T over 8', 1, [9, ...new Array<number>(20 + 3 * 136).fill(1)], /DSA T is 9; RFC 2536 §2 allows at most 8/],
    ['a DSA key of the wrong size', 1, [0, ...new Array<number>(20 + 3 * 64 - 1).fill(1)], /DSA key with T=0 must have 213 bytes \(RFC 2536 §2\), not 212/],
  ])('refuses %s', (_, algorithm, key, pattern) => {
    expectAppError(() => ipseckeyPublicKey(record(algorithm, key), OWNER), KeyFormatError, new RegExp(`^IPSECKEY of host\\.example\\.com\\. \\(algorithm ${algorithm}\\): .*${pattern.source}`));
  });
});
