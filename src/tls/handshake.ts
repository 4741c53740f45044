/**
 * Sockets: the TCP connection to one address and the TLS handshake over a connected socket, each
 * bounded by a signal. Whatever fails or is aborted is destroyed here, so no caller is left holding
 * a socket that a hanging peer keeps open. Errors are TlsErrors with the reply code that fits.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import { errorMessage } from '../core/errors.js';
import { ReplyCode } from './reply-codes.js';
import { TlsError } from './session.js';

/** Codes of a TCP connect that timed out rather than being refused or unreachable. */
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ABORT_ERR']);

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
  const where = `${address.includes(':') ? `[${address}]` : address}:${port}`;
  let socket: Socket | undefined;
  return untilSettled<Socket>(both, (resolve, reject) => {
    const tcp = netConnect({ host: address, port, allowHalfOpen: options.allowHalfOpen === true });
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

export interface ClientHandshakeOptions {
  /** SNI (RFC 6066 §3): the name asked for, without the final dot. */
  readonly servername: string;
  readonly ca: readonly string[];
  readonly credentials?: { readonly certPem: string; readonly keyPem: string } | undefined;
}

/**
 * TLS over a connected socket, client side. Node's own checks are off: rejectUnauthorized false
 * (DANE decides, not the CA store) and no name check against SNI (RFC 7671 §5.1: DANE-EE checks
 * no name; the reference names may differ from SNI after CNAMEs). `authorized` then means the
 * chain alone verifies against `ca`.
 */
export function clientHandshake(socket: Socket, options: ClientHandshakeOptions, signal: AbortSignal, onAbort: () => Error): Promise<TLSSocket> {
  const servername = options.servername.replace(/\.$/, '');
  const tls = tlsConnect({
    socket, ...(servername === '' || servername.includes(':') || /^[\d.]+$/.test(servername) ? {} : { servername }),
    rejectUnauthorized: false, checkServerIdentity: () => undefined, ca: [...options.ca],
    ...(options.credentials ? { cert: options.credentials.certPem, key: options.credentials.keyPem } : {}),
  });
  // The raw socket is owned by the TLS socket from here: destroying one destroys the other.
  tls.once('close', () => socket.destroy());
  return handshake(tls, 'secureConnect', signal, onAbort);
}

/** The server's context, made once per engine: parsing the key and CA store per connection is wasted work. */
export function serverContext(credentials: { readonly certPem: string; readonly keyPem: string }, ca: readonly string[]): SecureContext {
  return createSecureContext({ cert: credentials.certPem, key: credentials.keyPem, ca: [...ca] });
}

/** TLS over an accepted socket, server side, asking for (not requiring) a client certificate. */
export function serverHandshake(socket: Socket, context: SecureContext, signal: AbortSignal, onAbort: () => Error): Promise<TLSSocket> {
  const tls = new TLSSocket(socket, { isServer: true, secureContext: context, requestCert: true, rejectUnauthorized: false });
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
