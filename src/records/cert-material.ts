/**
 * What a CERT record holds, as something node:crypto can use. RFC 4398 §2.1: type PKIX is "an
 * X.509 certificate conforming to the profile defined by the IETF PKIX working group", carried in
 * DER. Every other type is reported as unsupported with the reason, for policy to judge:
 *   - SPKI and ISPKI are certificates of the Simple Public Key Infrastructure (RFC 2692/2693,
 *     S-expressions), not X.509 SubjectPublicKeyInfo, so their bytes are not read as a key;
 *   - IPKIX, ISPKI, IPGP, IACPKIX are URLs (RFC 4398 §2.3), which oedns does not fetch;
 *   - PGP, ACPKIX, URI, OID and unassigned types have no use in oedns.
 */
import { X509Certificate } from 'node:crypto';
import { errorMessage } from '../core/errors.js';
import { CertType, certTypeText, type CertRdata } from './cert.js';
import { KeyFormatError } from './errors.js';

export type CertMaterial =
  | { readonly kind: 'x509'; readonly certificate: X509Certificate }
  | { readonly kind: 'unsupported'; readonly certType: number; readonly reason: string };

/** DER of a certificate starts with a SEQUENCE (X.690 §8.9): tag 0x30. */
const DER_SEQUENCE = 0x30;

const UNSUPPORTED: ReadonlyMap<number, string> = new Map([
  [CertType.SPKI, 'SPKI certificates (RFC 2693 S-expressions) are not supported'],
  [CertType.PGP, 'OpenPGP certificates are not supported'],
  [CertType.IPKIX, 'the record holds a URL of an X.509 certificate, which oedns does not fetch'],
  [CertType.ISPKI, 'the record holds a URL of an SPKI certificate, which oedns does not fetch'],
  [CertType.IPGP, 'the record holds an OpenPGP fingerprint and URL, which oedns does not fetch'],
  [CertType.ACPKIX, 'attribute certificates are not supported'],
  [CertType.IACPKIX, 'the record holds a URL of an attribute certificate, which oedns does not fetch'],
  [CertType.URI, 'private URI certificate types are not supported'],
  [CertType.OID, 'private OID certificate types are not supported'],
]);

/**
 * A PKIX CERT's certificate; `unsupported` for the other types. Throws KeyFormatError, naming
 * `owner`, when PKIX data is not exactly one DER X.509 certificate.
 */
export function certMaterial(record: CertRdata, owner: string): CertMaterial {
  if (record.certType !== CertType.PKIX) {
    const reason = UNSUPPORTED.get(record.certType) ?? `certificate type ${record.certType} is not assigned`;
    return { kind: 'unsupported', certType: record.certType, reason: `CERT ${certTypeText(record.certType)}: ${reason}` };
  }
  const fail = (reason: string, cause?: unknown): KeyFormatError =>
    new KeyFormatError(`CERT PKIX of ${owner}: ${reason}`, cause === undefined ? undefined : { cause });
  const der = record.certificate;
  // X509Certificate also accepts PEM; the record must carry DER, so look before handing it over.
  if (der[0] !== DER_SEQUENCE) throw fail('the certificate is not DER (it does not start with a SEQUENCE)');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(Buffer.from(der));
  } catch (error) {
    throw fail(`the certificate cannot be parsed: ${errorMessage(error)}`, error);
  }
  if (certificate.raw.length !== der.length) throw fail(`${der.length - certificate.raw.length} bytes follow the certificate`);
  return { kind: 'x509', certificate };
}
