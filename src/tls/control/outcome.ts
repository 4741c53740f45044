/**
 * How a control request ends: the one reply line, then the connection closed (ERR) or relaying
 * (OK); the deadline every request runs under once its peer is known; and which ERR each kind of
 * failure becomes. An application that left gets no reply; a limit reached gets BUSY; a bug gets
 * INTERNAL and a log line.
 */
import type { Socket } from 'node:net';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { ReplyCode } from '../reply-codes.js';
import { TlsError } from '../session.js';
import { ApplicationGoneError } from './app-watch.js';
import { ListenerBusyError } from './peer-listener.js';
import { encodeErr, ProtocolError } from './protocol.js';

/** Writes the one reply line and closes; data written to a UNIX stream survives the close. */
export function reply(socket: Socket, line: string): void {
  if (socket.destroyed) return;
  socket.end(line, () => socket.destroy());
}

/**
 * Runs `work` under `timeoutMs` as well as `signal`: TIMEOUT when the deadline fires, the signal's
 * reason (ApplicationGoneError) when it aborts. `peer` is destroyed on any failure.
 */
export async function withDeadline<T>(signal: AbortSignal, timeoutMs: number, work: (signal: AbortSignal) => Promise<T>, peer?: Socket): Promise<T> {
  const deadline = AbortSignal.timeout(timeoutMs);
  try {
    return await work(AbortSignal.any([signal, deadline]));
  } catch (error) {
    peer?.destroy();
    if (signal.aborted) throw signal.reason;
    if (deadline.aborted) throw new TlsError(ReplyCode.Timeout, `no result within ${timeoutMs} ms`, { cause: error });
    throw error;
  }
}

/** Sends the ERR line that fits `error` (or nothing, to an application that left) and logs it. */
export function answerFailure(app: Socket, command: string, error: unknown, log: Logger): void {
  if (error instanceof ApplicationGoneError) {
    log.debug({ command }, 'application left before the reply');
    app.destroy();
    return;
  }
  if (error instanceof TlsError || error instanceof ProtocolError) {
    log.info({ command, reply: error.reply, err: error.message }, 'control request refused');
    return reply(app, encodeErr(error.reply, error.message));
  }
  if (error instanceof ListenerBusyError) {
    log.warn({ command, err: error.message }, 'control request refused');
    return reply(app, encodeErr(ReplyCode.Busy, `${error.message}; try again later`));
  }
  log.error({ command, err: errorMessage(error) }, 'control request failed');
  reply(app, encodeErr(ReplyCode.Internal, 'internal error (see the daemon log)'));
}
