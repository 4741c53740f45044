/**
 * `oedns tunnel client` (seed 000 §4.4, stunnel's client mode): plaintext in on a local port, TLS
 * out to NAME:PORT, the server authenticated by the engine (DANE unless the flags say otherwise).
 * A connection the engine refuses is closed at once, and the reply code logged: the plaintext
 * client never talks to an unauthenticated server.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../core/log.js';
import { hostPortText, type HostPort } from './endpoint.js';
import { relay } from './relay.js';
import { TlsError, type ConnectTarget, type TlsEngine, type TlsFlags } from './session.js';
import { startTunnelListener, type Tunnel } from './tunnel-listener.js';

export interface TunnelClientOptions {
  readonly engine: TlsEngine;
  readonly log: Logger;
  readonly listen: HostPort;
  readonly connect: ConnectTarget;
  readonly flags: TlsFlags;
  readonly maxConnections?: number | undefined;
}

/**
 * A signal that aborts when the plaintext client is gone before its tunnel is up: its socket
 * closed (a reset, an error), or it ended having sent nothing. A paused socket emits 'end' only
 * once everything before the FIN has been read, so a client that sent bytes and then half-closed
 * keeps its tunnel: those bytes, and the reply, still go through.
 */
function whileClientWaits(plain: Socket, signal: AbortSignal): { readonly signal: AbortSignal; readonly release: () => void } {
  const gone = new AbortController();
  const onGone = (): void => gone.abort(new Error('the plaintext client left before the tunnel was up'));
  plain.once('close', onGone);
  plain.once('end', onGone);
  return {
    signal: AbortSignal.any([signal, gone.signal]),
    release: () => {
      plain.off('close', onGone);
      plain.off('end', onGone);
    },
  };
}

export function startTunnelClient(options: TunnelClientOptions): Promise<Tunnel> {
  const { engine, log, connect, flags } = options;
  const handle = async (plain: Socket, signal: AbortSignal): Promise<void> => {
    const client = hostPortText(plain.remoteAddress ?? '?', plain.remotePort ?? 0);
    const waiting = whileClientWaits(plain, signal);
    let session;
    try {
      session = await engine.connect(connect, flags, waiting.signal);
    } catch (error) {
      if (waiting.signal.aborted) {
        if (!signal.aborted) log.debug({ client, peer: connect.name, port: connect.port }, 'client left; tunnel abandoned');
        return;
      }
      if (!(error instanceof TlsError)) throw error;
      log.warn({ client, peer: connect.name, port: connect.port, reply: error.reply, reason: error.message }, 'tunnel refused');
      return;
    } finally {
      waiting.release();
    }
    if (waiting.signal.aborted) {
      // The session came up in the same turn as the client left.
      session.socket.destroy();
      return;
    }
    log.info({ client, peer: connect.name, port: connect.port, identity: session.identity, method: session.method, dnssec: session.dnssec }, 'tunnel open');
    const result = await relay(plain, session.socket);
    log.info({ client, peer: connect.name, sent: session.socket.bytesWritten, received: session.socket.bytesRead, err: result.error?.message }, 'tunnel closed');
  };
  return startTunnelListener(options.listen, log, handle, options.maxConnections);
}
