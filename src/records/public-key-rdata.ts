/**
 * The reverse of ipseckey-key.ts: a public key (from a PEM file) in the IPSECKEY key formats,
 * for `oedns record ipseckey`. RSA in RFC 3110 §2 form, DSA in RFC 2536 §2 form, ECDSA P-256 and
 * P-384 as x | y (RFC 6605 §4), Ed25519 and Ed448 as their raw bytes (RFC 8080 §3).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readDsaSpki } from './der.js';
import { KeyFormatError } from './errors.js';
import { IpseckeyAlgorithm } from './ipseckey.js';

export interface IpseckeyKeyField {
  readonly algorithm: number;
  readonly publicKey: Uint8Array;
}

const fromB64url = (text: string | undefined): Uint8Array => new Uint8Array(Buffer.from(text ?? '', 'base64url'));

function stripZeros(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return bytes.subarray(start);
}

function rsaField(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  const exponent = stripZeros(fromB64url(jwk.e));
  const modulus = stripZeros(fromB64url(jwk.n));
  // RFC 3110 §2: one length byte for 1-255 bytes, else a zero byte and two length bytes.
  const length = exponent.length <= 255 ? [exponent.length] : [0, exponent.length >> 8, exponent.length & 0xff];
  return Uint8Array.from([...length, ...exponent, ...modulus]);
}

/** RFC 2536 §2 fits only 160-bit Q and P of 512 + 64T bits, T ≤ 8 (at most 1024 bits). */
function dsaField(key: KeyObject): Uint8Array {
  const { p, q, g, y } = readDsaSpki(new Uint8Array(key.export({ type: 'spki', format: 'der' })));
  const t = (p.length - 64) / 8;
  if (q.length !== 20 || !Number.isInteger(t) || t < 0 || t > 8) {
    throw new KeyFormatError(`a DSA key with a ${p.length * 8}-bit P and ${q.length * 8}-bit Q does not fit RFC 2536 (P of 512-1024 bits, Q of 160)`);
  }
  const pad = (bytes: Uint8Array): Uint8Array => {
    const out = new Uint8Array(p.length);
    out.set(bytes, p.length - bytes.length);
    return out;
  };
  return Uint8Array.from([t, ...q, ...p, ...pad(g), ...pad(y)]);
}

function ecField(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.crv !== 'P-256' && jwk.crv !== 'P-384') throw new KeyFormatError(`ECDSA curve ${jwk.crv} cannot go in an IPSECKEY record (P-256 and P-384 can)`);
  return Uint8Array.from([...fromB64url(jwk.x), ...fromB64url(jwk.y)]);
}

/** Algorithm number and key bytes of an IPSECKEY record carrying `key` (public or private). */
export function ipseckeyKeyField(input: KeyObject): IpseckeyKeyField {
  if (input.type === 'secret') throw new KeyFormatError('a secret key cannot go in an IPSECKEY record; give a public or private key');
  const key = input.type === 'private' ? createPublicKey(input) : input;
  const type = key.asymmetricKeyType;
  switch (type) {
    case 'rsa':
      return { algorithm: IpseckeyAlgorithm.Rsa, publicKey: rsaField(key) };
    case 'dsa':
      return { algorithm: IpseckeyAlgorithm.Dsa, publicKey: dsaField(key) };
    case 'ec':
      return { algorithm: IpseckeyAlgorithm.Ecdsa, publicKey: ecField(key) };
    case 'ed25519':
    case 'ed448':
      return { algorithm: IpseckeyAlgorithm.EdDsa, publicKey: fromB64url(key.export({ format: 'jwk' }).x) };
    default:
      throw new KeyFormatError(`a ${type ?? 'unknown'} key cannot go in an IPSECKEY record (RSA, DSA, ECDSA P-256/P-384, Ed25519 and Ed448 can)`);
  }
}
