/**
 * Writing the IPsec state (state-file.ts, state-journal.ts) as the PolicyManager changes it: one
 * write at a time, coalescing requests, each write a journal line holding only what changed since
 * the one before (O(size of the change), not O(entries held)). A snapshot replaces the journal
 * when it has grown past a bound, at the first write (replacing what a crashed process left), at
 * stop, and after any failed write (so a line that may be half on disk is never followed by more).
 *
 * The owner tells the writer what changes as it happens: a batch begins (in flight) or ends, an
 * entry's holders change. A write takes what is pending at its start; the entries it names are
 * read from the owner then, so a line says how things are, not how they were at each step.
 */
import { randomUUID } from 'node:crypto';
import type { PolicySpec } from './backend.js';
import { prepareStateDir, writeStateFile, type IpsecState, type StateEntry, type StateInFlight } from './state-file.js';
import { appendJournal, encodeGroup, startJournal, type JournalGroup } from './state-journal.js';

/** What the writer reads from its owner when a write starts. */
export interface StateSource {
  /** The whole state now, in-flight batches with their `id`. */
  snapshot(): IpsecState;
  /** One entry as it is now; undefined once nobody holds it. */
  entry(key: string): StateEntry | undefined;
  nowMs(): number;
}

/** When the journal is replaced by a snapshot: past `entriesFactor` lines per entry of its snapshot (at least `minLines`), or `maxBytes`. */
export interface CompactionBound {
  readonly minLines: number;
  readonly entriesFactor: number;
  readonly maxBytes: number;
}

/**
 * Amortised, a snapshot costs each line about 1/4 of an entry's encoding; reading at start
 * replays at most a few MB.
 */
export const DEFAULT_COMPACTION: CompactionBound = { minLines: 256, entriesFactor: 4, maxBytes: 8 * 1024 * 1024 };

interface JournalOnDisk {
  readonly id: string;
  readonly maxLines: number;
  lines: number;
  bytes: number;
}

export class StateWriter {
  /** Generation (newest batch number begun) covered by what is on disk. */
  private diskGeneration = -1;
  private generation = 0;
  private readonly begun = new Map<number, StateInFlight>();
  private readonly ended = new Set<number>();
  /** key → the spec the entry had (to name it once it is gone). */
  private readonly touched = new Map<string, PolicySpec>();
  /** The journal after the snapshot on disk; undefined: the next write is a snapshot. */
  private journal: JournalOnDisk | undefined;
  private snapshotWanted = false;
  private running: { readonly generation: number; readonly done: Promise<void> } | undefined;
  private queued: Promise<void> | undefined;
  private dirReady: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    private readonly source: StateSource,
    private readonly bound: CompactionBound = DEFAULT_COMPACTION,
  ) {}

  /** Batch `id` (increasing) is about to reach the backend: in flight from the next write on. */
  begin(id: number, batch: StateInFlight): void {
    this.generation = Math.max(this.generation, id);
    this.begun.set(id, batch);
  }

  /** Batch `id` finished; one that no write recorded as begun needs no line at all. */
  end(id: number): void {
    if (!this.begun.delete(id)) this.ended.add(id);
  }

  /** The entry `key` (with `spec`) changed: added, renewed, an owner fewer, or gone. */
  touch(key: string, spec: PolicySpec): void {
    this.touched.set(key, spec);
  }

  /** Resolves once what was begun up to batch `generation` is on disk; throws if a write fails. */
  async saveCovering(generation: number): Promise<void> {
    while (this.diskGeneration < generation) {
      if (this.running && this.running.generation >= generation) await this.running.done;
      else await this.save();
    }
  }

  /** Resolves once a write started after this call is done. */
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

  /** Like save(), as a snapshot that starts the journal over (at stop: a tidy file for people). */
  compact(): Promise<void> {
    this.snapshotWanted = true;
    return this.save();
  }

  /** Waits for every write asked for so far (failures included, not thrown). */
  async idle(): Promise<void> {
    await (this.queued ?? this.running?.done)?.catch(() => undefined);
  }

  private start(): Promise<void> {
    const generation = this.generation;
    const write = this.needsSnapshot() ? this.takeSnapshot() : this.takeGroup();
    // The directory is made on the first write (reconcile() makes it earlier, and warns about its mode).
    this.dirReady ??= prepareStateDir(this.dir).then(() => undefined, (error: unknown) => {
      this.dirReady = undefined;
      throw error;
    });
    const done: Promise<void> = this.dirReady.then(write)
      .then(() => {
        this.diskGeneration = Math.max(this.diskGeneration, generation);
      }, (error: unknown) => {
        // Whatever this write held is lost from the pending changes, and a line may be half written: start over.
        this.journal = undefined;
        throw error;
      })
      .finally(() => {
        if (this.running?.done === done) this.running = undefined;
      });
    this.running = { generation, done };
    return done;
  }

  private needsSnapshot(): boolean {
    const journal = this.journal;
    return this.snapshotWanted || journal === undefined || journal.lines >= journal.maxLines || journal.bytes >= this.bound.maxBytes;
  }

  private takeSnapshot(): () => Promise<void> {
    const state = this.source.snapshot();
    this.snapshotWanted = false;
    this.begun.clear();
    this.ended.clear();
    this.touched.clear();
    this.journal = undefined;
    const id = randomUUID();
    const maxLines = Math.max(this.bound.minLines, this.bound.entriesFactor * state.entries.length);
    return async () => {
      await writeStateFile(this.dir, state, id);
      await startJournal(this.dir, id);
      this.journal = { id, maxLines, lines: 0, bytes: 0 };
    };
  }

  private takeGroup(): () => Promise<void> {
    const set: StateEntry[] = [];
    const gone: PolicySpec[] = [];
    for (const [key, spec] of this.touched) {
      const entry = this.source.entry(key);
      if (entry) set.push(entry);
      else gone.push(spec);
    }
    const group: JournalGroup = {
      atMs: this.source.nowMs(), begin: [...this.begun].map(([id, batch]) => ({ ...batch, id })), end: [...this.ended], set, gone,
    };
    this.begun.clear();
    this.ended.clear();
    this.touched.clear();
    if (group.begin.length + group.end.length + set.length + gone.length === 0) return async () => undefined;
    const line = encodeGroup(group);
    const journal = this.journal!;
    return async () => {
      await appendJournal(this.dir, line);
      journal.lines += 1;
      journal.bytes += Buffer.byteLength(line);
    };
  }
}
