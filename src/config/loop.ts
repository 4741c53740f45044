/**
 * Forwarding loop detection at startup: an upstream that is one of oedns' own listening sockets
 * would make every query chase itself. Runtime loops through a third resolver are caught by
 * the pipeline (identical in-flight queries are merged, so a loop ends in a timeout, not a spin).
 */
import { ForwardingLoopError } from '../core/errors.js';
import { formatEndpoint, type Endpoint } from './endpoint.js';

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** Normalises `::ffff:127.0.0.1` to `127.0.0.1` and lowercases IPv6 text for comparison. */
function comparable(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address.toLowerCase();
}

/** True when a query sent to `upstream` would arrive at the socket bound to `listen`. */
export function reachesListener(upstream: Endpoint, listen: Endpoint, localAddresses: readonly string[]): boolean {
  if (upstream.port !== listen.port) return false;
  const target = comparable(upstream.address);
  if (isWildcard(listen.address)) {
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
