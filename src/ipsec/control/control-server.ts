/**
 * The control socket `oedns status` talks to: a UNIX stream socket, mode 0660 (group-restricted),
 * one request line in, one JSON line out, then closed (grammar in control-protocol.ts). Every
 * connection is bounded: its line length, the time to send it, its whole life, and how many are
 * served at once. Nothing a client sends can crash the server: every failure is an error line.
 *
 * The socket file is bound as core/unix-socket.ts does it (a private staging directory, the mode
 * and group set before it is renamed into place; a stale socket replaced, a live one never).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { errorMessage } from '../../core/errors.js';
import { bindSocketFile, type SocketFile } from '../../core/unix-socket.js';
import type { Logger } from '../../core/log.js';
import {
  CONNECTION_TIMEOUT_MS, ControlErrorCode, ControlSocketError, encodeControlResponse, errorResponse, MAX_CONNECTIONS, MAX_REQUEST_BYTES,
  parseControlRequest, REQUEST_TIMEOUT_MS, type ControlResponse,
} from './control-protocol.js';
import type { StatusReport } from './status-report.js';

/** The default path is the configuration's (`--control-socket`); re-exported for the status command. */
export { DEFAULT_CONTROL_SOCKET } from '../../config/index.js';
/** rw for owner and group: who may run `oedns status` is decided by the socket's group. */
export const CONTROL_SOCKET_MODE = 0o660;

export interface ControlServerOptions {
  /** `--control-socket`, default DEFAULT_CONTROL_SOCKET. */
  readonly path: string;
  /** The user chose the path: failing to open it is fatal. Otherwise a failure is logged and oedns goes on. */
  readonly explicit: boolean;
  readonly status: () => StatusReport | Promise<StatusReport>;
  readonly log: Logger;
  /** Group to give the socket (chown), so its members may run `oedns status`. */
  readonly gid?: number | undefined;
  readonly requestTimeoutMs?: number | undefined;
  readonly connectionTimeoutMs?: number | undefined;
  readonly maxConnections?: number | undefined;
}

export interface ControlServerStats {
  requests: number;
  badRequests: number;
  busy: number;
}

export class ControlServer {
  readonly stats: ControlServerStats = { requests: 0, badRequests: 0, busy: 0 };
  private readonly sockets = new Set<Socket>();

  private server: Server | undefined;
  /** The socket file, unlinked at close() only while it is still ours. */
  private file: SocketFile | undefined;

  private constructor(private readonly options: ControlServerOptions) {}

  /**
   * Opens the control socket. When that fails, throws ControlSocketError if `explicit`; else logs
   * a warning and resolves to a server that is not listening (`listening` false; close() does nothing).
   */
  static async open(options: ControlServerOptions): Promise<ControlServer> {
    const { path, log } = options;
    const self = new ControlServer(options);
    // Half-open: a client may end its side right after its line and still read the answer.
    const server = createServer({ allowHalfOpen: true }, (socket) => self.serve(socket));
    try {
      self.file = await bindSocketFile(server, path, {
        mode: CONTROL_SOCKET_MODE, gid: options.gid, label: 'control socket', owner: 'oedns', flag: '--control-socket',
        error: (message, cause) => new ControlSocketError(message, { cause }),
      });
    } catch (error) {
      server.close();
      const failure = error instanceof ControlSocketError ? error : new ControlSocketError(`cannot open control socket ${path}: ${errorMessage(error)}`, { cause: error });
      if (options.explicit) throw failure;
      log.warn({ path, err: failure.message }, 'control socket not opened; oedns status will not reach this process');
      return self;
    }
    // accept() failures (EMFILE, ...) arrive here; without a listener they would end the process.
    server.on('error', (error) => log.error({ path, err: errorMessage(error) }, 'control socket error'));
    self.server = server;
    log.info({ path, mode: CONTROL_SOCKET_MODE.toString(8), gid: options.gid }, 'control socket listening');
    return self;
  }

  get listening(): boolean {
    return this.server !== undefined;
  }

  get path(): string {
    return this.options.path;
  }

  /** Stops listening, ends open connections and removes the socket file (if it is still ours). */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.file?.remove().catch((error: unknown) => this.options.log.warn({ path: this.options.path, err: errorMessage(error) }, 'control socket not removed'));
  }

  private serve(socket: Socket): void {
    socket.on('error', (error) => this.options.log.debug({ err: errorMessage(error) }, 'control connection error'));
    if (this.sockets.size >= (this.options.maxConnections ?? MAX_CONNECTIONS)) {
      this.stats.busy += 1;
      this.answer(socket, errorResponse(ControlErrorCode.Busy, 'too many control connections at once; try again'));
      return;
    }
    this.sockets.add(socket);
    const lifetime = setTimeout(() => socket.destroy(), this.options.connectionTimeoutMs ?? CONNECTION_TIMEOUT_MS);
    const requestTimeoutMs = this.options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    const slow = setTimeout(() => reply(this.badRequest(`no request line within ${requestTimeoutMs} ms`)), requestTimeoutMs);
    socket.on('close', () => {
      clearTimeout(lifetime);
      clearTimeout(slow);
      this.sockets.delete(socket);
    });
    let received = Buffer.alloc(0);
    let answered = false;
    const reply = (response: ControlResponse | Promise<ControlResponse>): void => {
      if (answered) return;
      answered = true;
      clearTimeout(slow);
      void Promise.resolve(response).then((r) => this.answer(socket, r));
    };
    socket.on('data', (chunk: Buffer) => {
      if (answered) return;
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf(0x0a);
      if (end !== -1 && end < MAX_REQUEST_BYTES) reply(this.respond(received.subarray(0, end)));
      else if (received.length >= MAX_REQUEST_BYTES) reply(this.badRequest(`request line longer than ${MAX_REQUEST_BYTES - 1} bytes`));
    });
    // A client that half-closes after its line without LF still gets its answer.
    socket.on('end', () => reply(this.respond(received)));
  }

  private async respond(line: Uint8Array): Promise<ControlResponse> {
    const request = parseControlRequest(line);
    if (request.kind === 'invalid') return this.badRequest(request.message);
    this.stats.requests += 1;
    this.options.log.debug({ command: request.command }, 'control request');
    if (request.command === 'ping') return { ok: true, pong: true, pid: process.pid };
    try {
      return { ok: true, status: await this.options.status() };
    } catch (error) {
      this.options.log.error({ err: errorMessage(error) }, 'building the status failed');
      return errorResponse(ControlErrorCode.Internal, 'building the status failed (see the oedns log)');
    }
  }

  private badRequest(message: string): ControlResponse {
    this.stats.badRequests += 1;
    this.options.log.debug({ err: message }, 'bad control request');
    return errorResponse(ControlErrorCode.BadRequest, message);
  }

  /** Writes the one response line and closes; UNIX stream data already written survives the close. */
  private answer(socket: Socket, response: ControlResponse): void {
    if (socket.destroyed) return;
    let line: string;
    try {
      line = encodeControlResponse(response);
    } catch (error) {
      this.options.log.error({ err: errorMessage(error) }, 'encoding the control response failed');
      line = encodeControlResponse(errorResponse(ControlErrorCode.Internal, 'encoding the response failed (see the oedns log)'));
    }
    socket.end(line, () => socket.destroy());
  }
}
