/**
 * A VICI client over charon's UNIX socket. The README's rules it keeps:
 * - "There is no sequence number to associate responses to requests, so only one command can be
 *   active at a time on a single connection": every exchange (command, event (un)registration,
 *   a streamed listing with its registration) is a job in one FIFO queue, run one at a time.
 * - "Events may get raised at any time while registered, even during an active request command":
 *   EVENT packets go to listeners and never answer the job in flight.
 * When charon restarts the client reconnects with exponential backoff and registers its events
 * again before anything else runs; conns and keys loaded before are gone with the old charon, so
 * owners learn of it through `onConnectionChange('connected')` and reload.
 */
import { createConnection, type Socket } from 'node:net';
import type { Logger } from '../../core/log.js';
import { decodeViciPacket, encodeViciPacket, ViciFrameReader, ViciPacketType, type ViciPacket, type ViciTree } from './vici-codec.js';
import { ViciCommandError, ViciConnectionError, ViciProtocolError } from './vici-errors.js';

export interface ViciClientOptions {
  /** charon's socket, `charon.plugins.vici.socket` (default `/var/run/charon.vici`). */
  readonly socketPath: string;
  readonly reconnectInitialDelayMs?: number;
  readonly reconnectMaxDelayMs?: number;
  /** Told when the socket goes away and when it is back (events already registered again). */
  readonly onConnectionChange?: (state: 'connected' | 'disconnected') => void;
  readonly log?: Logger;
}

export type ViciEventListener = (message: ViciTree, name: string) => void;

/** One exchange; `send` writes a packet and resolves with the next non-EVENT packet. */
type Exchange = (packet: ViciPacket) => Promise<ViciPacket>;

interface Job {
  readonly run: (exchange: Exchange) => Promise<void>;
  readonly fail: (error: unknown) => void;
  readonly signal: AbortSignal;
}

const DEFAULT_INITIAL_DELAY_MS = 100;
const DEFAULT_MAX_DELAY_MS = 5_000;

export class ViciClient {
  private socket: Socket | undefined;
  private readonly queue: Job[] = [];
  private running: Job | undefined;
  private reply: { resolve: (p: ViciPacket) => void; reject: (e: unknown) => void } | undefined;
  private readonly listeners = new Map<string, Set<ViciEventListener>>();
  private readonly registered = new Set<string>();
  private reconnectTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private everConnected = false;
  private closed = false;

  constructor(private readonly options: ViciClientOptions) {}

  get connected(): boolean {
    return this.socket !== undefined;
  }

  /** Connects once; throws ViciConnectionError if charon's socket is not there. Later drops reconnect by themselves. */
  async connect(signal: AbortSignal): Promise<void> {
    if (this.closed) throw new ViciConnectionError('vici client is closed');
    if (this.socket) return;
    await this.open(signal);
  }

  /** Sends a command and returns charon's response (a `success = no` is returned, not thrown). */
  request(command: string, message: ViciTree, signal: AbortSignal): Promise<ViciTree> {
    return this.enqueue(signal, async (send) => responseOf(command, await send({ type: ViciPacketType.CmdRequest, name: command, message })));
  }

  /**
   * A command that streams `eventName` events until its response (list-conns, list-sas, and the
   * control-log of initiate/terminate). Registration, command and deregistration form one job,
   * so no other command can slip in between.
   */
  requestStreamed(command: string, message: ViciTree, eventName: string, onEvent: ViciEventListener, signal: AbortSignal): Promise<ViciTree> {
    return this.enqueue(signal, async (send) => {
      const temporary = !this.registered.has(eventName);
      if (temporary) await this.register(send, eventName);
      const set = this.listenersOf(eventName);
      set.add(onEvent);
      try {
        return responseOf(command, await send({ type: ViciPacketType.CmdRequest, name: command, message }));
      } finally {
        set.delete(onEvent);
        if (set.size === 0) this.listeners.delete(eventName);
        if (temporary && this.socket && !this.listeners.has(eventName)) await this.unregister(send, eventName);
      }
    });
  }

  /** Registers for an event (ike-updown, child-updown, log, ...); kept across reconnects. Returns the unsubscribe. */
  async subscribe(eventName: string, listener: ViciEventListener, signal: AbortSignal): Promise<(signal: AbortSignal) => Promise<void>> {
    const set = this.listenersOf(eventName);
    set.add(listener);
    try {
      await this.enqueue(signal, async (send) => {
        if (!this.registered.has(eventName)) await this.register(send, eventName);
      });
    } catch (error) {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(eventName);
      throw error;
    }
    return async (unsubscribeSignal) => {
      set.delete(listener);
      if (set.size > 0) return;
      this.listeners.delete(eventName);
      await this.enqueue(unsubscribeSignal, async (send) => {
        if (this.registered.has(eventName) && !this.listeners.has(eventName)) await this.unregister(send, eventName);
      });
    };
  }

  /** Closes the socket for good; queued and running jobs fail with ViciConnectionError. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const error = new ViciConnectionError('vici client closed');
    for (const job of this.queue.splice(0)) job.fail(error);
    this.socket?.destroy();
    this.socket = undefined;
    this.reply?.reject(error);
    this.reply = undefined;
  }

  private listenersOf(name: string): Set<ViciEventListener> {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    return set;
  }

  private async register(send: Exchange, name: string): Promise<void> {
    const answer = await send({ type: ViciPacketType.EventRegister, name });
    if (answer.type === ViciPacketType.EventUnknown) throw new ViciCommandError(`register ${name}`, 'unknown event');
    if (answer.type !== ViciPacketType.EventConfirm) throw new ViciProtocolError(`packet type ${answer.type} answered event registration ${name}`);
    this.registered.add(name);
  }

  private async unregister(send: Exchange, name: string): Promise<void> {
    const answer = await send({ type: ViciPacketType.EventUnregister, name });
    if (answer.type !== ViciPacketType.EventConfirm && answer.type !== ViciPacketType.EventUnknown) {
      throw new ViciProtocolError(`packet type ${answer.type} answered event deregistration ${name}`);
    }
    this.registered.delete(name);
  }

  private enqueue<T>(signal: AbortSignal, body: (send: Exchange) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ViciConnectionError('vici client is closed'));
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        fn();
      };
      const job: Job = {
        signal,
        run: async (send) => {
          const value = await body(send);
          settle(() => resolve(value));
        },
        fail: (error) => settle(() => reject(error)),
      };
      const onAbort = (): void => {
        const queued = this.queue.indexOf(job);
        if (queued >= 0) this.queue.splice(queued, 1);
        // A command on the wire cannot be withdrawn and its late answer must not be taken for
        // the next command's: start over on a fresh connection.
        else if (this.running === job) this.reset(new ViciConnectionError('command aborted in flight', { cause: signal.reason }));
        job.fail(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(job);
      this.pump();
    });
  }

  private pump(): void {
    if (this.running || !this.socket) return;
    const job = this.queue.shift();
    if (!job) return;
    this.running = job;
    const send: Exchange = (packet) => this.exchange(packet);
    job.run(send).catch((error: unknown) => {
      job.fail(error);
      if (error instanceof ViciProtocolError) this.reset(error);
    }).finally(() => {
      this.running = undefined;
      this.pump();
    });
  }

  private exchange(packet: ViciPacket): Promise<ViciPacket> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new ViciConnectionError('vici socket closed'));
    return new Promise<ViciPacket>((resolve, reject) => {
      this.reply = { resolve, reject };
      socket.write(encodeViciPacket(packet));
    });
  }

  private open(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = createConnection({ path: this.options.socketPath });
      const onAbort = (): void => {
        socket.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const onError = (error: Error): void => {
        signal.removeEventListener('abort', onAbort);
        reject(new ViciConnectionError(`cannot connect to vici socket ${this.options.socketPath}: ${error.message}`, { cause: error }));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        signal.removeEventListener('abort', onAbort);
        socket.off('error', onError);
        this.adopt(socket);
        resolve();
      });
    });
  }

  private adopt(socket: Socket): void {
    const frames = new ViciFrameReader();
    this.socket = socket;
    this.attempt = 0;
    this.registered.clear();
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const segment of frames.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) this.dispatch(decodeViciPacket(segment));
      } catch (error) {
        this.reset(error);
      }
    });
    socket.on('error', (error) => this.options.log?.warn({ err: error }, 'vici socket error'));
    socket.on('close', () => this.dropped(socket));
    // Events come back before anything else queued runs.
    const names = [...this.listeners.keys()];
    if (names.length > 0) {
      const resubscribe: Job = {
        signal: AbortSignal.timeout(DEFAULT_MAX_DELAY_MS),
        run: async (send) => {
          for (const name of names) if (this.listeners.has(name)) await this.register(send, name);
        },
        fail: (error) => this.options.log?.error({ err: error }, 'vici event registration after reconnect failed'),
      };
      this.queue.unshift(resubscribe);
    }
    if (this.everConnected) this.options.log?.info({ socket: this.options.socketPath }, 'vici reconnected');
    this.everConnected = true;
    this.options.onConnectionChange?.('connected');
    this.pump();
  }

  private dispatch(packet: ViciPacket): void {
    if (packet.type === ViciPacketType.Event) {
      for (const listener of [...(this.listeners.get(packet.name) ?? [])]) {
        try {
          listener(packet.message, packet.name);
        } catch (error) {
          this.options.log?.error({ err: error, event: packet.name }, 'vici event listener threw');
        }
      }
      return;
    }
    const reply = this.reply;
    if (!reply) throw new ViciProtocolError(`unsolicited packet type ${packet.type}`);
    this.reply = undefined;
    reply.resolve(packet);
  }

  /** Drops the connection (protocol error, aborted command); reconnects at once. */
  private reset(error: unknown): void {
    this.options.log?.warn({ err: error }, 'vici connection reset');
    this.socket?.destroy();
  }

  private dropped(socket: Socket): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    this.registered.clear();
    this.reply?.reject(new ViciConnectionError(`vici socket ${this.options.socketPath} closed with a command in flight`));
    this.reply = undefined;
    if (this.closed) return;
    this.options.onConnectionChange?.('disconnected');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const initial = this.options.reconnectInitialDelayMs ?? DEFAULT_INITIAL_DELAY_MS;
    const delayMs = this.attempt === 0 ? 0 : Math.min(this.options.reconnectMaxDelayMs ?? DEFAULT_MAX_DELAY_MS, initial * 2 ** (this.attempt - 1));
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => {
      if (this.closed) return;
      this.open(AbortSignal.timeout(DEFAULT_MAX_DELAY_MS)).catch((error: unknown) => {
        this.options.log?.debug({ err: error, attempt: this.attempt }, 'vici reconnect failed');
        if (!this.closed) this.scheduleReconnect();
      });
    }, delayMs);
  }
}

function responseOf(command: string, packet: ViciPacket): ViciTree {
  if (packet.type === ViciPacketType.CmdResponse) return packet.message;
  if (packet.type === ViciPacketType.CmdUnknown) throw new ViciCommandError(command, 'unknown command');
  throw new ViciProtocolError(`packet type ${packet.type} answered command ${command}`);
}
