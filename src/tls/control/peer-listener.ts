/**
 * The TCP listeners the daemon owns for the server side (`recv-tls LISTENER`, `accept LISTENER`):
 * each request is one accept(). Requests wait in order, at most `maxWaiting` per listener; a
 * request whose application hangs up leaves the queue at once. A peer that arrives while no
 * request waits is held (paused, unread) for a short while, like a kernel backlog, then dropped.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { ConfigError, errorMessage, ListenError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { hostPortText } from '../endpoint.js';

export interface ListenerSpec {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** recv-tls on this listener demands a client certificate (and checks it). */
  readonly requireCert: boolean;
}

/** Requests (recv-tls, accept) waiting on one listener. */
export const MAX_WAITING_PER_LISTENER = 64;
/** Peers held while no request waits. */
export const MAX_UNCLAIMED_PEERS = 16;
/** How long such a peer is held. */
export const UNCLAIMED_PEER_MS = 10_000;

const SPEC = /^([A-Za-z0-9_.-]{1,64})=(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+|localhost)):([0-9]{1,5})(,require-cert)?$/;

/** `NAME=ADDR:PORT[,require-cert]`, ADDR an IPv4 address or a bracketed IPv6 one. */
export function parseListenerSpec(text: string): ListenerSpec {
  const match = SPEC.exec(text);
  const port = Number(match?.[4]);
  if (!match || port > 65535) throw new ConfigError(`--listener ${JSON.stringify(text)}: expected NAME=ADDR:PORT[,require-cert] (IPv6 in brackets)`);
  return { name: match[1]!, host: match[2] ?? match[3]!, port, requireCert: match[5] !== undefined };
}

export class ListenerBusyError extends Error {}

interface Waiter {
  readonly resolve: (socket: Socket) => void;
  readonly reject: (error: unknown) => void;
}

export class PeerListener {
  private readonly waiting: Waiter[] = [];
  private readonly unclaimed = new Map<Socket, NodeJS.Timeout>();
  /** Every peer accepted and not yet closed, wherever it went: close() ends them all. */
  private readonly peers = new Set<Socket>();

  private constructor(readonly spec: ListenerSpec, private readonly server: Server, private readonly log: Logger, private readonly maxWaiting: number) {
    server.on('connection', (socket) => this.arrived(socket));
    server.on('error', (error) => log.error({ listener: spec.name, err: errorMessage(error) }, 'listener error'));
  }

  static async open(spec: ListenerSpec, log: Logger, maxWaiting = MAX_WAITING_PER_LISTENER): Promise<PeerListener> {
    // Paused on connect: nothing of the peer's (its ClientHello) is read before the TLS layer takes the socket.
    const server = createServer({ pauseOnConnect: true, allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new ListenError(`listener ${spec.name}: cannot listen on ${hostPortText(spec.host, spec.port)}: ${errorMessage(error)}`, { cause: error })));
      server.listen({ host: spec.host, port: spec.port }, () => resolve());
    });
    const listener = new PeerListener(spec, server, log, maxWaiting);
    log.info({ listener: spec.name, address: hostPortText(spec.host, listener.port), requireCert: spec.requireCert }, 'listener open');
    return listener;
  }

  /** The bound port (the one asked, or the kernel's choice for 0). */
  get port(): number {
    const bound = this.server.address();
    return bound !== null && typeof bound === 'object' ? bound.port : this.spec.port;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** The next peer. Throws ListenerBusyError when too many wait; rejects with the signal's reason on abort. */
  next(signal: AbortSignal): Promise<Socket> {
    signal.throwIfAborted();
    const [held] = this.unclaimed.keys();
    if (held) {
      this.claim(held);
      return Promise.resolve(held);
    }
    if (this.waiting.length >= this.maxWaiting) throw new ListenerBusyError(`${this.maxWaiting} requests already wait on listener ${this.spec.name}`);
    return new Promise<Socket>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.waiting.indexOf(waiter);
        if (at !== -1) this.waiting.splice(at, 1);
        reject(signal.reason);
      };
      const waiter: Waiter = {
        resolve: (socket) => {
          signal.removeEventListener('abort', onAbort);
          resolve(socket);
        },
        reject,
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** Stops listening, fails waiting requests and closes every peer it accepted (relayed ones too). */
  async close(reason: Error): Promise<void> {
    for (const waiter of this.waiting.splice(0)) waiter.reject(reason);
    for (const socket of [...this.unclaimed.keys()]) this.claim(socket);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.peers) socket.destroy();
    await closed;
  }

  private arrived(socket: Socket): void {
    socket.on('error', () => undefined);
    this.peers.add(socket);
    socket.once('close', () => this.peers.delete(socket));
    const waiter = this.waiting.shift();
    if (waiter) {
      waiter.resolve(socket);
      return;
    }
    if (this.unclaimed.size >= MAX_UNCLAIMED_PEERS) {
      this.log.debug({ listener: this.spec.name }, 'peer dropped: nobody waits and the hold queue is full');
      socket.destroy();
      return;
    }
    const timer = setTimeout(() => {
      this.claim(socket);
      socket.destroy();
    }, UNCLAIMED_PEER_MS);
    timer.unref();
    this.unclaimed.set(socket, timer);
    socket.once('close', () => this.claim(socket));
  }

  private claim(socket: Socket): void {
    const timer = this.unclaimed.get(socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.unclaimed.delete(socket);
  }
}
