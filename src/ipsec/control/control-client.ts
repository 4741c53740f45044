/**
 * The client side of the control socket: one request, one response line, bounded in size and time.
 * Errors name the socket and what to do about it.
 */
import { connect } from 'node:net';
import { errorMessage } from '../../core/errors.js';
import { ControlSocketError, MAX_RESPONSE_BYTES, type ControlCommand } from './control-protocol.js';
import { parseResponseLine, parseStatusReport } from './status-parse.js';
import type { StatusReport } from './status-report.js';

/** How long `oedns status` waits for the whole answer. */
export const CLIENT_TIMEOUT_MS = 5_000;

export interface ControlRequestOptions {
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
  readonly maxResponseBytes?: number | undefined;
}

/** Sends `command` and returns the `{"ok":true,...}` object; throws ControlSocketError or ControlResponseError. */
export async function controlRequest(path: string, command: ControlCommand, options: ControlRequestOptions = {}): Promise<Record<string, unknown>> {
  return parseResponseLine(await exchange(path, command, options));
}

/** The status report of the oedns listening on `path`. */
export async function fetchStatus(path: string, options: ControlRequestOptions = {}): Promise<StatusReport> {
  return parseStatusReport((await controlRequest(path, 'status', options))['status']);
}

/** The pid of the oedns listening on `path`. */
export async function pingControl(path: string, options: ControlRequestOptions = {}): Promise<number> {
  const pid = (await controlRequest(path, 'ping', options))['pid'];
  if (typeof pid !== 'number') throw new ControlSocketError('malformed answer on the control socket: field pid');
  return pid;
}

function exchange(path: string, command: ControlCommand, options: ControlRequestOptions): Promise<string> {
  const timeoutMs = options.timeoutMs ?? CLIENT_TIMEOUT_MS;
  const maxBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])]);
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const chunks: Buffer[] = [];
    let length = 0;
    let done = false;
    const finish = (error: Error | undefined, line?: string): void => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if (error) reject(error);
      else resolve(line ?? '');
    };
    const onAbort = (): void => {
      const timedOut = (signal.reason as Error | undefined)?.name === 'TimeoutError';
      finish(timedOut ? new ControlSocketError(`oedns did not answer on ${path} within ${timeoutMs} ms`) : new ControlSocketError(`request to ${path} aborted`, { cause: signal.reason }));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort);
    socket.once('connect', () => socket.write(`${command}\n`));
    socket.on('error', (error: NodeJS.ErrnoException) => finish(connectError(path, error)));
    socket.on('data', (chunk: Buffer) => {
      const end = chunk.indexOf(0x0a);
      const part = end === -1 ? chunk : chunk.subarray(0, end);
      length += part.length;
      if (length > maxBytes) return finish(new ControlSocketError(`answer on ${path} is longer than ${maxBytes} bytes`));
      chunks.push(part);
      if (end !== -1) finish(undefined, Buffer.concat(chunks).toString('utf8'));
    });
    socket.on('end', () => finish(new ControlSocketError(`oedns closed the control socket ${path} without a complete answer`)));
  });
}

function connectError(path: string, error: NodeJS.ErrnoException): ControlSocketError {
  switch (error.code) {
    case 'ENOENT':
      return new ControlSocketError(`is oedns running? no control socket at ${path}`, { cause: error });
    case 'ECONNREFUSED':
      return new ControlSocketError(`is oedns running? no control socket at ${path} (the file is there but nothing listens on it)`, { cause: error });
    case 'EACCES':
    case 'EPERM':
      return new ControlSocketError(`permission denied on control socket ${path}: run oedns status as root or as a member of the socket's group`, { cause: error });
    default:
      return new ControlSocketError(`cannot talk to oedns on ${path}: ${errorMessage(error)}`, { cause: error });
  }
}
