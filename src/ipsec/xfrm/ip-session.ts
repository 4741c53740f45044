/**
 * A long-lived `ip -s [-n NS] -force -batch -`: one process for many commands, so a command costs
 * a write to a pipe (~0.1 ms) instead of a process start (~4 ms from Node, measured here).
 *
 * Completion: after each command the session writes a marker line, an object name `ip` does not
 * know (`oedns-done-N`). `ip` answers it on stderr (`Object "oedns-done-N" is unknown ...`, then
 * `Command failed -:L`) and, under -force, reads on. stderr is unbuffered, so the marker comes
 * back as soon as the command before it is done. A command's stdout (`get`) was flushed before
 * that (iproute2 6.1's xfrm_policy_print ends with fflush), but it travels in another pipe and
 * Node may read the marker first; so a run of printing commands also waits until stdout holds one
 * block (a line starting in column 0, then indented lines) per command done, and hands the run's
 * stdout back whole, not split by command.
 *
 * Failure: iproute2's xfrm commands exit() on every error (exit(2) when the kernel refuses,
 * exit(-1) on a bad argument), so a failing command ends the process and nothing after it runs.
 * Any stderr line that is not a marker's counts as a failure of the command being run: the
 * session then closes stdin (so a process that read on could run only what is already in the
 * pipe) and waits for the exit. A command is `failed` when `ip` said why and ended: it took no
 * effect. It is `lost` when it may or may not have: the process ended during it without saying
 * why (killed, or its input cut), or it complained and went on. The next run() starts a new
 * process.
 *
 * Listings (`xfrm policy show`) cannot run here: iproute2 exits after printing them.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Socket } from 'node:net';
import { BackendError, errorMessage } from '../../core/errors.js';
import { batchInput, commandText, ipArgv, SESSION_WORDS, type IpCommandOptions } from './xfrm-commands.js';

export interface CommandOutcome {
  /** ok: done; failed: `ip` said why and ended, no effect; lost: effect unknown; not-run. */
  readonly status: 'ok' | 'failed' | 'lost' | 'not-run';
  readonly stderr: string;
}

export interface SessionResult {
  readonly outcomes: readonly CommandOutcome[];
  /**
   * Everything the run printed on stdout, in order. Not split by command: stdout and stderr are
   * two pipes, and Node may read a marker before the output that preceded it.
   */
  readonly stdout: string;
}

const MARKER_WORD = 'oedns-done-';
const MARKER_LINE = /^Object "oedns-done-(\d+)" is unknown/;
const MARKER_TRAILER = /^Command failed -:\d+$/;

interface Pending {
  readonly words: readonly string[];
  readonly marker: number;
  stderr: string;
  marked: boolean;
}

/** One process and the commands of the current run(). */
class Running {
  readonly child: ChildProcessWithoutNullStreams;
  pending: Pending[] = [];
  /** How many of `pending` are marked. */
  marked = 0;
  stdout = '';
  /** Lines of `stdout` that start in column 0: one per policy `ip` printed. */
  blocks = 0;
  /** Whether each command of the run prints one block when it succeeds. */
  printing = false;
  private errLine = '';
  private afterMarker = false;
  private wake: (() => void) | undefined;
  alive = true;
  exitText = '';

  constructor(ip: IpCommandOptions) {
    this.child = spawn(ip.ipPath, ipArgv(ip, SESSION_WORDS), { env: { ...process.env, LC_ALL: 'C' }, stdio: 'pipe', shell: false });
    const gone = (text: string): void => {
      if (!this.alive) return;
      this.alive = false;
      this.exitText = text;
      this.onStderr('\n');
      this.notify();
    };
    // 'close', not 'exit': by then stderr has been read to its end.
    this.child.on('close', (code, sig) => gone(sig ? `ip ended by ${sig}` : `ip exited with status ${String(code)}`));
    this.child.on('error', (error) => gone(`ip could not run: ${errorMessage(error)}`));
    this.child.stdin.on('error', () => undefined);
    this.child.stdout.setEncoding('utf8').on('data', (text: string) => {
      this.blocks += ((this.stdout === '' ? '\n' : this.stdout.slice(-1)) + text).match(/\n\S/g)?.length ?? 0;
      this.stdout += text;
      if (this.printing) this.notify();
    });
    this.child.stderr.setEncoding('utf8').on('data', (text: string) => this.onStderr(text));
  }

  /** The command `ip` is on: markers come back in order, so the one after the last marked. */
  current(): Pending | undefined {
    return this.pending[this.marked];
  }

  /** Whether later commands can go to this process. */
  get usable(): boolean {
    return this.alive && !this.child.stdin.writableEnded && !this.child.stdin.destroyed;
  }

  /** Resolves on the next event (output, marker, exit, abort). */
  changed(): Promise<void> {
    return new Promise((resolve) => { this.wake = resolve; });
  }

  setRef(ref: boolean): void {
    if (ref) this.child.ref(); else this.child.unref();
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr]) {
      // With stdio 'pipe' these are net.Sockets over pipes; unref'd, an idle `ip` keeps no one alive.
      const socket = stream as unknown as Socket;
      if (ref) socket.ref(); else socket.unref();
    }
  }

  notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private onStderr(text: string): void {
    const lines = (this.errLine + text).split('\n');
    this.errLine = lines.pop() ?? '';
    let failed = false;
    for (const line of lines) {
      const marker = MARKER_LINE.exec(line);
      const current = this.current();
      if (marker) {
        const at = Number(marker[1]) - (this.pending[0]?.marker ?? 0);
        const p = this.pending[at];
        if (p) {
          p.marked = true;
          this.marked = at + 1;
        }
        this.afterMarker = true;
      } else if (this.afterMarker && MARKER_TRAILER.test(line)) {
        this.afterMarker = false;
      } else if (line !== '') {
        this.afterMarker = false;
        if (current) current.stderr += `${line}\n`;
        // Nothing more may run after a failure: no more input.
        this.child.stdin.end();
        failed = true;
      }
    }
    // The run waits for its last marker or a failure; markers before the last wake no one.
    if (failed || this.marked === this.pending.length) this.notify();
  }
}

export class IpSession {
  private running: Running | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private nextMarker = 0;

  constructor(private readonly ip: IpCommandOptions) {}

  /**
   * Runs the commands in order, all written at once, and reports each. Stops at the first
   * failure: the outcomes after it are `not-run` (or what really happened, if `ip` went on).
   * `printing`: every command prints one policy when it succeeds (`get`), and the run waits for it.
   */
  run(commands: readonly (readonly string[])[], signal: AbortSignal, printing = false): Promise<SessionResult> {
    const work = (): Promise<SessionResult> => this.runNow(commands, signal, printing);
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Ends the process (its stdin closes; it exits after the command it is running). */
  close(): void {
    this.running?.child.stdin.end();
    this.running?.setRef(false);
    this.running = undefined;
  }

  private async runNow(commands: readonly (readonly string[])[], signal: AbortSignal, printing: boolean): Promise<SessionResult> {
    signal.throwIfAborted();
    if (commands.length === 0) return { outcomes: [], stdout: '' };
    if (!this.running?.usable) this.running = new Running(this.ip);
    const running = this.running;
    running.setRef(true);
    running.pending = commands.map((words) => ({ words, marker: this.nextMarker++, stderr: '', marked: false }));
    running.stdout = '';
    running.blocks = 0;
    running.printing = printing;
    running.marked = 0;
    const onAbort = (): void => {
      running.child.stdin.destroy();
      running.child.kill('SIGKILL');
      running.notify();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      running.child.stdin.write(batchInput(running.pending.flatMap((p) => [p.words, [`${MARKER_WORD}${p.marker}`]])));
      while (running.alive && !this.finished(running) && !signal.aborted) await running.changed();
      if (signal.aborted) throw new BackendError(`xfrm: ${commandText(this.ip, SESSION_WORDS)} aborted`, { cause: signal.reason });
      if (!running.alive && running.exitText.startsWith('ip could not run')) {
        throw new BackendError(`xfrm: ${commandText(this.ip, SESSION_WORDS)} could not run: ${running.exitText}`);
      }
      return { outcomes: this.outcomes(running), stdout: running.stdout };
    } finally {
      signal.removeEventListener('abort', onAbort);
      running.setRef(false);
      if (!running.usable && this.running === running) this.running = undefined;
    }
  }

  /** Every command marked (and, printing, its block read); the loop also ends when the process is gone. */
  private finished(running: Running): boolean {
    if (!(running.pending[running.pending.length - 1]?.marked ?? true)) return false;
    return !running.printing || running.blocks >= running.pending.filter((p) => p.stderr === '').length;
  }

  private outcomes(running: Running): readonly CommandOutcome[] {
    let ended = false;
    return running.pending.map((p) => {
      if (ended) return { status: 'not-run', stderr: p.stderr };
      if (p.marked) return p.stderr === '' ? { status: 'ok', stderr: '' } : { status: 'lost', stderr: p.stderr };
      ended = true;
      return p.stderr === '' ? { status: 'lost', stderr: running.exitText } : { status: 'failed', stderr: p.stderr };
    });
  }
}
