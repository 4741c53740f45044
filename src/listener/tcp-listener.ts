/**
 * DNS over TCP for clients (RFC 7766): 2-byte length framing, several queries per connection
 * answered as they complete (possibly out of order, §6.2.1.1), an idle timeout, a connection
 * cap, a deadline for each message to arrive whole, and a cap on queries in progress per
 * connection (reading pauses until one finishes).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Endpoint } from '../config/index.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { FrameReader, frame } from '../wire/index.js';
import { listenError } from './bind-error.js';
import type { QueryHandler } from './handler.js';

const MAX_INFLIGHT_PER_CONNECTION = 32;

export interface TcpOptions {
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
}

export class TcpListener {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly endpoint: Endpoint,
    private readonly handler: QueryHandler,
    private options: TcpOptions,
    private readonly log: Logger,
  ) {}

  reconfigure(options: TcpOptions): void {
    this.options = options;
    if (this.server) this.server.maxConnections = options.maxConnections;
  }

  async start(): Promise<void> {
    const server = createServer((socket) => this.serve(socket));
    server.maxConnections = this.options.maxConnections;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(listenError(this.endpoint, 'tcp', error)));
      server.listen({ host: this.endpoint.address, port: this.endpoint.port, ipv6Only: this.endpoint.family === 6, exclusive: true }, () => {
        server.removeAllListeners('error');
        resolve();
      });
    });
    server.on('error', (error) => this.log.error({ err: errorMessage(error) }, 'TCP server error'));
    this.server = server;
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    const frames = new FrameReader();
    const client = { address: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0, transport: 'tcp' as const };
    let inflight = 0;
    let partialTimer: NodeJS.Timeout | undefined;
    socket.setNoDelay(true);
    // RFC 7766 §6.2.3: close idle connections.
    socket.setTimeout(this.options.idleTimeoutMs, () => {
      if (inflight === 0) socket.destroy();
    });
    socket.on('error', (error) => this.log.debug({ client: client.address, err: errorMessage(error) }, 'TCP client error'));
    socket.on('close', () => {
      clearTimeout(partialTimer);
      this.sockets.delete(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      const queries = frames.push(chunk);
      // A message must arrive whole within the idle timeout of its first byte, so a client
      // trickling a byte at a time cannot hold a connection open forever.
      if (queries.length > 0 || frames.buffered === 0) {
        clearTimeout(partialTimer);
        partialTimer = undefined;
      }
      if (frames.buffered > 0) partialTimer ??= setTimeout(() => socket.destroy(), this.options.idleTimeoutMs);
      for (const query of queries) {
        inflight += 1;
        if (inflight >= MAX_INFLIGHT_PER_CONNECTION) socket.pause();
        Promise.resolve()
          .then(() => this.handler(query, client))
          .then((reply) => {
            if (reply && !socket.destroyed) socket.write(frame(reply));
          })
          .catch((error: unknown) => this.log.error({ err: errorMessage(error) }, 'query handler failed'))
          .finally(() => {
            inflight -= 1;
            if (inflight < MAX_INFLIGHT_PER_CONNECTION && socket.isPaused()) socket.resume();
          });
      }
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}
