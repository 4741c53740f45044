/**
 * The privileged side of `--ipsec-backend helper`: a UNIX socket server that owns one real
 * backend (xfrm, setkey or dry-run) and applies what the unprivileged resolver asks for, in the
 * fixed grammar of grammar.ts, nothing else. Who may ask is decided by the socket's mode (0660)
 * and group; every field of every request is checked again here.
 *
 * Requests are handled one at a time per connection, in order, and backend calls one at a time
 * across connections (a LIST from `oedns status` never interleaves with an APPLY).
 *
 * The helper holds no policy state of its own: the resolver owns the lifecycle (TTLs, refcounts,
 * removal on its SIGTERM through REMOVE-ALL, reconciling after a crash). So:
 * - when a client disconnects, its policies stay: the resolver may have crashed, and dropping a
 *   `require` policy because a process died would let traffic out in clear. A batch half read
 *   when the client went is dropped (nothing of it applied); a batch the backend is applying is
 *   finished, never cut short, so the backend's per-pair atomicity holds.
 * - on close (SIGTERM) the helper stops accepting, lets a backend call in progress finish,
 *   refuses the requests queued behind it (ERR_IPSEC_HELPER_STOPPING), closes its connections, removes its socket and leaves the kernel as it is; a restarted
 *   helper (an upgrade) finds the policies where they were, and the resolver reconnects.
 */
import { lstat, chmod, chown, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { AppError, errorMessage, ListenError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { IpsecBackend, PolicyChange } from '../backend.js';
import {
  backendName, decodeChange, decodeRequest, encodeErr, encodeInstalled, encodeOk, HELPER_PROTOCOL_VERSION, type HelperRequest,
} from './grammar.js';
import { SocketLines } from './lines.js';
import { HelperGrammarError, refuse } from './policy-fields.js';

export interface HelperServerOptions {
  readonly socketPath: string;
  readonly backend: IpsecBackend;
  readonly log: Logger;
  /** The group whose members may connect (socket mode 0660); undefined: the creator's group. */
  readonly gid?: number | undefined;
  /** Longest a backend call may take (default 60 s). */
  readonly requestTimeoutMs?: number | undefined;
  /** Connections at once (default 16): the resolver holds one, `oedns status` may add one. */
  readonly maxConnections?: number | undefined;
}

/** File mode of the socket: owner (root) and group read-write, nobody else. */
export const HELPER_SOCKET_MODE = 0o660;
const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

interface Session {
  readonly socket: Socket;
  /** Waiting for the backend: the session ends after the reply, not before. */
  busy: boolean;
}

export class HelperServer {
  private readonly sessions = new Set<Session>();
  private readonly finished = new Set<Promise<void>>();
  /** Open sockets, including those ending (flushing a last reply) after their session. */
  private readonly sockets = new Set<Socket>();
  private queue: Promise<unknown> = Promise.resolve();
  private stopping = false;
  private nextSessionId = 1;

  private constructor(private readonly server: Server, private readonly options: HelperServerOptions) {
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Listens on `socketPath` (replacing a stale socket, never a live one or another file). */
  static async listen(options: HelperServerOptions): Promise<HelperServer> {
    await clearStaleSocket(options.socketPath);
    const server = createServer({ pauseOnConnect: false });
    server.maxConnections = options.maxConnections ?? 16;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new ListenError(`ipsec helper: cannot listen on ${options.socketPath}: ${errorMessage(error)}`, { cause: error })));
      // Created 0660 from the start (the listen binds synchronously), so there is no moment
      // where others could connect before the chmod below; umask is per process, put back at once.
      withUmask(0o117, () => server.listen(options.socketPath, () => resolve()));
    });
    try {
      await chmod(options.socketPath, HELPER_SOCKET_MODE);
      if (options.gid !== undefined) await chown(options.socketPath, -1, options.gid);
    } catch (error) {
      server.close();
      throw new ListenError(`ipsec helper: cannot set mode and group of ${options.socketPath}: ${errorMessage(error)}`, { cause: error });
    }
    options.log.info({ socket: options.socketPath, gid: options.gid, backend: options.backend.name }, 'IPsec helper listening');
    return new HelperServer(server, options);
  }

  get connections(): number {
    return this.sessions.size;
  }

  /** Stops: no new connections, the backend call in progress finishes, the socket file goes. */
  async close(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const session of this.sessions) if (!session.busy) session.socket.destroy();
    await Promise.allSettled([...this.finished]);
    await this.queue.catch(() => undefined);
    // A client that does not read its last reply must not hold the helper up.
    for (const socket of this.sockets) socket.destroy();
    await closed;
    await unlink(this.options.socketPath).catch(() => undefined);
    this.options.log.info({ socket: this.options.socketPath }, 'IPsec helper stopped');
  }

  private accept(socket: Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const session: Session = { socket, busy: false };
    const log = this.options.log.child({ conn: this.nextSessionId++ });
    socket.on('error', (error) => log.debug({ err: errorMessage(error) }, 'IPsec helper connection error'));
    this.sessions.add(session);
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    log.debug('IPsec helper client connected');
    const done = this.serve(session, log).finally(() => {
      this.sessions.delete(session);
      this.finished.delete(done);
      // end, not destroy: the last reply (an ERR saying why) is flushed first.
      if (!socket.destroyed) socket.end(() => socket.destroy());
      log.debug('IPsec helper client gone');
    });
    this.finished.add(done);
  }

  /** One connection: HELLO first, then requests in order until the client or the helper stops. */
  private async serve(session: Session, log: Logger): Promise<void> {
    const lines = new SocketLines(session.socket);
    let greeted = false;
    try {
      while (!this.stopping) {
        const line = await lines.next();
        if (line === undefined) return;
        const request = decodeRequest(line);
        if (!greeted && request.kind !== 'hello') refuse('the first request is HELLO');
        if (request.kind === 'hello') {
          if (request.version !== HELPER_PROTOCOL_VERSION) refuse(`protocol version ${request.version} is not ${HELPER_PROTOCOL_VERSION}`);
          greeted = true;
          write(session.socket, [encodeOk(HELPER_PROTOCOL_VERSION, backendName(this.options.backend.name))]);
          continue;
        }
        const changes = request.kind === 'apply' ? await readBatch(lines, request.count) : undefined;
        if (changes instanceof HelperGrammarError) {
          log.warn({ code: changes.code, err: changes.message }, 'IPsec helper refused a batch');
          write(session.socket, [encodeErr(changes.code, changes.message)]);
          continue;
        }
        session.busy = true;
        const reply = await this.perform(request, changes, log);
        session.busy = false;
        write(session.socket, reply);
      }
    } catch (error) {
      // A framing error or an unknown request: say why, then close, as the stream is out of step.
      const code = error instanceof AppError ? error.code : 'ERR_INTERNAL';
      log.warn({ code, err: errorMessage(error) }, 'IPsec helper closed a connection');
      write(session.socket, [encodeErr(code, errorMessage(error))]);
    }
  }

  /** A backend call, after every other, bounded by the request timeout; the reply lines. */
  private perform(request: Exclude<HelperRequest, { kind: 'hello' }>, changes: readonly PolicyChange[] | undefined, log: Logger): Promise<string[]> {
    const { backend } = this.options;
    log.debug({ request: request.kind }, 'IPsec helper request queued');
    const work = async (): Promise<string[]> => {
      // Requests still waiting when the helper is told to stop are refused, not started.
      if (this.stopping) return [encodeErr('ERR_IPSEC_HELPER_STOPPING', `the helper is stopping; ${request.kind} not done`)];
      const signal = AbortSignal.timeout(this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
      try {
        switch (request.kind) {
          case 'apply': {
            await backend.apply(changes ?? [], signal);
            const added = changes?.filter((c) => c.op === 'add').length ?? 0;
            log.info({ added, removed: (changes?.length ?? 0) - added }, 'IPsec helper applied policies');
            if (log.isLevelEnabled('debug')) log.debug({ changes: changes?.map((c) => ({ op: c.op, remote: c.policy.remote, action: c.policy.action.kind })) }, 'IPsec helper batch');
            return [encodeOk()];
          }
          case 'list': {
            const listed = await backend.list(signal);
            return [encodeOk(listed.length), ...listed.map(encodeInstalled)];
          }
          case 'remove-all':
            await backend.removeAll(signal);
            log.info('IPsec helper removed all policies');
            return [encodeOk()];
        }
      } catch (error) {
        const code = error instanceof AppError ? error.code : 'ERR_INTERNAL';
        log.error({ code, request: request.kind, err: errorMessage(error) }, 'IPsec helper request failed');
        return [encodeErr(code, errorMessage(error))];
      }
    };
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/**
 * The `count` lines of an APPLY, all decoded before anything is applied: the changes, or the
 * first refusal (the remaining lines are still read, to stay in step with the client).
 */
async function readBatch(lines: SocketLines, count: number): Promise<readonly PolicyChange[] | HelperGrammarError> {
  const changes: PolicyChange[] = [];
  let refused: HelperGrammarError | undefined;
  for (let i = 0; i < count; i++) {
    const line = await lines.next();
    if (line === undefined) refuse(`connection closed after ${i} of ${count} batch lines`);
    if (refused) continue;
    try {
      changes.push(decodeChange(line));
    } catch (error) {
      if (!(error instanceof HelperGrammarError)) throw error;
      refused = new HelperGrammarError(`batch line ${i + 1} of ${count}: ${error.message}`, { cause: error });
    }
  }
  return refused ?? changes;
}

function write(socket: Socket, lines: readonly string[]): void {
  if (!socket.destroyed) socket.write(`${lines.join('\n')}\n`);
}

function withUmask(mask: number, action: () => void): void {
  let previous: number | undefined;
  try {
    previous = process.umask(mask);
  } catch {
    // Worker threads cannot change the umask; the chmod after listen still applies.
  }
  try {
    action();
  } finally {
    if (previous !== undefined) process.umask(previous);
  }
}

/** Removes a socket file nobody listens on; refuses a live socket or a file of another kind. */
async function clearStaleSocket(path: string): Promise<void> {
  const stat = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new ListenError(`ipsec helper: cannot check ${path}: ${error.message}`, { cause: error });
  });
  if (!stat) return;
  if (!stat.isSocket()) throw new ListenError(`ipsec helper: ${path} exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new ListenError(`ipsec helper: another process listens on ${path}`);
  await unlink(path);
}
