/**
 * The public key of an IPSECKEY record as a usable key: a node:crypto KeyObject and its
 * SubjectPublicKeyInfo PEM, the form strongSwan loads as a raw public key. Formats, by the IANA
 * registry's "Format Description" (RFC 9373 §3.1):
 *   1 DSA    RFC 2536 §2:  T | Q (20) | P | G | Y (64 + 8T each), T ≤ 8
 *   2 RSA    RFC 3110 §2:  exponent length (1, or 0 and 2) | exponent | modulus
 *   3 ECDSA  RFC 6605 §4:  x | y, uncompressed; 64 bytes P-256, 96 bytes P-384
 *   4 EdDSA  RFC 8080 §3:  32 bytes Ed25519, 57 bytes Ed448
 * Malformed key bytes throw KeyFormatError naming the record; an algorithm oedns does not know
 * is a value (`unsupported`), for policy to judge.
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { errorMessage } from '../core/errors.js';
import { dsaSpki } from './der.js';
import { KeyFormatError } from './errors.js';
import { IpseckeyAlgorithm, type IpseckeyRdata } from './ipseckey.js';

export type IpseckeyKeyType = 'dsa' | 'rsa' | 'ecdsa-p256' | 'ecdsa-p384' | 'ed25519' | 'ed448';

export type IpseckeyPublicKey =
  | { readonly kind: 'key'; readonly keyType: IpseckeyKeyType; readonly keyObject: KeyObject; readonly spkiPem: string }
  /** Algorithm 0: the record carries no key (RFC 4025 §2.4). */
  | { readonly kind: 'none' }
  | { readonly kind: 'unsupported'; readonly algorithm: number; readonly reason: string };

/** RFC 3110 §2: "the exponent and modulus are each limited to 4096 bits in length". */
const RSA_MAX_FIELD_BYTES = 4096 / 8;
/** RFC 3110 §2: a one-byte exponent length covers 1 to 255 bytes; longer ones use 0 and two bytes. */
const RSA_SHORT_LENGTH_MAX = 255;
/** RFC 2536 §2: "T" sizes P, G and Y at 64 + 8T bytes and "MUST be no more than 8". */
const DSA_MAX_T = 8;
const DSA_Q_BYTES = 20;
const EC_CURVES: ReadonlyMap<number, { readonly crv: string; readonly keyType: IpseckeyKeyType }> = new Map([
  [64, { crv: 'P-256', keyType: 'ecdsa-p256' }], [96, { crv: 'P-384', keyType: 'ecdsa-p384' }],
]);
const EDDSA_CURVES: ReadonlyMap<number, { readonly crv: string; readonly keyType: IpseckeyKeyType }> = new Map([
  [32, { crv: 'Ed25519', keyType: 'ed25519' }], [57, { crv: 'Ed448', keyType: 'ed448' }],
]);

type Fail = (reason: string, cause?: unknown) => KeyFormatError;

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

function rsaJwk(key: Uint8Array, fail: Fail): JsonWebKey {
  let exponentLength = key[0]!;
  let offset = 1;
  if (exponentLength === 0) {
    if (key.length < 3) throw fail('RSA exponent length (three-byte form) is truncated');
    exponentLength = (key[1]! << 8) | key[2]!;
    offset = 3;
    if (exponentLength <= RSA_SHORT_LENGTH_MAX) {
      throw fail(`RSA exponent length ${exponentLength} is in the three-byte form, which RFC 3110 §2 keeps for exponents over ${RSA_SHORT_LENGTH_MAX} bytes`);
    }
  }
  if (offset + exponentLength >= key.length) throw fail(`RSA exponent of ${exponentLength} bytes leaves no modulus in a ${key.length}-byte key`);
  const exponent = key.subarray(offset, offset + exponentLength);
  const modulus = key.subarray(offset + exponentLength);
  // RFC 3110 §2: "Leading zero octets are prohibited in the exponent and modulus."
  if (exponent[0] === 0) throw fail('RSA exponent has a leading zero byte (RFC 3110 §2 prohibits it)');
  if (modulus[0] === 0) throw fail('RSA modulus has a leading zero byte (RFC 3110 §2 prohibits it)');
  if (exponent.length > RSA_MAX_FIELD_BYTES) throw fail(`RSA exponent of ${exponent.length} bytes exceeds RFC 3110's 4096 bits`);
  if (modulus.length > RSA_MAX_FIELD_BYTES) throw fail(`RSA modulus of ${modulus.length} bytes exceeds RFC 3110's 4096 bits`);
  return { kty: 'RSA', n: b64url(modulus), e: b64url(exponent) };
}

function dsaDer(key: Uint8Array, fail: Fail): Uint8Array {
  const t = key[0]!;
  if (t > DSA_MAX_T) throw fail(`DSA T is ${t}; RFC 2536 §2 allows at most ${DSA_MAX_T}`);
  const size = 64 + 8 * t;
  const expected = 1 + DSA_Q_BYTES + 3 * size;
  if (key.length !== expected) throw fail(`DSA key with T=${t} must have ${expected} bytes (RFC 2536 §2), not ${key.length}`);
  const at = (start: number, length: number): Uint8Array => key.subarray(start, start + length);
  const q = at(1, DSA_Q_BYTES);
  const p = at(1 + DSA_Q_BYTES, size);
  return dsaSpki({ p, q, g: at(1 + DSA_Q_BYTES + size, size), y: at(1 + DSA_Q_BYTES + 2 * size, size) });
}

function keyObject(build: () => KeyObject, what: string, fail: Fail): KeyObject {
  try {
    return build();
  } catch (error) {
    throw fail(`${what} is not a valid key: ${errorMessage(error)}`, error);
  }
}

function material(algorithm: number, key: Uint8Array, fail: Fail): { keyType: IpseckeyKeyType; keyObject: KeyObject } | undefined {
  switch (algorithm) {
    case IpseckeyAlgorithm.Rsa: {
      const jwk = rsaJwk(key, fail);
      return { keyType: 'rsa', keyObject: keyObject(() => createPublicKey({ key: jwk, format: 'jwk' }), 'RSA public key', fail) };
    }
    case IpseckeyAlgorithm.Dsa: {
      const der = Buffer.from(dsaDer(key, fail));
      return { keyType: 'dsa', keyObject: keyObject(() => createPublicKey({ key: der, format: 'der', type: 'spki' }), 'DSA public key', fail) };
    }
    case IpseckeyAlgorithm.Ecdsa: {
      const curve = EC_CURVES.get(key.length);
      if (!curve) throw fail(`ECDSA public key of ${key.length} bytes is neither P-256 (64 bytes) nor P-384 (96 bytes)`);
      const half = key.length / 2;
      const jwk = { kty: 'EC', crv: curve.crv, x: b64url(key.subarray(0, half)), y: b64url(key.subarray(half)) };
      return { keyType: curve.keyType, keyObject: keyObject(() => createPublicKey({ key: jwk, format: 'jwk' }), `ECDSA ${curve.crv} point`, fail) };
    }
    case IpseckeyAlgorithm.EdDsa: {
      const curve = EDDSA_CURVES.get(key.length);
      if (!curve) throw fail(`EdDSA public key of ${key.length} bytes is neither Ed25519 (32 bytes) nor Ed448 (57 bytes)`);
      const jwk = { kty: 'OKP', crv: curve.crv, x: b64url(key) };
      return { keyType: curve.keyType, keyObject: keyObject(() => createPublicKey({ key: jwk, format: 'jwk' }), `${curve.crv} public key`, fail) };
    }
    default:
      return undefined;
  }
}

/**
 * The record's key, `none` for algorithm 0, `unsupported` for an algorithm oedns does not know.
 * Throws KeyFormatError, naming `owner`, for key bytes that do not form a key of their algorithm.
 */
export function ipseckeyPublicKey(record: IpseckeyRdata, owner: string): IpseckeyPublicKey {
  const fail: Fail = (reason, cause) => new KeyFormatError(`IPSECKEY of ${owner} (algorithm ${record.algorithm}): ${reason}`, cause === undefined ? undefined : { cause });
  const key = record.publicKey;
  if (record.algorithm === IpseckeyAlgorithm.None) {
    // RFC 4025 §2.4: "A value of 0 indicates that no key is present."
    if (key.length > 0) throw fail(`algorithm 0 means no key (RFC 4025 §2.4), yet ${key.length} key bytes are present`);
    return { kind: 'none' };
  }
  if (!Object.values(IpseckeyAlgorithm).includes(record.algorithm as IpseckeyAlgorithm)) {
    return { kind: 'unsupported', algorithm: record.algorithm, reason: `IPSECKEY algorithm ${record.algorithm} is not in the IANA registry oedns knows (0-4)` };
  }
  if (key.length === 0) throw fail('the public key is missing');
  const made = material(record.algorithm, key, fail);
  if (!made) return { kind: 'unsupported', algorithm: record.algorithm, reason: `IPSECKEY algorithm ${record.algorithm} is not supported` };
  return { kind: 'key', ...made, spkiPem: made.keyObject.export({ type: 'spki', format: 'pem' }) as string };
}
