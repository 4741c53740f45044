/**
 * The certification path from the peer's certificate up to a DANE-TA trust anchor (RFC 6698
 * §2.1.1 usage 2, RFC 7671 §5.2): each certificate issued and signed by the next one up,
 * within its validity period, and every issuer a CA. An anchor that is an intermediate (or a
 * bare key) is trusted because the TLSA record names it, whatever its validity period (RFC 5280
 * §6.1.1 takes trust anchor information as an input to path validation, not as part of the
 * path). A self-issued anchor (a root) is, as in OpenSSL 3.0, also the top of the path, so an
 * expired root fails: test/scenarios/dane-openssl.test.ts checks both against OpenSSL.
 *
 * The anchor is either a certificate in the chain, or, for "2 0 0" and "2 1 0" records whose
 * full certificate or public key the server did not send, the certificate or key taken from the
 * record itself (RFC 7671 §5.2.2, §5.2.3).
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import { certLabel } from './association.js';

export interface TrustAnchor {
  readonly publicKey: KeyObject;
  /** Absent for a bare public key ("2 1 0"). */
  readonly cert?: X509Certificate | undefined;
  /** For messages: the anchor certificate's subject or "the TLSA public key". */
  readonly label: string;
}

export type PathCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Verifies `below` (leaf first, each certificate's issuer next) up to the anchor, at `nowEpoch`
 * (seconds). `below` holds the certificates under the anchor, so it never contains the anchor.
 */
export function verifyPath(below: readonly X509Certificate[], anchor: TrustAnchor, nowEpoch: number): PathCheck {
  for (const [depth, cert] of below.entries()) {
    const validity = checkValidity(cert, nowEpoch);
    if (!validity.ok) return validity;
    const issuerCert = depth + 1 < below.length ? below[depth + 1] : anchor.cert;
    const issuerKey = issuerCert?.publicKey ?? anchor.publicKey;
    const issuerLabel = issuerCert === undefined ? anchor.label : certLabel(issuerCert);
    // RFC 5280 §6.1.3 (a)(4): the certificate's issuer name is the issuer's subject name.
    // checkIssued (OpenSSL's X509_check_issued) also compares key identifiers and rejects an
    // issuer whose keyUsage lacks keyCertSign (RFC 5280 §4.2.1.3).
    if (issuerCert !== undefined && !cert.checkIssued(issuerCert)) {
      return fail(`${certLabel(cert)} is not issued by ${issuerLabel} (issuer name, key identifier or key usage)`);
    }
    // RFC 5280 §6.1.4 (k): every certificate that issues another in the path must be a CA.
    if (issuerCert !== undefined && !issuerCert.ca) return fail(`${issuerLabel} issues ${certLabel(cert)} but is not a CA`);
    // RFC 5280 §6.1.3 (a)(1): the signature verifies with the issuer's public key.
    if (!safeVerify(cert, issuerKey)) return fail(`the signature on ${certLabel(cert)} does not verify with the key of ${issuerLabel}`);
  }
  if (anchor.cert !== undefined && anchor.cert.checkIssued(anchor.cert)) return checkValidity(anchor.cert, nowEpoch);
  return { ok: true };
}

/** RFC 5280 §6.1.3 (a)(2): the certificate validity period includes the current time. */
export function checkValidity(cert: X509Certificate, nowEpoch: number): PathCheck {
  const notBefore = Date.parse(cert.validFrom) / 1000;
  const notAfter = Date.parse(cert.validTo) / 1000;
  if (!(nowEpoch >= notBefore)) return fail(`${certLabel(cert)} is not valid before ${cert.validFrom}`);
  if (!(nowEpoch <= notAfter)) return fail(`${certLabel(cert)} expired ${cert.validTo}`);
  return { ok: true };
}

/** Whether `key` signed `cert`; a key of the wrong type for the signature is a "no", not a crash. */
export function safeVerify(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.verify(key);
  } catch {
    return false;
  }
}

function fail(reason: string): PathCheck {
  return { ok: false, reason };
}
