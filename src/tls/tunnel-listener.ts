/**
 * What both tunnels share: a TCP listener whose connections are counted, handed to a handler
 * with a signal that aborts on close, and all destroyed on close (SIGTERM). A handler's failure
 * is logged and costs only its own connection, never the process.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { ListenError } from '../core/errors.js';
import { hostPortText, type HostPort } from './endpoint.js';
import { ignore, STREAM_HIGH_WATER_MARK } from './handshake.js';

/** Connections served at once; more wait in the kernel's backlog until one ends. */
export const DEFAULT_MAX_CONNECTIONS = 1000;

export interface Tunnel {
  readonly address: string;
  readonly port: number;
  /** Connections open now. */
  connections(): number;
  /** Stops listening, aborts handshakes under way, destroys every connection. */
  close(): Promise<void>;
}

export type ConnectionHandler = (socket: Socket, signal: AbortSignal) => Promise<void>;

export function startTunnelListener(listen: HostPort, log: Logger, handle: ConnectionHandler, maxConnections = DEFAULT_MAX_CONNECTIONS): Promise<Tunnel> {
  const open = new Set<Socket>();
  const stopping = new AbortController();
  // allowHalfOpen: a client's end is passed on as the end of its writing, not of the connection
  // (relay.ts). What a client sends before its peer is ready waits in the socket's buffer.
  // noDelay: the relay forwards whole reads; Nagle would hold a short one (a reply line) until
  // the previous segment is acknowledged, which costs interactive protocols a round trip or more.
  const server: Server = createServer({ allowHalfOpen: true, noDelay: true, highWaterMark: STREAM_HIGH_WATER_MARK }, (socket) => {
    open.add(socket);
    socket.on('error', ignore);
    socket.once('close', () => open.delete(socket));
    const client = hostPortText(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
    handle(socket, stopping.signal).catch((error: unknown) => {
      log.error({ client, err: errorMessage(error) }, 'tunnel connection failed');
    }).finally(() => socket.destroy());
  });
  server.maxConnections = maxConnections;
  server.on('error', (error) => log.error({ err: errorMessage(error) }, 'tunnel listener error'));
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= new Promise<void>((resolve) => {
    stopping.abort(new Error('the tunnel is closing'));
    server.close(() => resolve());
    for (const socket of open) socket.destroy();
  }));
  return new Promise((resolve, reject) => {
    server.once('error', (error) => reject(new ListenError(`cannot listen on ${hostPortText(listen.host, listen.port)}: ${errorMessage(error)}`, { cause: error })));
    server.listen({ host: listen.host, port: listen.port }, () => {
      const bound = server.address();
      const port = typeof bound === 'object' && bound ? bound.port : listen.port;
      log.info({ listen: hostPortText(listen.host, port) }, 'tunnel listening');
      resolve({ address: listen.host, port, connections: () => open.size, close });
    });
  });
}
