/**
 * The one re-serialisation of an address the xfrm backend and the privileged helper share: a
 * plain address of `family` in its canonical text (dotted quad, RFC 5952 for IPv6, as inet_ntop
 * writes them), never the input text; undefined for anything else, a zone id included (`isIP`
 * accepts `fe80::1%eth0`, and a zone has no place in a policy). Each caller raises its own error.
 */
import { isIP, SocketAddress } from 'node:net';

export function canonicalAddressText(text: unknown, family: 4 | 6): string | undefined {
  if (typeof text !== 'string' || isIP(text) !== family || text.includes('%')) return undefined;
  const canonical = new SocketAddress({ address: text, family: family === 4 ? 'ipv4' : 'ipv6' }).address;
  return isIP(canonical) === family ? canonical : undefined;
}
