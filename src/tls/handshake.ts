/**
 * Sockets: the TCP connection to one address and the TLS handshake over a connected socket, each
 * bounded by a signal (and the wait for a DNS lookup that a signal must not cancel: outwait).
 * Whatever fails or is aborted is destroyed here, so no caller is left holding a socket that a
 * hanging peer keeps open. Errors are TlsErrors with the reply code that fits.
 */
import { connect as netConnect, type NetConnectOpts, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, TLSSocket, type ConnectionOptions, type SecureContext, type TLSSocketOptions } from 'node:tls';
import { errorMessage } from '../core/errors.js';
import { hostPortText } from './endpoint.js';
import { ReplyCode } from './reply-codes.js';
import { TlsError } from './session.js';

/** Codes of a TCP connect that timed out rather than being refused or unreachable. */
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ABORT_ERR']);

/**
 * Buffer size of every socket the TLS path makes (Node 22's default; Node 20's is 16 KiB): one
 * libuv read (64 KiB) fits, so a relay moves whole reads and a batch of TLS records leaves in
 * one writev instead of being paused and resumed every 16 KiB. It bounds memory per socket only
 * while a peer is slower than the other side, and then to a few times this.
 */
export const STREAM_HIGH_WATER_MARK = 64 * 1024;

/**
 * Node reads `highWaterMark` in these options too (lib/net.js hands them to the Duplex; the
 * TLSSocket constructor passes it on), but @types/node 20 leaves it out of their types.
 */
type WithHighWaterMark<T> = T & { readonly highWaterMark: number };

/** Error listener for sockets whose errors another listener reports: an unheard 'error' event would end the process. */
export const ignore = (): void => undefined;

/** Rejects with `onAbort()` once signal aborts; the cleanup runs either way. */
function untilSettled<T>(signal: AbortSignal, start: (resolve: (value: T) => void, reject: (error: Error) => void) => () => void, onAbort: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      reject(onAbort());
      return;
    }
    let cleanup = (): void => undefined;
    const abort = (): void => finish(() => reject(onAbort()));
    const finish = (settle: () => void): void => {
      signal.removeEventListener('abort', abort);
      cleanup();
      settle();
    };
    signal.addEventListener('abort', abort, { once: true });
    cleanup = start((value) => finish(() => resolve(value)), (error) => finish(() => reject(error)));
  });
}

/** Never aborts: what a lookup that nobody may cancel runs under (see `outwait`). */
const UNCANCELLED = new AbortController().signal;

/**
 * Waits for a DNS lookup no longer than `signal` allows, without cancelling the lookup itself: a
 * plaintext client that leaves (or a deadline that passes) ends the wait at once, while the
 * lookup runs on to the resolver's own deadlines (query-timeout-ms per upstream query) and its
 * answer is cached for the next connection, which usually follows. (The resolver shares a lookup
 * among identical questions and cancels it only when its last waiter leaves: shared-work.ts.)
 */
export function outwait<T>(lookup: (signal: AbortSignal) => Promise<T>, signal: AbortSignal, onAbort: () => Error): Promise<T> {
  return untilSettled<T>(signal, (resolve, reject) => {
    lookup(UNCANCELLED).then(resolve, reject);
    return () => undefined;
  }, onAbort);
}

/**
 * The error for an aborted wait: TIMEOUT for our own deadline and for a caller's
 * AbortSignal.timeout(); the caller's own reason for any other abort (a shutdown).
 */
export function abortError(signal: AbortSignal, deadline: AbortSignal | undefined, what: string): Error {
  const reason: unknown = signal.reason;
  if (deadline?.aborted || (reason instanceof Error && reason.name === 'TimeoutError')) return new TlsError(ReplyCode.Timeout, `${what} timed out`);
  return reason instanceof Error ? reason : new TlsError(ReplyCode.Timeout, `${what} was cancelled`);
}

/** A TCP connection to one address; refused, unreachable or late is a TlsError. */
export function connectTcp(address: string, port: number, timeoutMs: number, signal: AbortSignal, options: { readonly allowHalfOpen?: boolean } = {}): Promise<Socket> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const both = AbortSignal.any([signal, deadline]);
  const where = hostPortText(address, port);
  let socket: Socket | undefined;
  return untilSettled<Socket>(both, (resolve, reject) => {
    // noDelay: TLS and the tunnels write whole records and whole reads; Nagle would hold a short
    // write (a Finished, a reply line) until the previous segment is acknowledged.
    const tcpOptions: WithHighWaterMark<NetConnectOpts> = { host: address, port, noDelay: true, highWaterMark: STREAM_HIGH_WATER_MARK, allowHalfOpen: options.allowHalfOpen === true };
    const tcp = netConnect(tcpOptions);
    socket = tcp;
    const onError = (error: NodeJS.ErrnoException): void => {
      tcp.destroy();
      const reply = TIMEOUT_CODES.has(error.code ?? '') ? ReplyCode.Timeout : ReplyCode.ConnectFailed;
      reject(new TlsError(reply, `connect to ${where} failed: ${error.code ?? errorMessage(error)}`, { cause: error }));
    };
    tcp.once('error', onError);
    tcp.once('connect', () => {
      // From here the TLS socket reports errors; this keeps a late reset on the raw socket from crashing the process.
      tcp.on('error', ignore);
      resolve(tcp);
    });
    return () => tcp.off('error', onError);
  }, () => {
    socket?.destroy();
    return abortError(signal, deadline, `connect to ${where}`);
  });
}

/** Resolves when the handshake completed; rejects (socket destroyed) on alert, close or abort. */
function handshake(tls: TLSSocket, event: 'secureConnect' | 'secure', signal: AbortSignal, onAbort: () => Error): Promise<TLSSocket> {
  return untilSettled<TLSSocket>(signal, (resolve, reject) => {
    const fail = (why: string, cause?: Error): void => {
      tls.destroy();
      reject(new TlsError(ReplyCode.HandshakeFailed, `TLS handshake failed: ${why}`, cause ? { cause } : undefined));
    };
    const onError = (error: NodeJS.ErrnoException): void => fail(error.code ? `${error.code}: ${error.message}` : error.message, error);
    const onClose = (): void => fail('the peer closed the connection');
    const onSecure = (): void => resolve(tls);
    tls.once('error', onError);
    tls.once('close', onClose);
    tls.once(event, onSecure);
    return () => {
      tls.off('error', onError);
      tls.off('close', onClose);
      tls.off(event, onSecure);
    };
  }, () => {
    tls.destroy();
    return onAbort();
  });
}

export type ClientHandshakeOptions = {
  /** SNI (RFC 6066 §3): the name asked for, without the final dot. */
  readonly servername: string;
} & (
  /** The engine's context (clientContext): made once, since parsing a CA bundle costs ~20 ms of CPU. */
  | { readonly context: SecureContext }
  /** A context made for this connection; cheap only when `ca` is small (opportunistic SMTP gives none). */
  | { readonly ca: readonly string[]; readonly credentials?: { readonly certPem: string; readonly keyPem: string } | undefined }
);

/**
 * TLS over a connected socket, client side. Node's own checks are off: rejectUnauthorized false
 * (DANE decides, not the CA store) and no name check against SNI (RFC 7671 §5.1: DANE-EE checks
 * no name; the reference names may differ from SNI after CNAMEs). `authorized` then means the
 * chain alone verifies against the context's CA store. No session is offered for resumption, so
 * every handshake proves the peer's key afresh (the pins in cache.ts rely on that).
 */
export function clientHandshake(socket: Socket, options: ClientHandshakeOptions, signal: AbortSignal, onAbort: () => Error): Promise<TLSSocket> {
  const servername = options.servername.replace(/\.$/, '');
  const context = 'context' in options
    ? { secureContext: options.context }
    : { ca: [...options.ca], ...(options.credentials ? { cert: options.credentials.certPem, key: options.credentials.keyPem } : {}) };
  const tlsOptions: WithHighWaterMark<ConnectionOptions> = {
    socket, ...(servername === '' || servername.includes(':') || /^[\d.]+$/.test(servername) ? {} : { servername }),
    rejectUnauthorized: false, checkServerIdentity: () => undefined, highWaterMark: STREAM_HIGH_WATER_MARK, ...context,
  };
  const tls = tlsConnect(tlsOptions);
  // The raw socket is owned by the TLS socket from here: destroying one destroys the other.
  tls.once('close', () => socket.destroy());
  return handshake(tls, 'secureConnect', signal, onAbort);
}

/** The engine's client context, made once: the CA store, and this side's certificate if it has one. */
export function clientContext(ca: readonly string[], credentials?: { readonly certPem: string; readonly keyPem: string }): SecureContext {
  return createSecureContext({ ca: [...ca], ...(credentials ? { cert: credentials.certPem, key: credentials.keyPem } : {}) });
}

/** The server's context, made once per engine: parsing the key and CA store per connection is wasted work. */
export function serverContext(credentials: { readonly certPem: string; readonly keyPem: string }, ca: readonly string[]): SecureContext {
  return createSecureContext({ cert: credentials.certPem, key: credentials.keyPem, ca: [...ca] });
}

/** TLS over an accepted socket, server side, asking for (not requiring) a client certificate. */
export function serverHandshake(socket: Socket, context: SecureContext, signal: AbortSignal, onAbort: () => Error): Promise<TLSSocket> {
  const tlsOptions: WithHighWaterMark<TLSSocketOptions> = { isServer: true, secureContext: context, requestCert: true, rejectUnauthorized: false, highWaterMark: STREAM_HIGH_WATER_MARK };
  const tls = new TLSSocket(socket, tlsOptions);
  tls.once('close', () => socket.destroy());
  return handshake(tls, 'secure', signal, onAbort);
}

/**
 * Whether the client's chain verified against the CA store. Node sets `authorized` only for
 * sockets a tls.Server accepted (onServerSocketSecure in lib/_tls_wrap.js); for a TLSSocket made
 * over an accepted socket this asks the same handle Node asks. Without it: not trusted (fails closed).
 */
export function serverSidePkix(tls: TLSSocket): { readonly trusted: boolean; readonly error?: string | undefined } {
  const handle = (tls as unknown as { _handle?: { verifyError?: () => Error | null } })._handle;
  if (typeof handle?.verifyError !== 'function') return { trusted: false, error: 'the TLS stack does not tell' };
  const error = handle.verifyError();
  return error ? { trusted: false, error: (error as NodeJS.ErrnoException).code ?? error.message } : { trusted: true };
}
