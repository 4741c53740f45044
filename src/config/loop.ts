/**
 * Forwarding loop detection at startup: an upstream that is one of oedns' own listening sockets
 * would make every query chase itself. Runtime loops through a third resolver are caught by
 * the pipeline (identical in-flight queries are merged, so a loop ends in a timeout, not a spin).
 */
import { isIP } from 'node:net';
import { ForwardingLoopError } from '../core/errors.js';
import { formatEndpoint, type Endpoint } from './endpoint.js';

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/**
 * One spelling per address: `::ffff:127.0.0.1` → `127.0.0.1`, and IPv6 in its RFC 5952 form
 * (`0:0:0:0:0:0:0:1` → `::1`), which the WHATWG URL parser produces.
 */
function comparable(address: string): string {
  const [bare, zone] = address.split('%', 2) as [string, string | undefined];
  if (isIP(bare) !== 6) return bare;
  const canonical = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(canonical) ?? /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(canonical);
  if (mapped && mapped.length === 2) return mapped[1]!;
  if (mapped && mapped.length === 3) {
    const high = parseInt(mapped[1]!, 16);
    const low = parseInt(mapped[2]!, 16);
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  return zone ? `${canonical}%${zone}` : canonical;
}

function familyOf(address: string): 4 | 6 {
  return isIP(comparable(address)) === 4 ? 4 : 6;
}

/** True when a query sent to `upstream` would arrive at the socket bound to `listen`. */
export function reachesListener(upstream: Endpoint, listen: Endpoint, localAddresses: readonly string[]): boolean {
  if (upstream.port !== listen.port) return false;
  const target = comparable(upstream.address);
  if (isWildcard(listen.address)) {
    // oedns opens IPv6 sockets IPv6-only, so 0.0.0.0 covers IPv4 addresses and :: IPv6 ones.
    const family = listen.address === '::' ? 6 : 4;
    if (familyOf(target) !== family) return false;
    const local = localAddresses.map(comparable);
    return local.includes(target) || target.startsWith('127.') || target === '::1' || isWildcard(target);
  }
  return comparable(listen.address) === target;
}

export function selfReferences(upstreams: readonly Endpoint[], listen: readonly Endpoint[], localAddresses: readonly string[]): Endpoint[] {
  return upstreams.filter((u) => listen.some((l) => reachesListener(u, l, localAddresses)));
}

/** Throws when an explicitly configured upstream is oedns itself. */
export function assertNoLoop(upstreams: readonly Endpoint[], listen: readonly Endpoint[], localAddresses: readonly string[]): void {
  const loops = selfReferences(upstreams, listen, localAddresses);
  if (loops.length > 0) {
    throw new ForwardingLoopError(
      `upstream ${loops.map(formatEndpoint).join(', ')} is oedns' own listening address: queries would loop back to oedns. ` +
      'Give an upstream that is another resolver (--upstream IP[:PORT]).',
    );
  }
}
