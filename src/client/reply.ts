/**
 * One exchange with the daemon: connect to its UNIX socket, send the request line, read the one
 * reply line (and not a byte more: what follows an OK is the peer's data, left in the socket).
 */
import { createConnection, type Socket } from 'node:net';
import { OednsTlsError } from './errors.js';

/** Longer reply lines are not the daemon's. */
const MAX_REPLY_BYTES = 4096;

export interface OkReply {
  /** The words after OK that are not key=value: the identity, or address, port and token. */
  readonly words: readonly string[];
  readonly attributes: Readonly<Record<string, string>>;
}

/** Sends `line` and resolves with the socket and the parsed OK; an ERR is thrown as OednsTlsError. */
export function exchange(socketPath: string, line: string, signal?: AbortSignal): Promise<{ readonly socket: Socket; readonly reply: OkReply }> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const socket = createConnection(socketPath);
    let received = Buffer.alloc(0) as Buffer;
    let connected = false;
    let done = false;
    const finish = (error: unknown, reply?: OkReply): void => {
      if (done) return;
      done = true;
      signal?.removeEventListener('abort', onAbort);
      socket.off('readable', onReadable);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (error !== undefined || !reply) {
        socket.destroy();
        reject(error);
      } else resolve({ socket, reply });
    };
    const onAbort = (): void => finish(signal?.reason);
    const onError = (error: NodeJS.ErrnoException): void => finish(connected
      ? new OednsTlsError('BAD_REPLY', `the oedns TLS daemon connection failed: ${error.code ?? error.message}`, { cause: error })
      : new OednsTlsError('NO_DAEMON', `cannot reach the oedns TLS daemon at ${socketPath}: ${error.code ?? error.message}`, { cause: error }));
    const onClose = (): void => finish(new OednsTlsError('BAD_REPLY', 'the oedns TLS daemon closed the connection without a reply'));
    // Paused mode ('readable' and read()), so that once this listener is gone the stream is
    // neither flowing nor paused: the caller's first 'data' listener or pipe() starts it.
    const onReadable = (): void => {
      while (!done) {
        const chunk = socket.read() as Buffer | null;
        if (chunk === null) return;
        received = Buffer.concat([received, chunk]);
        const lf = received.indexOf(0x0a);
        if (lf === -1) {
          if (received.length > MAX_REPLY_BYTES) finish(new OednsTlsError('BAD_REPLY', 'the daemon reply line is too long'));
          continue;
        }
        const rest = received.subarray(lf + 1);
        let parsed: OkReply;
        try {
          parsed = parseReply(received.subarray(0, lf).toString('latin1').replace(/\r$/, ''));
        } catch (error) {
          finish(error);
          return;
        }
        if (rest.length > 0) socket.unshift(rest);
        finish(undefined, parsed);
      }
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('readable', onReadable);
    socket.once('connect', () => {
      connected = true;
      socket.write(line);
    });
  });
}

/** `OK word... key=value...` to its parts; `ERR CODE message` thrown; anything else is BAD_REPLY. */
export function parseReply(text: string): OkReply {
  if (text.startsWith('ERR ')) {
    const rest = text.slice(4);
    const space = rest.indexOf(' ');
    throw new OednsTlsError(space === -1 ? rest : rest.slice(0, space), space === -1 ? rest : rest.slice(space + 1));
  }
  if (!text.startsWith('OK ')) throw new OednsTlsError('BAD_REPLY', `unexpected reply from the daemon: ${JSON.stringify(text.slice(0, 80))}`);
  const words: string[] = [];
  const attributes: Record<string, string> = {};
  for (const word of text.slice(3).split(' ')) {
    const eq = word.indexOf('=');
    if (eq > 0 && words.length > 0) attributes[word.slice(0, eq)] = unescape(word.slice(eq + 1));
    else words.push(unescape(word));
  }
  return { words, attributes };
}

/** The daemon %XX-escapes bytes outside a safe set (peer-controlled text); undo it. */
function unescape(word: string): string {
  try {
    return decodeURIComponent(word);
  } catch {
    return word;
  }
}
