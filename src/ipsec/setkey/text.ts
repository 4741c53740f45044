/**
 * The only ways a value gets into a setkey script, a racoon file or a command line here: an
 * address is parsed and written out again (never copied as text), a name must be a DNS hostname
 * (letters, digits, hyphens, dots) and a path must be absolute and free of quotes, control
 * characters and whitespace. Anything else is refused with a BackendError before any file is
 * written or any program runs. Unbound's ipsecmod copied DNS text into a shell command and became
 * CVE-2019-18934; this module is why oedns cannot.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { BackendError } from '../../core/errors.js';

/** RFC 1035 §2.3.4: a name is at most 255 octets on the wire, so at most 253 characters as text. */
const MAX_HOSTNAME_CHARS = 253;
/** RFC 1035 §2.3.4: labels are 63 octets or less. */
const MAX_LABEL_CHARS = 63;
/** RFC 952 / RFC 1123 §2.1 hostname label: letters, digits, hyphens, not starting or ending with a hyphen. */
const HOSTNAME_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/**
 * Re-serialises an address of the given family: IPv4 from its four octets, IPv6 in RFC 5952 text.
 * Throws for anything that is not a plain address of that family (zone ids, prefixes, whitespace).
 */
export function canonicalAddress(text: string, family: 4 | 6): string {
  if (family === 4) {
    if (!isIPv4(text)) throw new BackendError(`not an IPv4 address: ${JSON.stringify(text)}`);
    return text.split('.').map((octet) => String(Number.parseInt(octet, 10))).join('.');
  }
  if (!isIPv6(text) || text.includes('%')) throw new BackendError(`not an IPv6 address: ${JSON.stringify(text)}`);
  // The WHATWG URL parser serialises an IPv6 host per RFC 5952 (lowercase, longest zero run as ::).
  const host = new URL(`http://[${text}]/`).hostname;
  return host.slice(1, -1);
}

/**
 * A DNS name as an IKE identity and file name stem: lowercase hostname syntax without the final
 * dot (`alice.lab.example`). Throws for anything else: underscores, spaces, quotes, newlines.
 */
export function hostnameOf(name: string): string {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  const labels = bare.split('.');
  const ok = bare.length > 0 && bare.length <= MAX_HOSTNAME_CHARS
    && labels.every((label) => label.length <= MAX_LABEL_CHARS && HOSTNAME_LABEL.test(label));
  if (!ok) throw new BackendError(`not a hostname, refused as an IKE identity: ${JSON.stringify(name)}`);
  return bare;
}

/** An absolute path that can stand inside racoon's double quotes (its lexer has no escapes). */
export function safePath(path: string): string {
  // racoon's QUOTEDSTRING ends at the next '"' and knows no escapes; keep to a plain charset.
  if (!/^\/[A-Za-z0-9._/+-]*$/.test(path) || path.split('/').includes('..')) {
    throw new BackendError(`path refused for a racoon file (absolute, [A-Za-z0-9._/+-] only): ${JSON.stringify(path)}`);
  }
  return path;
}
