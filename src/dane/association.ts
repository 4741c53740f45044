/**
 * TLSA records against certificates: which records can be used at all, and whether a record's
 * certificate association data matches a certificate (RFC 6698 §2.1.2 selector, §2.1.3 matching
 * type). Glossary: the "selected content" is the whole certificate (selector Cert(0)) or its
 * SubjectPublicKeyInfo (SPKI(1)), both in DER; the "association data" is that content itself
 * (Full(0)) or its SHA-256 (1) or SHA-512 (2) digest.
 */
import { createHash, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { TlsaMatchingType, TlsaSelector, TlsaUsage, type TlsaRdata } from '../records/index.js';

/** All four usages of RFC 6698 §2.1.1; callers narrow it (SMTP: DANE-TA and DANE-EE, RFC 7672 §3.1.3). */
export const ALL_USAGES: readonly number[] = [TlsaUsage.PkixTa, TlsaUsage.PkixEe, TlsaUsage.DaneTa, TlsaUsage.DaneEe];

const KNOWN_SELECTORS: ReadonlySet<number> = new Set([TlsaSelector.Cert, TlsaSelector.Spki]);
const DIGESTS: ReadonlyMap<number, string> = new Map([[TlsaMatchingType.Sha256, 'sha256'], [TlsaMatchingType.Sha512, 'sha512']]);

/** Hex characters of the association data shown in messages; enough to tell records apart. */
const LABEL_HEX_CHARS = 12;

/** `3 1 1 0C72AC70B745…`: how messages and logs name a record. */
export function recordLabel(record: TlsaRdata): string {
  const hex = Buffer.from(record.data).toString('hex').toUpperCase();
  const shown = hex.length > LABEL_HEX_CHARS ? `${hex.slice(0, LABEL_HEX_CHARS)}…` : hex;
  return `${record.usage} ${record.selector} ${record.matchingType} ${shown}`;
}

/** A certificate for messages: its subject on one line, e.g. `CN=www.example.test`. */
export function certLabel(cert: X509Certificate): string {
  return cert.subject.split('\n').join(', ');
}

/**
 * A usable record, with what its Full(0) data decodes to: the certificate (selector 0) or the
 * public key (selector 1). DANE-TA uses them when the trust anchor is not in the chain.
 */
export interface UsableRecord {
  readonly record: TlsaRdata;
  readonly label: string;
  readonly fullCert?: X509Certificate | undefined;
  readonly fullKey?: KeyObject | undefined;
}

export type Usability = { readonly usable: true; readonly value: UsableRecord } | { readonly usable: false; readonly reason: string };

/**
 * RFC 7671 §4.1, RFC 7672 §2.2: records with a usage, selector or matching type the client
 * does not support, or with malformed association data, are "unusable" and are ignored; an
 * RRset with no usable record counts as no TLSA at all. Digest lengths were checked when the
 * record was decoded (records/tlsa.ts); Full(0) data must parse as what the selector names,
 * as OpenSSL requires (it skips such records as "unusable TLSA rrdata").
 */
export function usability(record: TlsaRdata, usages: readonly number[]): Usability {
  const label = recordLabel(record);
  const unusable = (why: string): Usability => ({ usable: false, reason: `${label}: ${why}` });
  if (!ALL_USAGES.includes(record.usage)) return unusable(`certificate usage ${record.usage} is not supported`);
  if (!usages.includes(record.usage)) return unusable(`certificate usage ${record.usage} is not accepted here`);
  if (!KNOWN_SELECTORS.has(record.selector)) return unusable(`selector ${record.selector} is not supported`);
  if (record.matchingType !== TlsaMatchingType.Full && !DIGESTS.has(record.matchingType)) {
    return unusable(`matching type ${record.matchingType} is not supported`);
  }
  if (record.matchingType !== TlsaMatchingType.Full) return { usable: true, value: { record, label } };
  try {
    const data = Buffer.from(record.data);
    return record.selector === TlsaSelector.Cert
      ? { usable: true, value: { record, label, fullCert: new X509Certificate(data) } }
      : { usable: true, value: { record, label, fullKey: createPublicKey({ key: data, format: 'der', type: 'spki' }) } };
  } catch {
    return unusable(`the data is not a DER ${record.selector === TlsaSelector.Cert ? 'certificate' : 'SubjectPublicKeyInfo'}`);
  }
}

/** The selected content of a certificate (RFC 6698 §2.1.2), in DER. */
export function selectedContent(cert: X509Certificate, selector: number): Uint8Array {
  if (selector === TlsaSelector.Cert) return new Uint8Array(cert.raw);
  return new Uint8Array(cert.publicKey.export({ type: 'spki', format: 'der' }));
}

/** Whether the record's association data matches the certificate (RFC 6698 §2.1.3). */
export function matchesCert(record: TlsaRdata, cert: X509Certificate): boolean {
  const selected = selectedContent(cert, record.selector);
  const digest = DIGESTS.get(record.matchingType);
  const computed = digest === undefined ? selected : new Uint8Array(createHash(digest).update(selected).digest());
  return Buffer.from(computed).equals(Buffer.from(record.data));
}
