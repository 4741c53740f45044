import { formatEndpoint, type Endpoint } from '../config/index.js';
import { ListenError } from '../core/errors.js';

/** Turns a bind failure into a message that names the fix. */
export function listenError(endpoint: Endpoint, transport: 'udp' | 'tcp', error: unknown): ListenError {
  const where = `${formatEndpoint(endpoint)} (${transport})`;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  let advice: string;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      advice = `permission denied. Ports below 1024 need root or CAP_NET_BIND_SERVICE ` +
        `(setcap cap_net_bind_service=+ep "$(command -v node)"), or listen on a high port: --listen ${endpoint.family === 6 ? '[::1]' : '127.0.0.1'}:5353`;
      break;
    case 'EADDRINUSE':
      advice = 'address already in use: another DNS server (systemd-resolved, dnsmasq, unbound, an earlier oedns) listens there; stop it or choose another --listen ADDR:PORT';
      break;
    case 'EADDRNOTAVAIL':
      advice = 'this host has no such address; choose one of its own addresses with --listen ADDR:PORT';
      break;
    case 'EAFNOSUPPORT':
      advice = 'this host has IPv6 switched off; listen on an IPv4 address only';
      break;
    default:
      advice = (error as Error | undefined)?.message ?? String(error);
  }
  return new ListenError(`cannot listen on ${where}: ${advice}`, { cause: error });
}
