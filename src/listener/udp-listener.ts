import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Endpoint } from '../config/index.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { listenError } from './bind-error.js';
import type { QueryHandler } from './handler.js';

/** Queries answered at once per UDP socket; beyond this new ones are dropped (the client retries). */
const MAX_INFLIGHT_UDP = 5000;

export class UdpListener {
  private socket: Socket | undefined;
  private inflight = 0;

  constructor(readonly endpoint: Endpoint, private readonly handler: QueryHandler, private readonly log: Logger) {}

  async start(): Promise<void> {
    const socket = createSocket({ type: this.endpoint.family === 6 ? 'udp6' : 'udp4', ipv6Only: this.endpoint.family === 6 });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (error) => reject(listenError(this.endpoint, 'udp', error)));
      socket.bind({ address: this.endpoint.address, port: this.endpoint.port, exclusive: true }, () => {
        socket.removeAllListeners('error');
        resolve();
      });
    });
    socket.on('error', (error) => this.log.error({ err: errorMessage(error) }, 'UDP socket error'));
    // No send callback: without one Node can complete a send synchronously. Failures surface as
    // the socket's 'error' event.
    const send = (reply: Uint8Array | undefined, rinfo: RemoteInfo): void => {
      if (reply) socket.send(reply, rinfo.port, rinfo.address);
    };
    socket.on('message', (bytes, rinfo) => {
      if (this.inflight >= MAX_INFLIGHT_UDP) return;
      // A Buffer is a Uint8Array; the pipeline reads it without copying.
      const query: Uint8Array = bytes;
      let result: ReturnType<QueryHandler>;
      try {
        result = this.handler(query, { address: rinfo.address, port: rinfo.port, transport: 'udp' });
      } catch (error) {
        this.log.error({ err: errorMessage(error) }, 'query handler failed');
        return;
      }
      if (!(result instanceof Promise)) {
        send(result, rinfo);
        return;
      }
      this.inflight += 1;
      result
        .then((reply) => send(reply, rinfo))
        .catch((error: unknown) => this.log.error({ err: errorMessage(error) }, 'query handler failed'))
        .finally(() => { this.inflight -= 1; });
    });
    this.socket = socket;
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
