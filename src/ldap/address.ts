/**
 * The user's e-mail address, as a certificate names it (RFC 5280 §4.2.1.6 rfc822Name: an RFC 5321
 * Mailbox, ASCII). Parsed strictly before anything is looked up: only `dot-atom@host-name`
 * (RFC 5322 §3.2.3 atext, RFC 1123 §2.1 host names). Quoted local parts, address literals and
 * non-ASCII are refused rather than guessed at; the domain becomes a DNS name and an LDAP base DN,
 * the whole address an LDAP filter value, so nothing unchecked reaches either.
 */

/** RFC 5321 §4.5.3.1.1 and §4.5.3.1.2: the size limits of a local part and a domain. */
const MAX_LOCAL_PART_BYTES = 64;
const MAX_DOMAIN_BYTES = 253;

/** RFC 5322 §3.2.3 atext: letters, digits and these. */
const ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/;

/** RFC 1123 §2.1 label: letters, digits, hyphens inside, 1..63. */
const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export interface UserAddress {
  /** The local part as written (RFC 5321 §2.4: it may be case-sensitive). */
  readonly localPart: string;
  /** The domain in lower case, without a trailing dot. */
  readonly domain: string;
  /** `localPart@domain`: the identity reported, the cache key and the LDAP filter value. */
  readonly address: string;
}

export type AddressResult = { readonly ok: true; readonly value: UserAddress } | { readonly ok: false; readonly reason: string };

const refuse = (reason: string): AddressResult => ({ ok: false, reason });

/** Is `name` (no trailing dot) a host name of two or more labels whose top label is not all digits? */
export function isHostName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_DOMAIN_BYTES) return false;
  const labels = name.split('.');
  // A single label (`localhost`) is not a mail domain; an all-numeric top label is an address.
  if (labels.length < 2 || /^[0-9]+$/.test(labels[labels.length - 1]!)) return false;
  return labels.every((label) => HOST_LABEL.test(label));
}

export function parseUserAddress(text: string): AddressResult {
  if (!/^[\x21-\x7e]+$/.test(text)) return refuse('not printable ASCII without blanks');
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) return refuse('not local@domain');
  const localPart = text.slice(0, at);
  const domain = text.slice(at + 1);
  if (localPart.length > MAX_LOCAL_PART_BYTES) return refuse(`local part longer than ${MAX_LOCAL_PART_BYTES} bytes`);
  if (!localPart.split('.').every((atom) => ATOM.test(atom))) return refuse('local part is not a dot-atom (RFC 5322 §3.2.3)');
  if (domain.startsWith('[')) return refuse('address literals have no key server');
  if (!isHostName(domain)) return refuse('domain is not a host name (RFC 1123 §2.1)');
  const lower = domain.toLowerCase();
  return { ok: true, value: { localPart, domain: lower, address: `${localPart}@${lower}` } };
}

/** `ldap.test` → `dc=ldap,dc=test` (RFC 2247 §4); host-name labels need no DN escaping (RFC 4514 §2.4). */
export function baseDnOf(domain: string): string {
  return domain.split('.').map((label) => `dc=${label}`).join(',');
}
