/**
 * Reference-name checks for PKIX-TA, PKIX-EE and DANE-TA (RFC 7671 §5.2, RFC 7672 §3.2.3).
 * X509Certificate.checkHost is OpenSSL's X509_check_host, the matcher OpenSSL's DANE code uses:
 * DNS-IDs in subjectAltName when there is any, else the subject CN; case-insensitive; a
 * wildcard only as the whole left-most label ("*.example.test"), standing for exactly one label,
 * and not honoured with fewer than two labels after it ("*.test" matches nothing). Partial
 * wildcards ("w*.example.test"), which RFC 6125 §6.4.3 left optional and RFC 9525 §6.3 forbids,
 * are refused, as the TLS engine's PKIX check refuses them.
 */
import type { X509Certificate } from 'node:crypto';

/** The first reference name the certificate carries, or undefined. */
export function matchReferenceName(cert: X509Certificate, referenceNames: readonly string[]): string | undefined {
  return referenceNames.find((name) => {
    const host = presentedForm(name);
    return host !== '' && cert.checkHost(host, { wildcards: true, partialWildcards: false }) !== undefined;
  });
}

/** Names compare without the root label's dot and case-insensitively (RFC 6125 §6.4.1). */
function presentedForm(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

/** The TLSA base domain from the TLSA owner: `_443._tcp.www.example.` → `www.example.` (RFC 6698 §3). */
export function baseDomain(tlsaOwner: string): string {
  return tlsaOwner.replace(/^_[^.]*\._[^.]*\./, '');
}
