/**
 * The IPsec state file (issue 6): what oedns holds in a backend, on disk, so that after a crash
 * the next start can remove or adopt what was left behind (reconcile.ts). It lives under
 * `--state-dir` (default /var/lib/oedns) as `ipsec-state.json`, mode 0600 in a 0700 directory.
 *
 * Written atomically (a temp file, fsync, rename, fsync of the directory), so a reader sees the
 * old file or the new one, never half of one. Every change a backend is asked to make is on disk
 * as `inFlight` before the backend sees it; `entries` are those a backend confirmed. A file that
 * does not parse is never trusted: it is moved aside and reported.
 */
import { mkdir, open, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackendName, PolicySpec } from './backend.js';
import { decodeState, STATE_FILE_VERSION, StateFileError } from './state-decode.js';

export { decodeState, StateFileError };

export const STATE_FILE_NAME = 'ipsec-state.json';
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** One SPD entry a backend confirmed, and who holds it until when. */
export interface StateEntry {
  readonly spec: PolicySpec;
  /** [owner, epoch ms its reference lapses]. */
  readonly owners: readonly (readonly [string, number])[];
}

/** Changes a backend may be in the middle of: a put for `owner` (or an expiry, no owner). */
export interface StateInFlight {
  readonly owner?: string | undefined;
  readonly specs: readonly PolicySpec[];
}

export interface IpsecState {
  readonly backend: BackendName;
  /** The process that wrote it (for people reading the file). */
  readonly pid: number;
  readonly writtenAtMs: number;
  readonly entries: readonly StateEntry[];
  readonly inFlight: readonly StateInFlight[];
}

export function statePath(dir: string): string {
  return join(dir, STATE_FILE_NAME);
}

export function encodeState(state: IpsecState): string {
  return `${JSON.stringify({ version: STATE_FILE_VERSION, ...state }, null, 1)}\n`;
}

/**
 * Creates the directory (0700) if needed. Returns a warning when an existing directory is open
 * to group or others: oedns never changes the mode of a directory it did not create.
 */
export async function prepareStateDir(dir: string): Promise<string | undefined> {
  try {
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
    const info = await stat(dir);
    if (!info.isDirectory()) throw new StateFileError(`state directory ${dir} is not a directory`);
    return (info.mode & 0o077) !== 0 ? `state directory ${dir} is accessible to group or others (mode ${(info.mode & 0o777).toString(8)})` : undefined;
  } catch (error) {
    if (error instanceof StateFileError) throw error;
    throw new StateFileError(`cannot use state directory ${dir}: ${(error as Error).message}`, { cause: error });
  }
}

export type StateRead =
  | { readonly kind: 'missing' }
  | { readonly kind: 'ok'; readonly state: IpsecState }
  | { readonly kind: 'corrupt'; readonly reason: string };

/** Reads the state file; a file that is missing or does not parse is a result, not an error. */
export async function readStateFile(dir: string): Promise<StateRead> {
  let text: string;
  try {
    const handle = await open(statePath(dir), 'r');
    try {
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw new StateFileError(`cannot read ${statePath(dir)}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return { kind: 'ok', state: decodeState(text) };
  } catch (error) {
    return { kind: 'corrupt', reason: (error as Error).message };
  }
}

/** Renames the state file to `ipsec-state.json.<why>-<epoch ms>` beside it; returns the new path. */
export async function moveStateAside(dir: string, why: string, nowMs: number): Promise<string> {
  const aside = `${statePath(dir)}.${why}-${nowMs}`;
  try {
    await rename(statePath(dir), aside);
  } catch (error) {
    throw new StateFileError(`cannot move ${statePath(dir)} aside: ${(error as Error).message}`, { cause: error });
  }
  return aside;
}

/** Writes the whole file atomically: temp file (0600), fsync, rename over the old one, fsync of the directory. */
export async function writeStateFile(dir: string, state: IpsecState): Promise<void> {
  const path = statePath(dir);
  const temp = `${path}.tmp-${process.pid}`;
  try {
    const handle = await open(temp, 'w', FILE_MODE);
    try {
      // A temp file left by an earlier process of the same pid keeps its mode: set it again.
      await handle.chmod(FILE_MODE);
      await handle.writeFile(encodeState(state));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    const directory = await open(dir, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  } catch (error) {
    throw new StateFileError(`cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Writes snapshots of the state, one at a time, coalescing requests: every request made while a
 * write runs is served by the one write after it. A snapshot carries a generation (the number of
 * in-flight changes registered when it was taken), so a change whose intent a running write
 * already holds waits for that write instead of asking for another.
 */
export class StateWriter {
  /** Generation of the newest snapshot on disk. */
  private diskGeneration = -1;
  private running: { readonly generation: number; readonly done: Promise<void> } | undefined;
  private queued: Promise<void> | undefined;
  private dirReady: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    private readonly snapshot: () => { readonly state: IpsecState; readonly generation: number },
  ) {}

  /** Resolves once a snapshot of generation `generation` or later is on disk; throws if a write fails. */
  async saveCovering(generation: number): Promise<void> {
    while (this.diskGeneration < generation) {
      if (this.running && this.running.generation >= generation) await this.running.done;
      else await this.save();
    }
  }

  /** Resolves once a snapshot taken after this call is on disk. */
  save(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) return this.start();
    const queued = this.running.done.catch(() => undefined).then(() => {
      this.queued = undefined;
      return this.start();
    });
    this.queued = queued;
    return queued;
  }

  /** Waits for every write asked for so far (failures included, not thrown). */
  async idle(): Promise<void> {
    await (this.queued ?? this.running?.done)?.catch(() => undefined);
  }

  private start(): Promise<void> {
    const { state, generation } = this.snapshot();
    // The directory is made on the first write (reconcile() makes it earlier, and warns about its mode).
    this.dirReady ??= prepareStateDir(this.dir).then(() => undefined, (error: unknown) => {
      this.dirReady = undefined;
      throw error;
    });
    const done: Promise<void> = this.dirReady.then(() => writeStateFile(this.dir, state))
      .then(() => {
        this.diskGeneration = Math.max(this.diskGeneration, generation);
      })
      .finally(() => {
        if (this.running?.done === done) this.running = undefined;
      });
    this.running = { generation, done };
    return done;
  }
}
