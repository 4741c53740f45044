/**
 * The PKIX trust store: what usages 0 and 1 (RFC 6698 §2.1.1), `no-dane` and `no-ldap` check
 * chains against. Node's `ca` option replaces its built-in roots, so the store is always given
 * explicitly: the operator's bundle, else the system's, else the roots compiled into Node.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

/** Debian's and Ubuntu's bundle, kept current by ca-certificates. */
export const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

export interface CaStore {
  /** PEM certificates, for tls.connect's and createSecureContext's `ca`. */
  readonly pem: readonly string[];
  /** Where they came from, for the log. */
  readonly source: 'configured' | 'system' | 'node';
}

/** Read once when the engine is made: the store does not change under a running daemon. */
export function loadCaStore(caPem: string | undefined, systemBundle = SYSTEM_CA_BUNDLE): CaStore {
  if (caPem !== undefined) return { pem: [caPem], source: 'configured' };
  try {
    return { pem: [readFileSync(systemBundle, 'utf8')], source: 'system' };
  } catch {
    return { pem: [...rootCertificates], source: 'node' };
  }
}
