/**
 * Bytes from a helper socket → lines of the grammar (grammar.ts). Refuses, before any word is
 * looked at, a line longer than MAX_LINE_BYTES (so a peer cannot make the other side buffer
 * without bound) and a byte outside printable ASCII (CR, NUL, escapes, UTF-8).
 */
import type { Socket } from 'node:net';
import { MAX_LINE_BYTES } from './grammar.js';
import { refuse } from './policy-fields.js';

const PRINTABLE = /^[\x20-\x7e]*$/;

export class LineSplitter {
  private pending = '';
  private failure: Error | undefined;

  constructor(private readonly maxLineBytes = MAX_LINE_BYTES) {}

  /**
   * The lines `chunk` completes, without their LF, up to the first bad one; from then on
   * `failure` holds the HelperGrammarError and nothing more is returned.
   */
  push(chunk: Uint8Array): string[] {
    if (this.failure) return [];
    // latin1 maps each byte to one character, so lengths are byte counts and any byte >= 0x80 shows.
    const parts = (this.pending + Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1')).split('\n');
    this.pending = parts.pop() ?? '';
    const good: string[] = [];
    try {
      for (const line of parts) good.push(check(line, this.maxLineBytes));
      if (this.pending.length >= this.maxLineBytes) refuse(`line longer than ${this.maxLineBytes} bytes`);
    } catch (error) {
      this.failure = error as Error;
      this.pending = '';
    }
    return good;
  }

  /** Why the input stopped being lines, if it did. */
  get error(): Error | undefined {
    return this.failure;
  }
}

function check(line: string, maxLineBytes: number): string {
  if (line.length + 1 > maxLineBytes) refuse(`line longer than ${maxLineBytes} bytes`);
  if (!PRINTABLE.test(line)) refuse('line has a byte outside printable ASCII');
  return line;
}

/** Lines buffered before the socket is paused (a peer that pipelines requests waits in the kernel). */
const HIGH_WATER_LINES = 256;

/** The lines arriving on a socket, one `next()` at a time. */
export class SocketLines {
  private readonly splitter: LineSplitter;
  private readonly lines: string[] = [];
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(private readonly socket: Socket, maxLineBytes = MAX_LINE_BYTES) {
    this.splitter = new LineSplitter(maxLineBytes);
    socket.on('data', (chunk: Buffer) => {
      for (const line of this.splitter.push(chunk)) this.lines.push(line);
      if (this.splitter.error || this.lines.length >= HIGH_WATER_LINES) socket.pause();
      this.wake?.();
    });
    const end = (): void => {
      this.ended = true;
      this.wake?.();
    };
    socket.on('end', end);
    socket.on('close', end);
  }

  /**
   * The next line; undefined once the peer has closed. Throws the HelperGrammarError of a bad
   * line (after the good lines before it), and `signal`'s reason when it aborts.
   */
  async next(signal?: AbortSignal): Promise<string | undefined> {
    for (;;) {
      signal?.throwIfAborted();
      const line = this.lines.shift();
      if (line !== undefined) {
        if (this.lines.length < HIGH_WATER_LINES && !this.splitter.error && this.socket.isPaused()) this.socket.resume();
        return line;
      }
      if (this.splitter.error) throw this.splitter.error;
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.wake = undefined;
          signal?.removeEventListener('abort', done);
          resolve();
        };
        this.wake = done;
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }
}
