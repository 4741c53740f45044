import { isIP } from 'node:net';
import type { Endpoint } from './endpoint.js';

/** The `nameserver` lines of a resolv.conf(5) text, each on port 53 (glibc has no port syntax). */
export function parseResolvConf(text: string): Endpoint[] {
  const servers: Endpoint[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!match) continue;
    // A link-local server keeps its zone index (fe80::1%eth0): without it the address is unreachable.
    const address = match[1]!;
    const family = isIP(address);
    if (family === 4 || family === 6) servers.push({ address, port: 53, family });
  }
  return servers;
}
