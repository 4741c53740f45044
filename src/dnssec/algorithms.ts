/**
 * DNSSEC algorithms (IANA "DNS Security Algorithm Numbers", RFC 8624 §3.1 for which a validator
 * implements) and DS digest types (IANA "Delegation Signer (DS) Resource Record Digest Algorithms",
 * RFC 8624 §3.3): turning DNSKEY public keys into node:crypto KeyObjects and verifying signatures.
 *
 * Key formats: RSA per RFC 3110 §2 (exponent length, exponent, modulus); ECDSA per RFC 6605 §4
 * (the point as X || Y, no prefix byte); EdDSA per RFC 8080 §3 (the raw RFC 8032 public key).
 * Signatures: RSA PKCS#1 v1.5 (RFC 3110 §3, RFC 5702 §3); ECDSA as r || s (RFC 6605 §4); EdDSA raw.
 */
import { createPublicKey, KeyObject, verify, webcrypto } from 'node:crypto';
import { WireFormatError } from '../core/errors.js';
import { MAX_RSA_MODULUS_BITS, MIN_RSA_MODULUS_BITS } from './limits.js';

/** IANA DNS Security Algorithm Numbers that oedns validates (RFC 8624 §3.1). */
export const DnssecAlgorithm = {
  RSASHA1: 5,
  NSEC3RSASHA1: 7,
  RSASHA256: 8,
  RSASHA512: 10,
  ECDSAP256SHA256: 13,
  ECDSAP384SHA384: 14,
  ED25519: 15,
  ED448: 16,
} as const;
export type DnssecAlgorithm = (typeof DnssecAlgorithm)[keyof typeof DnssecAlgorithm];

/** IANA DS digest types that oedns computes (RFC 8624 §3.3; 3, GOST R 34.11-94, is not). */
export const DigestType = { SHA1: 1, SHA256: 2, SHA384: 4 } as const;
export type DigestType = (typeof DigestType)[keyof typeof DigestType];

type Family =
  | { readonly kind: 'rsa'; readonly hash: 'sha1' | 'sha256' | 'sha512' }
  | { readonly kind: 'ecdsa'; readonly hash: 'sha256' | 'sha384'; readonly crv: 'P-256' | 'P-384'; readonly pointBytes: number }
  | { readonly kind: 'eddsa'; readonly crv: 'Ed25519' | 'Ed448'; readonly keyBytes: number };

const FAMILIES: ReadonlyMap<number, Family> = new Map<number, Family>([
  [DnssecAlgorithm.RSASHA1, { kind: 'rsa', hash: 'sha1' }],
  [DnssecAlgorithm.NSEC3RSASHA1, { kind: 'rsa', hash: 'sha1' }],
  [DnssecAlgorithm.RSASHA256, { kind: 'rsa', hash: 'sha256' }],
  [DnssecAlgorithm.RSASHA512, { kind: 'rsa', hash: 'sha512' }],
  [DnssecAlgorithm.ECDSAP256SHA256, { kind: 'ecdsa', hash: 'sha256', crv: 'P-256', pointBytes: 64 }],
  [DnssecAlgorithm.ECDSAP384SHA384, { kind: 'ecdsa', hash: 'sha384', crv: 'P-384', pointBytes: 96 }],
  [DnssecAlgorithm.ED25519, { kind: 'eddsa', crv: 'Ed25519', keyBytes: 32 }],
  [DnssecAlgorithm.ED448, { kind: 'eddsa', crv: 'Ed448', keyBytes: 57 }],
]);

const DIGEST_HASHES: ReadonlyMap<number, 'sha1' | 'sha256' | 'sha384'> = new Map([
  [DigestType.SHA1, 'sha1'], [DigestType.SHA256, 'sha256'], [DigestType.SHA384, 'sha384'],
] as const);

const algorithmNames = new Map<number, string>(Object.entries(DnssecAlgorithm).map(([k, v]) => [v, k]));

export function isSupportedAlgorithm(algorithm: number): algorithm is DnssecAlgorithm {
  return FAMILIES.has(algorithm);
}

export function isSupportedDigestType(digestType: number): digestType is DigestType {
  return DIGEST_HASHES.has(digestType);
}

/** node:crypto hash name of a DS digest type, undefined when not supported. */
export function digestHash(digestType: number): 'sha1' | 'sha256' | 'sha384' | undefined {
  return DIGEST_HASHES.get(digestType);
}

/** Mnemonic for logs and reasons: `ECDSAP256SHA256`, or `ALG253` for values outside the table. */
export function algorithmName(algorithm: number): string {
  return algorithmNames.get(algorithm) ?? `ALG${algorithm}`;
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

function withoutLeadingZeros(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return bytes.subarray(start);
}

/**
 * RFC 3110 §2: "The exponent length ... in one or three octets. If the first octet is zero, the
 * length is in the next two octets", then the exponent, then the modulus.
 */
function rsaKey(publicKey: Uint8Array): KeyObject {
  if (publicKey.length < 3) throw new WireFormatError(`RSA public key of ${publicKey.length} bytes is too short`);
  const long = publicKey[0] === 0;
  const exponentStart = long ? 3 : 1;
  const exponentLength = long ? (publicKey[1]! << 8) | publicKey[2]! : publicKey[0]!;
  if (exponentLength === 0) throw new WireFormatError('RSA public key has a zero exponent length');
  const modulusStart = exponentStart + exponentLength;
  if (modulusStart >= publicKey.length) throw new WireFormatError(`RSA public key's exponent (${exponentLength} bytes) leaves no modulus`);
  // RFC 3110 §2 prohibits leading zero octets; tolerate them rather than fail a zone over it.
  const exponent = withoutLeadingZeros(publicKey.subarray(exponentStart, modulusStart));
  const modulus = withoutLeadingZeros(publicKey.subarray(modulusStart));
  const modulusBits = modulus.length * 8 - Math.clz32(modulus[0]!) + 24;
  if (modulusBits > MAX_RSA_MODULUS_BITS || modulusBits < MIN_RSA_MODULUS_BITS) {
    throw new WireFormatError(`RSA modulus of ${modulusBits} bits is outside ${MIN_RSA_MODULUS_BITS}–${MAX_RSA_MODULUS_BITS}`);
  }
  if (exponent.length > modulus.length) throw new WireFormatError('RSA exponent is longer than its modulus');
  return importJwk({ kty: 'RSA', n: base64url(modulus), e: base64url(exponent) });
}

function importJwk(jwk: { kty: string; [field: string]: string }): KeyObject {
  try {
    return createPublicKey({ key: jwk, format: 'jwk' });
  } catch (error) {
    throw new WireFormatError(`${jwk.kty} public key is not a valid key: ${(error as Error).message}`, { cause: error });
  }
}

/** RFC 6605 §4 keys are SEC 1 points without the 0x04 "uncompressed" prefix that SEC 1 puts first. */
const UNCOMPRESSED_POINT = 0x04;

/**
 * An ECDSA key through WebCrypto's raw import: it checks that the point lies on the curve (all a
 * prime-order curve needs) and costs about a third less than a JWK import, which also multiplies
 * the point by the group order. Key imports are a large share of a cold lookup's CPU time.
 */
async function ecdsaKey(crv: 'P-256' | 'P-384', point: Uint8Array): Promise<KeyObject> {
  const sec1 = new Uint8Array(point.length + 1);
  sec1[0] = UNCOMPRESSED_POINT;
  sec1.set(point, 1);
  try {
    return KeyObject.from(await webcrypto.subtle.importKey('raw', sec1, { name: 'ECDSA', namedCurve: crv }, true, ['verify']));
  } catch (error) {
    throw new WireFormatError(`EC public key is not a valid key: ${(error as Error).message}`, { cause: error });
  }
}

async function buildKey(algorithm: number, publicKey: Uint8Array): Promise<KeyObject> {
  const family = FAMILIES.get(algorithm);
  if (!family) throw new WireFormatError(`DNSSEC algorithm ${algorithmName(algorithm)} is not supported`);
  switch (family.kind) {
    case 'rsa':
      return rsaKey(publicKey);
    case 'ecdsa':
      // RFC 6605 §4: Q is "the uncompressed form of a curve point, 'x | y'", 2 × 32 or 2 × 48 bytes.
      if (publicKey.length !== family.pointBytes) {
        throw new WireFormatError(`${algorithmName(algorithm)} public key has ${publicKey.length} bytes, not ${family.pointBytes}`);
      }
      return ecdsaKey(family.crv, publicKey);
    case 'eddsa':
      // RFC 8080 §3: the public key is the RFC 8032 encoding, 32 (Ed25519) or 57 (Ed448) bytes.
      if (publicKey.length !== family.keyBytes) {
        throw new WireFormatError(`${algorithmName(algorithm)} public key has ${publicKey.length} bytes, not ${family.keyBytes}`);
      }
      return importJwk({ kty: 'OKP', crv: family.crv, x: base64url(publicKey) });
  }
}

/** Keys seen recently: importing (an RSA JWK especially) costs more than a lookup. Bounds memory. */
const KEY_CACHE_ENTRIES = 256;
const keyCache = new Map<string, KeyObject>();

/**
 * A node:crypto public key for a DNSKEY's algorithm and Public Key field. Throws WireFormatError
 * when the key is malformed or the algorithm unsupported (check isSupportedAlgorithm first).
 */
export async function dnskeyToKeyObject(algorithm: number, publicKey: Uint8Array): Promise<KeyObject> {
  const cacheKey = `${algorithm}:${base64url(publicKey)}`;
  const cached = keyCache.get(cacheKey);
  if (cached) {
    keyCache.delete(cacheKey);
    keyCache.set(cacheKey, cached);
    return cached;
  }
  const key = await buildKey(algorithm, publicKey);
  if (keyCache.size >= KEY_CACHE_ENTRIES) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(cacheKey, key);
  return key;
}

/**
 * Signed data up to this size may be verified on the event loop thread (`inline`): hashing it
 * and one ECDSA, EdDSA or RSA verification take well under 0.1 ms, less than a round trip
 * through libuv's thread pool costs a lone query (about 0.1 ms of wake-ups each way).
 */
export const MAX_INLINE_VERIFY_BYTES = 4096;

type VerifyCallback = (error: Error | null, valid: boolean) => void;

function verifyWith(family: Family, key: KeyObject, data: Uint8Array, signature: Uint8Array, done?: VerifyCallback): boolean | undefined {
  // RFC 6605 §4: ECDSA signatures are the concatenation "r | s" (IEEE P1363 form), not DER.
  // RFC 8080 §4: EdDSA is pure, so no separate digest (algorithm null).
  const hash = family.kind === 'eddsa' ? null : family.hash;
  const keyInput = family.kind === 'ecdsa' ? { key, dsaEncoding: 'ieee-p1363' as const } : key;
  if (done) {
    verify(hash, data, keyInput, signature, done);
    return undefined;
  }
  return verify(hash, data, keyInput, signature);
}

/**
 * Verifies `signature` over `data`; resolves false for any failure, including malformed
 * signatures. By default in libuv's thread pool (crypto.verify's callback form), so that other
 * clients' queries go on meanwhile. With `inline` (the caller knows nothing else is waiting) and
 * small data, on this thread at once: a lone lookup then skips three pool round trips.
 */
export function verifySignature(algorithm: number, key: KeyObject, data: Uint8Array, signature: Uint8Array, inline = false): Promise<boolean> {
  const family = FAMILIES.get(algorithm);
  if (!family) return Promise.resolve(false);
  if (inline && data.length <= MAX_INLINE_VERIFY_BYTES) {
    try {
      return Promise.resolve(verifyWith(family, key, data, signature) === true);
    } catch {
      return Promise.resolve(false);
    }
  }
  return new Promise((resolve) => {
    try {
      verifyWith(family, key, data, signature, (error, valid) => resolve(error === null && valid));
    } catch {
      resolve(false);
    }
  });
}
