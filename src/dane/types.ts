/**
 * The contract of DANE verification (RFC 6698, RFC 7671; RFC 7672 for SMTP): a peer's chain and
 * a TLSA RRset in, a verdict out. Pure: the caller does the lookups and the handshake and hands
 * in the time. The TLSA records handed in are already DNSSEC-secure (or accepted as insecure by
 * the caller's `no-dnssec` flag): deciding that is the TLS path's job, not this module's.
 */
import type { X509Certificate } from 'node:crypto';
import type { TlsaRdata } from '../records/index.js';

export interface DaneInput {
  /**
   * The certificates as the TLS stack gives them, leaf first: what the peer sent and, where the
   * local CA store completed the path, its certificates up to the root (Node's
   * getPeerCertificate(true) chain), without duplicates.
   */
  readonly chain: readonly X509Certificate[];
  /** The TLSA RRset's owner (`_443._tcp.www.example.`), for messages. */
  readonly tlsaOwner: string;
  readonly records: readonly TlsaRdata[];
  /**
   * The names a certificate must carry for PKIX-TA, PKIX-EE and DANE-TA (RFC 7671 §5.1, §5.2.2;
   * RFC 7672 §3.2.2): the TLSA base domain first, then any other reference identifier (the
   * original name before CNAMEs, the MX host name). DANE-EE checks none (RFC 7671 §5.1).
   */
  readonly referenceNames: readonly string[];
  /** The TLS stack's PKIX verdict against the CA store (PKIX-TA and PKIX-EE need it, RFC 6698 §2.1.1). */
  readonly pkix: { readonly trusted: boolean; readonly error?: string | undefined };
  /** Usages the caller accepts; others are unusable. All four by default; SMTP takes only 2 and 3 (RFC 7672 §3.1.3). */
  readonly usages?: readonly number[] | undefined;
  readonly nowEpoch: number;
}

/** Why no record authenticated the peer; the most telling reason across all usable records. */
export type DaneFailureCode =
  /** Every record was unusable (unknown usage, selector or matching type; a usage not accepted): as if there were no TLSA (RFC 7671 §4.1). */
  | 'no-usable-tlsa'
  /** Usable records, none matched the certificates. */
  | 'tlsa-mismatch'
  /** A record matched, but the certificate does not carry a reference name. */
  | 'name-mismatch'
  /** A record matched, but the chain to it does not verify (signature, issuer, validity of the EE or intermediates). */
  | 'chain-invalid'
  /** A PKIX-TA or PKIX-EE record matched, but the CA store does not trust the chain. */
  | 'pkix-failed';

export type DaneVerdict =
  | {
    readonly ok: true;
    /** The record that authenticated the peer. */
    readonly record: TlsaRdata;
    /**
     * Where in `chain` the matched certificate sits (0 = the peer's own); -1 for a DANE-TA
     * anchor taken from the record itself ("2 1 0" bare key, "2 0 0" certificate) because the
     * peer did not send it.
     */
    readonly depth: number;
    /** The reference name the certificate carries; for DANE-EE the TLSA base domain (no name was checked). */
    readonly identity: string;
    /** Records that could not be used, with the reason (for logs). */
    readonly unusable: readonly string[];
  }
  | { readonly ok: false; readonly code: DaneFailureCode; readonly reason: string; readonly unusable: readonly string[] };
