import { networkInterfaces } from 'node:os';

/** This host's interface addresses: loop detection with wildcard listeners, policy exclusions. */
export function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}
