/**
 * `--ipsec-backend helper`: the IpsecBackend an unprivileged resolver uses to have the privileged
 * `oedns ipsec-helper` apply its policies, over the helper's UNIX socket in the grammar of
 * grammar.ts. Everything is encoded (and so checked) before a byte is sent; what the helper
 * answers is decoded with the same checks.
 *
 * One connection, opened on first use (or by connect()), with HELLO first; the name of this
 * backend is the helper's backend's, learnt from the HELLO reply ('helper' until then). Requests
 * go one at a time. When the connection breaks (the helper restarted) the request in flight
 * fails and the next one reconnects; a request is never repeated, as whether the helper applied
 * it is not known. An aborted request drops the connection for the same reason.
 */
import { createConnection, type Socket } from 'node:net';
import { BackendError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { BackendName, InstalledPolicy, IpsecBackend, PolicyChange } from '../backend.js';
import { policyKey } from '../policy-key.js';
import {
  decodeHelloReply, decodeInstalled, decodeListReply, decodeReply, encodeChange, encodeRequest, HELPER_PROTOCOL_VERSION,
  MAX_CHANGES_PER_BATCH, type HelperRequest,
} from './grammar.js';
import { SocketLines } from './lines.js';

export interface HelperBackendOptions {
  /** The helper's socket (`--ipsec-helper-socket`). */
  readonly socketPath: string;
  readonly log?: Logger | undefined;
}

/** The helper refused or failed a request: `helperCode` is the code of its ERR reply. */
export class HelperReplyError extends BackendError {
  constructor(readonly helperCode: string, message: string) {
    super(message);
  }
}

interface Connection {
  readonly socket: Socket;
  readonly lines: SocketLines;
}

export class HelperBackend implements IpsecBackend {
  private connection: Connection | undefined;
  private backendName: BackendName = 'helper';
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: HelperBackendOptions) {}

  /** The helper's backend (xfrm, setkey, ...), once connected; 'helper' before. */
  get name(): BackendName {
    return this.backendName;
  }

  /** Connects and says HELLO now (at startup, to fail early), instead of on first use. */
  connect(signal: AbortSignal): Promise<void> {
    return this.serialised(async () => {
      await this.connected(signal);
    });
  }

  /**
   * Sends the changes in batches of at most MAX_CHANGES_PER_BATCH (never splitting the removal
   * and re-adding of one entry); all are checked before the first batch goes.
   */
  apply(changes: readonly PolicyChange[], signal: AbortSignal): Promise<void> {
    let lines: string[];
    try {
      lines = changes.map(encodeChange);
    } catch (error) {
      return Promise.reject(new BackendError(`ipsec helper: refused before sending: ${errorMessage(error)}`, { cause: error }));
    }
    return this.serialised(async () => {
      for (const batch of batches(changes, lines)) {
        await this.exchange([encodeRequest({ kind: 'apply', count: batch.length }), ...batch], 'apply', signal);
      }
    });
  }

  list(signal: AbortSignal): Promise<readonly InstalledPolicy[]> {
    return this.serialised(async () => {
      const words = await this.exchange([encodeRequest({ kind: 'list' })], 'list', signal);
      const count = this.checked(() => decodeListReply(words));
      const connection = this.connection;
      const listed: InstalledPolicy[] = [];
      for (let i = 0; i < count && connection; i++) {
        const line = await this.nextLine(connection, 'list', signal);
        listed.push(this.checked(() => decodeInstalled(line)));
      }
      return listed;
    });
  }

  removeAll(signal: AbortSignal): Promise<void> {
    return this.serialised(async () => {
      await this.exchange([encodeRequest({ kind: 'remove-all' })], 'remove-all', signal);
    });
  }

  /** Closes the connection (the helper keeps the policies; call removeAll() first to drop them). */
  close(): Promise<void> {
    return this.serialised(async () => {
      this.drop();
    });
  }

  private async connected(signal: AbortSignal): Promise<Connection> {
    const open = this.connection;
    if (open && !open.socket.destroyed && !open.socket.readableEnded) return open;
    // Gone while idle (the helper restarted): nothing was in flight, so reconnecting is safe.
    this.drop();
    const { socketPath } = this.options;
    const socket = createConnection(socketPath);
    socket.setNoDelay?.(true);
    try {
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        socket.once('connect', () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
        socket.once('error', (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        });
      });
    } catch (error) {
      socket.destroy();
      throw new BackendError(`ipsec helper: cannot connect to ${socketPath}: ${errorMessage(error)}`, { cause: error });
    }
    socket.on('error', (error) => this.options.log?.warn({ socket: socketPath, err: errorMessage(error) }, 'IPsec helper connection failed'));
    socket.unref();
    const connection: Connection = { socket, lines: new SocketLines(socket) };
    this.connection = connection;
    let hello: ReturnType<typeof decodeHelloReply>;
    try {
      const words = await this.exchange([encodeRequest({ kind: 'hello', version: HELPER_PROTOCOL_VERSION })], 'hello', signal);
      hello = this.checked(() => decodeHelloReply(words));
      if (hello.version !== HELPER_PROTOCOL_VERSION) throw new BackendError(`ipsec helper: speaks protocol ${hello.version}, not ${HELPER_PROTOCOL_VERSION}`);
    } catch (error) {
      this.drop();
      throw error;
    }
    this.backendName = hello.backend;
    this.options.log?.info({ socket: socketPath, backend: hello.backend }, 'IPsec helper connected');
    return connection;
  }

  /** Sends request lines and reads the first reply line: the words after OK, or a thrown ERR. */
  private async exchange(lines: readonly string[], what: HelperRequest['kind'], signal: AbortSignal): Promise<readonly string[]> {
    signal.throwIfAborted();
    const connection = what === 'hello' ? this.connection : await this.connected(signal);
    if (!connection) throw new BackendError('ipsec helper: not connected');
    connection.socket.write(`${lines.join('\n')}\n`);
    const line = await this.nextLine(connection, what, signal);
    const reply = this.checked(() => decodeReply(line));
    if (reply.kind === 'err') throw new HelperReplyError(reply.code, `ipsec helper refused ${what}: ${reply.code}: ${reply.message}`);
    return reply.words;
  }

  private async nextLine(connection: Connection, what: string, signal: AbortSignal): Promise<string> {
    connection.socket.ref();
    try {
      const line = await connection.lines.next(signal);
      if (line === undefined) throw new Error('the helper closed the connection');
      return line;
    } catch (error) {
      this.drop();
      throw new BackendError(`ipsec helper: ${what}: ${errorMessage(error)}`, { cause: error });
    } finally {
      connection.socket.unref();
    }
  }

  /** A decoded reply, or the connection dropped (it can no longer be trusted to be in step). */
  private checked<T>(decode: () => T): T {
    try {
      return decode();
    } catch (error) {
      this.drop();
      throw new BackendError(`ipsec helper: unexpected reply: ${errorMessage(error)}`, { cause: error });
    }
  }

  private drop(): void {
    this.connection?.socket.destroy();
    this.connection = undefined;
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** Encoded change lines in batches the helper accepts, a remove and its re-add kept together. */
function batches(changes: readonly PolicyChange[], lines: readonly string[]): string[][] {
  const out: string[][] = [];
  let start = 0;
  while (start < lines.length) {
    let end = Math.min(start + MAX_CHANGES_PER_BATCH, lines.length);
    const last = changes[end - 1];
    const next = changes[end];
    if (end < lines.length && end - start > 1 && last?.op === 'remove' && next?.op === 'add' && policyKey(last.policy) === policyKey(next.policy)) end -= 1;
    out.push(lines.slice(start, end));
    start = end;
  }
  return out;
}
