/**
 * An RSA public key (SPKI PEM, as the pipeline has it from IPSECKEY) in racoon's plain RSA format,
 * plainrsa-gen(8) "OUTPUT FILE FORMAT":
 *
 *   : PUB 0sAQOrWlcwbAIdNSMhDt...
 *
 * `0s` marks base64 of the RFC 3110 §2 layout: one octet exponent length, the exponent, the
 * modulus (big-endian, no leading zeros). racoon reads only the one-octet length form
 * (crypto_openssl.c binbuf_pubkey2rsa), so an exponent longer than 255 octets is refused. This is
 * the same layout IPSECKEY carries for RSA (RFC 4025 §2.6), re-derived here from the parsed key.
 */
import { createPublicKey } from 'node:crypto';
import { BackendError } from '../../core/errors.js';

/** RFC 3110 §2: exponents up to 255 octets fit the one-octet length, the only form racoon reads. */
const MAX_SHORT_EXPONENT_OCTETS = 255;

function stripLeadingZeros(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
  return bytes.subarray(start);
}

/** The RFC 3110 public key bytes of an RSA SPKI PEM; throws BackendError for other keys. */
export function rfc3110PublicKey(spkiPem: string): Uint8Array {
  let jwk: { n?: string | undefined; e?: string | undefined };
  try {
    const key = createPublicKey({ key: spkiPem, format: 'pem' });
    if (key.asymmetricKeyType !== 'rsa') throw new BackendError(`racoon takes RSA keys only, not ${key.asymmetricKeyType ?? 'unknown'}`);
    jwk = key.export({ format: 'jwk' });
  } catch (error) {
    if (error instanceof BackendError) throw error;
    throw new BackendError('peer key is not a usable public key PEM', { cause: error });
  }
  if (jwk.n === undefined || jwk.e === undefined) throw new BackendError('RSA key without modulus or exponent');
  const exponent = stripLeadingZeros(Buffer.from(jwk.e, 'base64url'));
  const modulus = stripLeadingZeros(Buffer.from(jwk.n, 'base64url'));
  if (exponent.length > MAX_SHORT_EXPONENT_OCTETS) throw new BackendError(`RSA exponent of ${exponent.length} octets; racoon reads at most ${MAX_SHORT_EXPONENT_OCTETS}`);
  const out = new Uint8Array(1 + exponent.length + modulus.length);
  out[0] = exponent.length;
  out.set(exponent, 1);
  out.set(modulus, 1 + exponent.length);
  return out;
}

/** The contents of a racoon public key file (`peers_certfile plain_rsa`): one `: PUB 0s...` line. */
export function plainRsaPublicKeyFile(spkiPem: string, comment: string): string {
  const b64 = Buffer.from(rfc3110PublicKey(spkiPem)).toString('base64');
  // prsa_tok.l: `#` starts a comment to the end of the line; the caller passes a validated hostname.
  return `# ${comment}\n: PUB 0s${b64}\n`;
}
