import { isIP } from 'node:net';
import { ConfigError } from '../core/errors.js';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** `192.0.2.1`, `192.0.2.1:5353`, `::1`, `[::1]:5353` → Endpoint. */
export function parseEndpoint(text: string, defaultPort: number, what: string): Endpoint {
  const trimmed = text.trim();
  let address = trimmed;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  if (bracketed) {
    address = bracketed[1]!;
    portText = bracketed[2];
  } else if (isIP(trimmed) === 0) {
    const colon = trimmed.lastIndexOf(':');
    if (colon > 0 && isIP(trimmed.slice(0, colon)) === 4) {
      address = trimmed.slice(0, colon);
      portText = trimmed.slice(colon + 1);
    }
  }
  const family = isIP(address);
  if (family !== 4 && family !== 6) {
    throw new ConfigError(`${what} "${text}" is not an IP address (write 192.0.2.1, 192.0.2.1:5353, ::1 or [::1]:5353)`);
  }
  if (bracketed && family !== 6) throw new ConfigError(`${what} "${text}": only IPv6 addresses go in brackets`);
  const port = portText === undefined ? defaultPort : Number(portText);
  if (!/^\d+$/.test(String(portText ?? port)) || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(`${what} "${text}" has an invalid port`);
  }
  return { address, port, family };
}

export function formatEndpoint(endpoint: Endpoint): string {
  return endpoint.family === 6 ? `[${endpoint.address}]:${endpoint.port}` : `${endpoint.address}:${endpoint.port}`;
}
