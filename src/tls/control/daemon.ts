/**
 * The start-tls/recv-tls daemon (seed 000 §4.1, the TLS Pool's model, seed 002): applications on
 * this host ask over a UNIX socket for a TLS connection to a name, or from a peer on one of the
 * daemon's listeners; the daemon resolves, connects, handshakes and authenticates (DANE, LDAP,
 * or as the negative flags say) and answers `OK <identity> ...` or `ERR <code> <message>`.
 *
 * No file descriptor passing: Node's net module has no SCM_RIGHTS, and the npm addons that add
 * it are unmaintained native builds. So the daemon makes the connection itself, and after OK the
 * control connection is the plaintext stream to the peer: the application keeps a plaintext
 * socket in its hands, as with the TLS Pool, and never sees a key or a certificate.
 *
 * STARTTLS protocols run in two steps: `connect`/`accept` relay plaintext and hand out a token;
 * `start-tls @TOKEN`/`recv-tls @TOKEN` on a second connection upgrades that relay in place.
 * Grammar: protocol.ts. Bounds: a command within commandTimeoutMs, maxConnections at once,
 * maxWaiting per listener; whatever an application or a peer sends ends as an ERR line or a
 * closed connection, never as an exception out of this class.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { ConfigError, errorMessage, ListenError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { NameLookup } from '../names.js';
import { ReplyCode } from '../reply-codes.js';
import { TlsError, type TlsEngine, type TlsSession } from '../session.js';
import { ApplicationGoneError, watchApplication, type AppWatch } from './app-watch.js';
import { dialPlain } from './dial.js';
import { readRequestLine } from './line-reader.js';
import { answerFailure, reply, withDeadline } from './outcome.js';
import { PeerListener, type ListenerSpec } from './peer-listener.js';
import { encodeErr, encodePlainOk, encodeSessionOk, MAX_LINE_BYTES, parseRequest, ProtocolError, type ControlRequest } from './protocol.js';
import { hostPortText } from '../endpoint.js';
import { Relay, type RelayOptions } from './relay.js';
import { Rewound } from './rewound.js';
import { bindSocketFile, type SocketFile } from '../../core/unix-socket.js';
import { TokenTable, TOKEN_TTL_MS } from './tokens.js';

export const DEFAULT_TLS_SOCKET = '/run/oedns/tls.sock';
export const DEFAULT_SOCKET_MODE = 0o660;
/** The request line must arrive within this. */
export const COMMAND_TIMEOUT_MS = 10_000;
/** Control connections open at once, relays included. */
export const MAX_CONNECTIONS = 1024;
/** From the moment the peer is known, the whole of resolving, connecting, handshake and checks. */
export const OPERATION_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 5_000;

export interface TlsDaemonOptions {
  readonly socketPath: string;
  readonly socketMode?: number | undefined;
  readonly gid?: number | undefined;
  readonly listeners?: readonly ListenerSpec[] | undefined;
  readonly engine: TlsEngine;
  readonly lookup: NameLookup;
  readonly log: Logger;
  readonly commandTimeoutMs?: number | undefined;
  readonly maxConnections?: number | undefined;
  readonly maxWaitingPerListener?: number | undefined;
  readonly operationTimeoutMs?: number | undefined;
  readonly tokenTtlMs?: number | undefined;
}

/** A plaintext relay waiting for its `start-tls @TOKEN` or `recv-tls @TOKEN`. */
interface PendingRelay {
  readonly app: Socket;
  readonly peer: Socket;
  readonly relay: Relay;
  /** Client side: whom to authenticate. Server side: the listener (for require-cert). */
  readonly target: { readonly name: string; readonly port: number } | ListenerSpec;
}

export class TlsDaemon {
  private readonly connections = new Set<Socket>();
  /** The peer side of every relay, so that stop() ends them at once. */
  private readonly peers = new Set<Socket>();
  private readonly clientTokens: TokenTable<PendingRelay>;
  private readonly serverTokens: TokenTable<PendingRelay>;
  private stopping = false;
  private file: SocketFile | undefined;

  private constructor(
    private readonly options: TlsDaemonOptions,
    private readonly server: Server,
    private readonly listeners: ReadonlyMap<string, PeerListener>,
  ) {
    this.clientTokens = new TokenTable(options.tokenTtlMs ?? TOKEN_TTL_MS);
    this.serverTokens = new TokenTable(options.tokenTtlMs ?? TOKEN_TTL_MS);
    server.on('connection', (socket) => this.accepted(socket));
    server.on('error', (error) => options.log.error({ err: errorMessage(error) }, 'control socket error'));
  }

  /** Opens the listeners, then the control socket; on failure nothing is left open. */
  static async start(options: TlsDaemonOptions): Promise<TlsDaemon> {
    const listeners = new Map<string, PeerListener>();
    const server = createServer({ allowHalfOpen: true });
    try {
      for (const spec of options.listeners ?? []) {
        if (listeners.has(spec.name)) throw new ConfigError(`--listener ${spec.name} is named twice`);
        listeners.set(spec.name, await PeerListener.open(spec, options.log, options.maxWaitingPerListener));
      }
      // Serving from the first connection on: the socket is reachable as soon as it is renamed into place.
      const daemon = new TlsDaemon(options, server, listeners);
      daemon.file = await bindSocketFile(server, options.socketPath, {
        mode: options.socketMode ?? DEFAULT_SOCKET_MODE, gid: options.gid, label: 'TLS daemon socket', owner: 'oedns tls-daemon', flag: '--socket',
        error: (message, cause) => new ListenError(message, { cause }),
      });
      options.log.info({ socket: options.socketPath, mode: (options.socketMode ?? DEFAULT_SOCKET_MODE).toString(8), gid: options.gid, listeners: [...listeners.keys()] }, 'tls daemon listening');
      return daemon;
    } catch (error) {
      await Promise.all([...listeners.values()].map((l) => l.close(new Error('daemon start failed'))));
      throw error;
    }
  }

  get socketPath(): string {
    return this.options.socketPath;
  }

  /** The bound port of each listener (port 0 asks the kernel for one). */
  listenerPort(name: string): number | undefined {
    return this.listeners.get(name)?.port;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Requests waiting on a listener (for tests and status). */
  waitingOn(name: string): number {
    return this.listeners.get(name)?.waitingCount ?? 0;
  }

  /** Bytes of TLS handshakes held by server-side relays waiting for their recv-tls @TOKEN (relay.ts). */
  get heldBytes(): number {
    return this.serverTokens.values().reduce((sum, pending) => sum + pending.relay.heldBytes, 0);
  }

  /** Stops accepting, fails waiting requests, closes every connection and relay, removes the socket file. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Applications waiting in recv-tls/accept are told why before their connections go.
    await Promise.all([...this.listeners.values()].map((l) => l.close(new TlsError(ReplyCode.Internal, 'the daemon is stopping'))));
    await new Promise((resolve) => setImmediate(resolve));
    for (const socket of [...this.connections, ...this.peers]) socket.destroy();
    this.clientTokens.clear();
    this.serverTokens.clear();
    await closed;
    await this.file?.remove();
    this.options.log.info({ socket: this.options.socketPath }, 'tls daemon stopped');
  }

  private accepted(app: Socket): void {
    app.on('error', (error) => this.options.log.debug({ err: errorMessage(error) }, 'control connection error'));
    if (this.stopping) return reply(app, encodeErr(ReplyCode.Internal, 'the daemon is stopping'));
    const max = this.options.maxConnections ?? MAX_CONNECTIONS;
    if (this.connections.size >= max) {
      this.options.log.warn({ max }, 'control connection refused: too many at once');
      reply(app, encodeErr(ReplyCode.Busy, `too many control connections (${max}); try again later`));
      return;
    }
    this.connections.add(app);
    app.once('close', () => this.connections.delete(app));
    this.serve(app).catch((error: unknown) => {
      this.options.log.error({ err: errorMessage(error) }, 'control connection failed');
      reply(app, encodeErr(ReplyCode.Internal, 'internal error (see the daemon log)'));
    });
  }

  private async serve(app: Socket): Promise<void> {
    const timeoutMs = this.options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS;
    const line = await readRequestLine(app, MAX_LINE_BYTES, timeoutMs);
    if (line.kind === 'timeout') return reply(app, encodeErr(ReplyCode.Timeout, `no request line within ${timeoutMs} ms`));
    if (line.kind === 'too-long') return reply(app, encodeErr(ReplyCode.BadRequest, `request line longer than ${MAX_LINE_BYTES} bytes`));
    if (line.kind === 'closed') return line.partial ? reply(app, encodeErr(ReplyCode.BadRequest, 'the request line has no LF')) : void app.destroy();
    let request: ControlRequest;
    try {
      request = parseRequest(line.bytes);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.options.log.debug({ err: error.message }, 'bad control request');
      return reply(app, encodeErr(ReplyCode.BadRequest, error.message));
    }
    const watch = watchApplication(app);
    try {
      await this.perform(app, request, watch);
    } catch (error) {
      answerFailure(app, request.kind, error, this.options.log);
    } finally {
      watch.release();
    }
  }

  private async perform(app: Socket, request: ControlRequest, watch: AppWatch): Promise<void> {
    const { engine } = this.options;
    switch (request.kind) {
      case 'start-tls':
        return this.established(app, watch, await this.bounded(watch.signal, (signal) => engine.connect({ name: request.name, port: request.port }, request.flags, signal)));
      case 'recv-tls': {
        const listener = this.listener(request.listener);
        const peer = await listener.next(watch.signal);
        const session = await this.bounded(watch.signal, (signal) => engine.upgradeServer(peer, { requireClientCertificate: listener.spec.requireCert }, request.flags, signal), peer);
        return this.established(app, watch, session);
      }
      case 'connect': {
        const peer = await this.bounded(watch.signal, (signal) => dialPlain(this.options.lookup, request.name, request.port, request.flags, CONNECT_TIMEOUT_MS, signal));
        return this.relayPlain(app, watch, peer, this.clientTokens, { name: request.name, port: request.port });
      }
      case 'accept': {
        const listener = this.listener(request.listener);
        return this.relayPlain(app, watch, await listener.next(watch.signal), this.serverTokens, listener.spec);
      }
      case 'start-tls-token':
      case 'recv-tls-token':
        return this.upgrade(app, watch, request);
    }
  }

  private bounded<T>(signal: AbortSignal, work: (signal: AbortSignal) => Promise<T>, peer?: Socket): Promise<T> {
    return withDeadline(signal, this.options.operationTimeoutMs ?? OPERATION_TIMEOUT_MS, work, peer);
  }

  /** Starts relaying `app` to `peer` (kept for stop()). */
  private relay(app: Socket, peer: Socket, options: Omit<RelayOptions, 'onClosed'>, onClosed: () => void): Relay {
    this.peers.add(peer);
    peer.once('close', () => this.peers.delete(peer));
    return new Relay(app, peer, { ...options, onClosed });
  }

  private listener(name: string): PeerListener {
    const listener = this.listeners.get(name);
    if (!listener) throw new TlsError(ReplyCode.NoListener, `no listener named ${name}`);
    return listener;
  }

  /** OK with the session's facts, then the relay between the application and the TLS socket. */
  private established(app: Socket, watch: AppWatch, session: TlsSession): void {
    if (watch.signal.aborted || app.destroyed) {
      session.socket.destroy();
      return;
    }
    watch.release();
    app.write(encodeSessionOk(session));
    this.options.log.info({ identity: session.identity, method: session.method, dnssec: session.dnssec, peer: hostPortText(session.peerAddress, session.peerPort) }, 'tls session established');
    this.relay(app, session.socket, {}, () => this.options.log.debug({ identity: session.identity }, 'tls session closed'));
  }

  /** OK with the peer's address and a token, then a plaintext relay the token can upgrade. */
  private relayPlain(app: Socket, watch: AppWatch, peer: Socket, tokens: TokenTable<PendingRelay>, target: PendingRelay['target']): void {
    if (watch.signal.aborted || app.destroyed) {
      peer.destroy();
      return;
    }
    watch.release();
    let token = '';
    const relay = this.relay(app, peer, { holdTls: tokens === this.serverTokens }, () => tokens.drop(token));
    token = tokens.issue({ app, peer, relay, target }, () => relay.releaseHeld());
    app.write(encodePlainOk(peer.remoteAddress ?? '', peer.remotePort ?? 0, token));
    this.options.log.info({ peer: hostPortText(peer.remoteAddress ?? '', peer.remotePort ?? 0), side: tokens === this.clientTokens ? 'client' : 'server' }, 'plaintext relay open');
  }

  /**
   * `start-tls @TOKEN` / `recv-tls @TOKEN`: the relay stops, TLS runs over its peer socket, and
   * the first connection goes on with plaintext over TLS. The OK or ERR goes to this (second)
   * connection; an ERR closes the first connection and the peer too.
   */
  private async upgrade(control: Socket, watch: AppWatch, request: Extract<ControlRequest, { kind: 'start-tls-token' | 'recv-tls-token' }>): Promise<void> {
    const client = request.kind === 'start-tls-token';
    const pending = (client ? this.clientTokens : this.serverTokens).take(request.token);
    if (!pending) throw new ProtocolError(`unknown, used or expired token for ${client ? 'start-tls' : 'recv-tls'}`);
    const unread = pending.relay.detach();
    if (client && unread.length > 0) {
      pending.app.destroy();
      pending.peer.destroy();
      throw new TlsError(ReplyCode.HandshakeFailed, `the server sent ${unread.length} bytes after its STARTTLS reply, before TLS (RFC 3207 §4 forbids it)`);
    }
    // Server side, unread bytes are the start of the client's handshake (relay.ts, holdTls).
    const peer = unread.length > 0 ? new Rewound(pending.peer, unread).asSocket() : pending.peer;
    const first = watchApplication(pending.app);
    const signal = AbortSignal.any([watch.signal, first.signal]);
    let session: TlsSession;
    try {
      session = await this.bounded(signal, (bounded) => ('requireCert' in pending.target
        ? this.options.engine.upgradeServer(peer, { requireClientCertificate: pending.target.requireCert }, request.flags, bounded)
        : this.options.engine.upgradeClient(peer, { name: pending.target.name, port: pending.target.port }, request.flags, bounded)), pending.peer);
    } catch (error) {
      first.release();
      pending.app.destroy();
      if (first.signal.aborted && !watch.signal.aborted) throw new ProtocolError('the connection holding the token closed during the upgrade');
      throw error;
    }
    first.release();
    if (pending.app.destroyed) {
      session.socket.destroy();
      throw new ApplicationGoneError();
    }
    // Over a Rewound stream node:tls knows no addresses; the peer is the relay's.
    session = { ...session, peerAddress: pending.peer.remoteAddress ?? session.peerAddress, peerPort: pending.peer.remotePort ?? session.peerPort };
    watch.release();
    reply(control, encodeSessionOk(session));
    this.options.log.info({ identity: session.identity, method: session.method, dnssec: session.dnssec, peer: hostPortText(session.peerAddress, session.peerPort), held: unread.length }, 'relay upgraded to tls');
    const established = session;
    this.relay(pending.app, session.socket, {}, () => this.options.log.debug({ identity: established.identity }, 'tls session closed'));
  }
}
