/**
 * The TLS engine every front end drives (tunnels, the control socket, tls-exec, SMTP STARTTLS):
 * client side in client-side.ts, server side in server-side.ts, over the DNS rules of
 * host-lookup.ts and the checks of authenticate.ts. One engine holds one CA store, one server
 * context, one client context and one pin cache for the life of the process.
 */
import type { SecureContext } from 'node:tls';
import { errorMessage } from '../core/errors.js';
import { loadCaStore } from './ca-store.js';
import { PinCache } from './cache.js';
import { connectClient, upgradeClientSocket, type ClientContext } from './client-side.js';
import { clientContext, serverContext } from './handshake.js';
import { upgradeServerSocket, type ServerContext } from './server-side.js';
import { ReplyCode } from './reply-codes.js';
import { TlsError, type TlsEngine, type TlsEngineDeps } from './session.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

export interface TlsEngineOptions {
  /** Pins kept (cache.ts); default 10,000. */
  readonly maxPins?: number;
  /** Where the system's CA bundle is; tests point it elsewhere. */
  readonly systemCaBundle?: string;
}

export function createTlsEngine(deps: TlsEngineDeps, options: TlsEngineOptions = {}): TlsEngine {
  const nowMs = deps.nowMs ?? Date.now;
  const ca = loadCaStore(deps.caPem, options.systemCaBundle);
  const pins = new PinCache(options.maxPins, nowMs);
  const handshakeTimeoutMs = deps.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  let context: SecureContext | undefined;
  let contextError: string | undefined;
  if (deps.credentials) {
    try {
      context = serverContext(deps.credentials, ca.pem);
    } catch (error) {
      // A client-only engine still works; recv-tls then says why it cannot.
      contextError = errorMessage(error);
    }
  }
  let outbound: SecureContext | string;
  try {
    outbound = clientContext(ca.pem, deps.credentials);
  } catch (error) {
    outbound = `this side's certificate and key cannot be used: ${errorMessage(error)}`;
  }
  deps.log.debug({ caSource: ca.source, serverCertificate: context !== undefined }, 'tls engine ready');
  const client: ClientContext = { deps, context: outbound, pins, connectTimeoutMs: deps.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, handshakeTimeoutMs, nowMs };
  const server: ServerContext = { deps, context, pins, handshakeTimeoutMs, nowMs };
  return {
    connect: (target, flags, signal) => connectClient(client, target, flags, signal),
    upgradeClient: (socket, target, flags, signal) => upgradeClientSocket(client, socket, target, flags, signal),
    upgradeServer: (socket, upgrade, flags, signal) => {
      if (contextError !== undefined) {
        socket.destroy();
        return Promise.reject(new TlsError(ReplyCode.Internal, `the server certificate and key cannot be used: ${contextError}`));
      }
      return upgradeServerSocket(server, socket, upgrade, flags, signal);
    },
  };
}
