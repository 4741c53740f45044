/**
 * `oedns tunnel server` (stunnel's server mode): TLS in on ADDR:PORT with this side's certificate,
 * the client's certificate checked by the engine (by its key server for a user, by DANE for a
 * domain; required or not), then plaintext to a local service at --forward.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../core/log.js';
import { errorMessage } from '../core/errors.js';
import { hostPortText, type HostPort } from './endpoint.js';
import { connectTcp } from './handshake.js';
import { relay } from './relay.js';
import { TlsError, type TlsEngine, type TlsFlags } from './session.js';
import { startTunnelListener, type Tunnel } from './tunnel-listener.js';

/** The plaintext service is local: it answers at once or not at all. */
const FORWARD_CONNECT_TIMEOUT_MS = 5000;

export interface TunnelServerOptions {
  readonly engine: TlsEngine;
  readonly log: Logger;
  readonly listen: HostPort;
  readonly forward: HostPort;
  readonly requireClientCertificate: boolean;
  readonly flags: TlsFlags;
  readonly maxConnections?: number | undefined;
}

export function startTunnelServer(options: TunnelServerOptions): Promise<Tunnel> {
  const { engine, log, forward, flags } = options;
  const forwardText = hostPortText(forward.host, forward.port);
  const handle = async (tcp: Socket, signal: AbortSignal): Promise<void> => {
    const client = hostPortText(tcp.remoteAddress ?? '?', tcp.remotePort ?? 0);
    let session;
    try {
      session = await engine.upgradeServer(tcp, { requireClientCertificate: options.requireClientCertificate }, flags, signal);
    } catch (error) {
      if (signal.aborted) return;
      if (!(error instanceof TlsError)) throw error;
      log.warn({ client, reply: error.reply, reason: error.message }, 'tunnel refused');
      return;
    }
    let plain: Socket;
    try {
      plain = await connectTcp(forward.host, forward.port, FORWARD_CONNECT_TIMEOUT_MS, signal, { allowHalfOpen: true });
    } catch (error) {
      log.error({ client, forward: forwardText, err: errorMessage(error) }, 'tunnel forward failed');
      session.socket.destroy();
      return;
    }
    log.info({ client, identity: session.identity, method: session.method, forward: forwardText }, 'tunnel open');
    const result = await relay(session.socket, plain);
    log.info({ client, identity: session.identity, sent: session.socket.bytesWritten, received: session.socket.bytesRead, err: result.error?.message }, 'tunnel closed');
  };
  return startTunnelListener(options.listen, log, handle, options.maxConnections);
}
