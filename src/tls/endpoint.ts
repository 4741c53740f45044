/** `HOST:PORT` arguments of the TLS commands: `127.0.0.1:8443`, `[::1]:8443`, `www.example.test:443`. */
import { ConfigError } from '../core/errors.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export function parseHostPort(text: string, what: string): HostPort {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:\s]+):(\d+)$/.exec(text);
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new ConfigError(`${what} "${text}" is not HOST:PORT (a port 1-65535; IPv6 as [::1]:PORT)`);
  }
  return { host: match[1]!, port };
}

/** The inverse, for logs: `[::1]:8443`. */
export function hostPortText(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
