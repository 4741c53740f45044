/**
 * The IPsec state files (issue 6): what oedns holds in a backend, on disk, so that after a crash
 * the next start can remove or adopt what was left behind (reconcile.ts). They live under
 * `--state-dir` (default /var/lib/oedns), mode 0600 in a 0700 directory:
 *   - `ipsec-state.json`, the snapshot: the whole state at one moment, replaced atomically (a temp
 *     file renamed over it), so a reader sees the old snapshot or the new one, never half of one;
 *   - `ipsec-state.journal`, what changed since (state-journal.ts), one line per write, so that a
 *     change costs what it changed, not what is held. Reading is the snapshot plus the journal.
 * Every change a backend is asked to make is on disk as `inFlight` before the backend sees it;
 * `entries` are those a backend confirmed. Files that do not parse are never trusted: they are
 * moved aside and reported.
 *
 * Nothing is fsynced, on purpose. The files guard against the oedns process dying (SIGKILL, a
 * crash): what it wrote is in the page cache and survives it. An OS crash or a power loss also
 * wipes the kernel SPD (and charon's or racoon's state), so the entries the files would then name
 * are gone anyway: reconcile removes them, tolerating "no such entry", and a file torn by the
 * crash is moved aside as corrupt or, for the journal's last line, ignored (never fatal). The
 * rename still matters: it keeps a snapshot whole for a reader after the process died mid-write.
 */
import { mkdir, open, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackendName, PolicySpec } from './backend.js';
import { decodeSnapshot, decodeState, STATE_FILE_VERSION, StateFileError } from './state-decode.js';
import { decodeJournal, JOURNAL_FILE_NAME, journalPath, replayJournal } from './state-journal.js';

export { decodeState, StateFileError };

export const STATE_FILE_NAME = 'ipsec-state.json';
export const STATE_FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** One SPD entry a backend confirmed, and who holds it until when. */
export interface StateEntry {
  readonly spec: PolicySpec;
  /** [owner, epoch ms its reference lapses]. */
  readonly owners: readonly (readonly [string, number])[];
}

/** Changes a backend may be in the middle of: a put for `owner` (or an expiry, no owner). */
export interface StateInFlight {
  /** The batch's number in the process that wrote it: the journal records its end by this number. */
  readonly id?: number | undefined;
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

/** The snapshot's text; `journalId` names the journal that continues it. */
export function encodeState(state: IpsecState, journalId?: string): string {
  return `${JSON.stringify({ version: STATE_FILE_VERSION, journal: journalId, ...state }, null, 1)}\n`;
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

/** What the journal added to a snapshot that names one. */
export interface JournalSummary {
  /** Lines replayed. */
  readonly groups: number;
  /** A last line cut short (the process died while appending it) was ignored. */
  readonly tornLine: boolean;
  /** The journal belonged to an older snapshot (the process died while compacting): ignored. */
  readonly stale: boolean;
}

export type StateRead =
  | { readonly kind: 'missing' }
  | { readonly kind: 'ok'; readonly state: IpsecState; readonly journal?: JournalSummary }
  | { readonly kind: 'corrupt'; readonly reason: string };

/** The text of a file, or undefined when there is none. */
async function readText(path: string): Promise<string | undefined> {
  try {
    const handle = await open(path, 'r');
    try {
      return await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateFileError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Reads the snapshot and replays the journal that continues it. A snapshot that is missing is
 * `missing` (a journal without one names nothing to act on); one that does not parse, or a journal
 * damaged anywhere but in its last line, is `corrupt`: a result, not an error.
 */
export async function readStateFile(dir: string): Promise<StateRead> {
  const text = await readText(statePath(dir));
  if (text === undefined) return { kind: 'missing' };
  try {
    const { state, journalId } = decodeSnapshot(text);
    if (journalId === undefined) return { kind: 'ok', state };
    const journal = decodeJournal(await readText(journalPath(dir)) ?? '', journalId);
    const summary = { groups: journal.groups.length, tornLine: journal.tornLine, stale: journal.stale };
    return { kind: 'ok', state: replayJournal(state, journal.groups), journal: summary };
  } catch (error) {
    if (!(error instanceof StateFileError)) throw error;
    return { kind: 'corrupt', reason: error.message };
  }
}

/**
 * Renames the snapshot to `ipsec-state.json.<why>-<epoch ms>` beside it, and its journal to
 * `ipsec-state.journal.<why>-<epoch ms>` if there is one; returns the snapshot's new path.
 */
export async function moveStateAside(dir: string, why: string, nowMs: number): Promise<string> {
  const aside = `${statePath(dir)}.${why}-${nowMs}`;
  try {
    await rename(statePath(dir), aside);
    await rename(journalPath(dir), `${journalPath(dir)}.${why}-${nowMs}`).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    });
  } catch (error) {
    throw new StateFileError(`cannot move ${statePath(dir)} aside: ${(error as Error).message}`, { cause: error });
  }
  return aside;
}

/**
 * Writes a snapshot atomically: a temp file (0600) renamed over the old one. No fsync (see the
 * top of this file). `journalId` names the journal that will continue it (state-journal.ts).
 */
export async function writeStateFile(dir: string, state: IpsecState, journalId?: string): Promise<void> {
  const path = statePath(dir);
  const temp = `${path}.tmp-${process.pid}`;
  try {
    const handle = await open(temp, 'w', STATE_FILE_MODE);
    try {
      // A temp file left by an earlier process of the same pid keeps its mode: set it again.
      await handle.chmod(STATE_FILE_MODE);
      await handle.writeFile(encodeState(state, journalId));
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    throw new StateFileError(`cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
}

export { JOURNAL_FILE_NAME, journalPath };
