/**
 * The policy lifecycle, the same for every backend (issue 6): each owner (a name and query type
 * whose decision wants policies) holds references to SPD entries until its decision expires; an
 * entry shared by several names (one address) stays while any holds it, and a renewal extends it
 * without a gap; an entry nobody holds is removed. Changes go to the backend one batch at a time.
 *
 * With a state directory, every batch is on disk as in flight before the backend sees it, and
 * what the backend confirmed is written after (state-file.ts); at start, reconcile() removes or
 * adopts what a crashed oedns left behind (reconcile.ts). Writes are coalesced and hold only what
 * changed (state-writer.ts): a burst of puts queued behind one another shares a few journal
 * lines, yet no add reaches the backend before its intent is on disk.
 *
 * A put that fails for a `require` entry falls back to blocking it (fail closed); the put still
 * throws, so the decision is reported failed and its answer is SERVFAIL.
 */
import { BackendError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { InstalledPolicy, IpsecBackend, PolicyChange, PolicySpec } from './backend.js';
import { policyKey, sameAction } from './policy-key.js';
import { planReconcile, type ReconcilePlan } from './reconcile.js';
import { moveStateAside, prepareStateDir, readStateFile, statePath, type IpsecState, type StateEntry, type StateInFlight } from './state-file.js';
import { StateWriter, type CompactionBound } from './state-writer.js';

interface Entry {
  spec: PolicySpec;
  /** owner → epoch ms its reference lapses. */
  readonly owners: Map<string, number>;
}

export interface ManagedPolicy {
  readonly spec: PolicySpec;
  readonly owners: readonly string[];
  readonly expiresAtMs: number;
}

export interface PolicyManagerOptions {
  /**
   * Where the state file lives (`--state-dir`); without one nothing is recorded (dry-run, tests).
   * With one, call reconcile() before the first put: the first write replaces the file a crashed
   * process left.
   */
  readonly stateDir?: string | undefined;
  /** When the state journal is compacted into a snapshot (tests); state-writer.ts has the default. */
  readonly compaction?: CompactionBound | undefined;
}

export type ReconcileCounts = ReconcilePlan['counts'] & { readonly removed: number };

/** Reading the state, listing the backend and removing what is left, at start. */
const RECONCILE_TIMEOUT_MS = 60_000;
/** How long cleaning up after a failed batch, or blocking instead, may take (the decision's own deadline may have passed). */
const FAIL_CLOSED_TIMEOUT_MS = 10_000;

/**
 * What a put that failed falls back to: its `require` entries as blocks, its bypasses and blocks
 * kept, nothing else (`use` entries go, as `use` without IPsec means clear). Undefined when
 * nothing in it is required.
 */
export function failClosed(specs: readonly PolicySpec[]): PolicySpec[] | undefined {
  const required = (s: PolicySpec): boolean => s.action.kind === 'protect' && s.action.level === 'require';
  if (!specs.some(required)) return undefined;
  return specs.flatMap((s): PolicySpec[] => {
    if (required(s)) return [{ family: s.family, local: s.local, remote: s.remote, selector: s.selector, action: { kind: 'block' } }];
    return s.action.kind === 'pass' || s.action.kind === 'block' ? [s] : [];
  });
}

export class PolicyManager {
  private readonly entries = new Map<string, Entry>();
  /** owner → keys of the entries it holds (so a put does not scan every entry). */
  private readonly held = new Map<string, Set<string>>();
  /** Batches registered and not yet finished, by generation (the state file lists them as in flight). */
  private readonly inFlight = new Map<number, StateInFlight>();
  private generation = 0;
  private readonly writer: StateWriter | undefined;
  private stopped = false;
  /** Backend calls, one after the other. */
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly backend: IpsecBackend,
    private readonly log: Logger,
    private readonly nowMs: () => number = Date.now,
    options: PolicyManagerOptions = {},
  ) {
    this.writer = options.stateDir === undefined ? undefined : new StateWriter(options.stateDir, {
      snapshot: () => this.snapshot(),
      entry: (key) => this.stateEntry(key),
      nowMs: () => this.nowMs(),
    }, options.compaction);
  }

  /** Checks for lapsed references every `intervalMs` (the timer does not keep the process alive). */
  start(intervalMs = 1000): void {
    this.timer ??= setInterval(() => void this.expire(new AbortController().signal).catch(() => undefined), intervalMs).unref();
  }

  /**
   * At start, before anything is answered: reads the state file, asks the backend what is
   * installed, adopts what may be kept and removes the rest (reconcile.ts). A state file that does
   * not parse, or that another backend wrote, is moved aside and logged. Throws when the backend
   * cannot list or remove, or the state directory cannot be used (fatal at startup).
   */
  reconcile(signal: AbortSignal = AbortSignal.timeout(RECONCILE_TIMEOUT_MS)): Promise<ReconcileCounts> {
    return this.serialised(async () => {
      const { state, journal } = await this.readState();
      const listed = await this.backend.list(signal);
      const plan = planReconcile(state, listed, this.nowMs());
      for (const { spec, owners } of plan.adopt) {
        const key = policyKey(spec);
        this.entries.set(key, { spec, owners: new Map() });
        for (const [owner, untilMs] of owners) this.hold(key, owner, untilMs);
      }
      if (plan.remove.length > 0) {
        await this.inFlightWhile({ specs: plan.remove }, () => this.backend.apply(plan.remove.map((policy) => ({ op: 'remove', policy })), signal));
      }
      await this.writer?.save();
      const counts = { ...plan.counts, removed: plan.remove.length };
      this.log.info({ ...counts, backend: this.backend.name, stateFile: this.writer ? statePath(this.writer.dir) : null, ...journal }, 'IPsec state reconciled');
      return counts;
    });
  }

  /**
   * The entries `owner` wants now, held until `expiresAtMs`. New entries are added, entries whose
   * action changed are replaced, entries the owner no longer wants lose its reference (and go if
   * nobody else holds them). Throws BackendError when the backend fails; the owner then holds
   * nothing it did not hold before, except blocks for its `require` entries (failClosed).
   */
  put(owner: string, specs: readonly PolicySpec[], expiresAtMs: number, signal: AbortSignal): Promise<void> {
    if (this.stopped) return Promise.reject(new BackendError(`IPsec policies for ${owner} refused: oedns is stopping`));
    // Registered now, so that a state write made while this put waits in the queue carries its intent.
    const generation = this.register({ owner, specs });
    return this.serialised(async () => {
      try {
        await this.putOrBlock(owner, specs, expiresAtMs, signal, generation);
      } finally {
        this.finish(generation);
        this.saveLater();
      }
    });
  }

  /** Drops references that have lapsed and removes the entries nobody holds any more. */
  expire(signal: AbortSignal): Promise<void> {
    return this.serialised(async () => {
      const now = this.nowMs();
      const gone: [string, Entry][] = [];
      for (const [key, entry] of this.entries) {
        for (const [owner, until] of entry.owners) if (until <= now) this.release(key, entry, owner);
        if (entry.owners.size === 0) gone.push([key, entry]);
      }
      if (gone.length === 0) return;
      const specs = gone.map(([, e]) => e.spec);
      try {
        await this.inFlightWhile({ specs }, () => this.backend.apply(specs.map((policy) => ({ op: 'remove', policy })), signal));
        for (const [key] of gone) this.entries.delete(key);
        this.log.info({ removed: gone.length }, 'IPsec policies expired');
      } catch (error) {
        this.log.error({ err: errorMessage(error) }, 'expiring IPsec policies failed; retrying');
      }
      this.saveLater();
    });
  }

  /** What oedns holds now, for `oedns status`. */
  list(): readonly ManagedPolicy[] {
    return [...this.entries.values()].map((e) => ({ spec: e.spec, owners: [...e.owners.keys()], expiresAtMs: Math.max(...e.owners.values()) }));
  }

  /**
   * Removes everything oedns installed (SIGTERM) and records that nothing is held; later puts are
   * refused. When the backend fails, the state file keeps what may be left, for the next start.
   */
  stop(signal: AbortSignal): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    return this.serialised(async () => {
      const generation = this.register({ specs: [...this.entries.values()].map((e) => e.spec) });
      try {
        // Removing matters more than recording that it started: a state file that cannot be written does not stop it.
        await this.writer?.saveCovering(generation).catch((error: unknown) => this.log.error({ err: errorMessage(error) }, 'writing the IPsec state file failed; removing anyway'));
        await this.backend.removeAll(signal);
      } finally {
        this.finish(generation);
      }
      this.entries.clear();
      this.held.clear();
      // A snapshot of nothing, the journal started over. A file left listing removed entries is
      // harmless: the next start removes them again, tolerantly.
      await this.writer?.compact().catch((error: unknown) => this.log.error({ err: errorMessage(error) }, 'writing the IPsec state file failed'));
    });
  }

  /** What the backend reports (for reconciling and status). */
  installed(signal: AbortSignal): Promise<readonly InstalledPolicy[]> {
    return this.serialised(() => this.backend.list(signal));
  }

  /** Resolves when every state write asked for so far is done (tests, shutdown). */
  async flushed(): Promise<void> {
    await this.writer?.idle();
  }

  private async putOrBlock(owner: string, specs: readonly PolicySpec[], expiresAtMs: number, signal: AbortSignal, generation: number): Promise<void> {
    try {
      await this.change(owner, specs, expiresAtMs, signal, generation);
    } catch (error) {
      const fallback = failClosed(specs);
      if (fallback === undefined || this.stopped) throw error;
      const blocked = fallback.filter((s) => s.action.kind === 'block').map((s) => s.remote);
      try {
        // The decision's signal may be what failed (its deadline): the block gets its own.
        await this.change(owner, fallback, expiresAtMs, AbortSignal.timeout(FAIL_CLOSED_TIMEOUT_MS), generation);
        this.log.error({ owner, blocked, err: errorMessage(error) }, 'IPsec install failed; blocking the required addresses instead');
      } catch (blockError) {
        this.log.error({ owner, blocked, err: errorMessage(error), blockErr: errorMessage(blockError) }, 'IPsec install failed, and so did blocking instead');
      }
      throw error;
    }
  }

  /** One put's changes to the backend and the books; the books change only when the backend succeeded. */
  private async change(owner: string, specs: readonly PolicySpec[], expiresAtMs: number, signal: AbortSignal, generation: number): Promise<void> {
    const wanted = new Map(specs.map((s) => [policyKey(s), s]));
    const changes: PolicyChange[] = [];
    let added = 0;
    for (const [key, spec] of wanted) {
      const entry = this.entries.get(key);
      if (!entry) {
        changes.push({ op: 'add', policy: spec });
        added++;
      } else if (!sameAction(entry.spec, spec)) {
        changes.push({ op: 'remove', policy: entry.spec }, { op: 'add', policy: spec });
      }
    }
    const released = [...this.held.get(owner) ?? []].filter((key) => !wanted.has(key)).map((key) => [key, this.entries.get(key)!] as const);
    for (const [, entry] of released) {
      if (entry.owners.size === 1) changes.push({ op: 'remove', policy: entry.spec });
    }
    if (changes.length > 0) {
      if (signal.aborted) throw new BackendError(`IPsec policies for ${owner} not applied: ${errorMessage(signal.reason)}`, { cause: signal.reason });
      await this.writer?.saveCovering(generation);
      try {
        await this.backend.apply(changes, signal);
      } catch (error) {
        await this.takeBackAdds(changes);
        throw error;
      }
    }
    for (const [key, spec] of wanted) {
      const entry = this.entries.get(key) ?? { spec, owners: new Map<string, number>() };
      entry.spec = spec;
      this.entries.set(key, entry);
      this.hold(key, owner, Math.max(expiresAtMs, entry.owners.get(owner) ?? 0));
    }
    for (const [key, entry] of released) {
      this.release(key, entry, owner);
      if (entry.owners.size === 0) this.entries.delete(key);
    }
    if (changes.length > 0) this.log.info({ owner, added, changes: changes.length }, 'IPsec policies applied');
  }

  /**
   * After a failed batch: the backend undid the change that failed, but the changes before it
   * stand (`ip -batch` stops at the first failing line). The books keep their state from before
   * the batch, so the adds among those changes are taken back; removals that went through are
   * harmless (a later removal of a missing entry is tolerated, a later add finds the place free).
   */
  private async takeBackAdds(changes: readonly PolicyChange[]): Promise<void> {
    const adds = changes.filter((c) => c.op === 'add').map((c): PolicyChange => ({ op: 'remove', policy: c.policy }));
    try {
      await this.backend.apply(adds, AbortSignal.timeout(FAIL_CLOSED_TIMEOUT_MS));
    } catch (error) {
      this.log.error({ err: errorMessage(error), adds: adds.length }, 'taking back the adds of a failed IPsec batch failed; stop or the next start removes them');
    }
  }

  private hold(key: string, owner: string, untilMs: number): void {
    const entry = this.entries.get(key)!;
    entry.owners.set(owner, untilMs);
    this.writer?.touch(key, entry.spec);
    const keys = this.held.get(owner) ?? new Set<string>();
    keys.add(key);
    this.held.set(owner, keys);
  }

  private release(key: string, entry: Entry, owner: string): void {
    entry.owners.delete(owner);
    this.writer?.touch(key, entry.spec);
    const keys = this.held.get(owner);
    keys?.delete(key);
    if (keys?.size === 0) this.held.delete(owner);
  }

  /** Runs `work` with `batch` recorded as in flight, on disk before `work` starts. */
  private async inFlightWhile<T>(batch: StateInFlight, work: () => Promise<T>): Promise<T> {
    const generation = this.register(batch);
    try {
      await this.writer?.saveCovering(generation);
      return await work();
    } finally {
      this.finish(generation);
    }
  }

  private register(batch: StateInFlight): number {
    this.generation += 1;
    this.inFlight.set(this.generation, batch);
    this.writer?.begin(this.generation, batch);
    return this.generation;
  }

  private finish(generation: number): void {
    this.inFlight.delete(generation);
    this.writer?.end(generation);
  }

  /** The state after a change, written when the writer gets to it (nothing waits for it). */
  private saveLater(): void {
    this.writer?.save().catch((error: unknown) => this.log.error({ err: errorMessage(error) }, 'writing the IPsec state file failed'));
  }

  private snapshot(): IpsecState {
    const entries = [...this.entries.values()].map((e) => ({ spec: e.spec, owners: [...e.owners] }));
    const inFlight = [...this.inFlight].map(([id, batch]) => ({ ...batch, id }));
    return { backend: this.backend.name, pid: process.pid, writtenAtMs: this.nowMs(), entries, inFlight };
  }

  private stateEntry(key: string): StateEntry | undefined {
    const entry = this.entries.get(key);
    return entry && { spec: entry.spec, owners: [...entry.owners] };
  }

  /**
   * The state a previous oedns left, if this backend can act on it (moves aside one it cannot),
   * and what its journal added, for the log.
   */
  private async readState(): Promise<{ state?: IpsecState; journal?: Record<string, number | boolean> }> {
    if (!this.writer) return {};
    const dir = this.writer.dir;
    const warning = await prepareStateDir(dir);
    if (warning) this.log.warn({ stateDir: dir }, warning);
    const read = await readStateFile(dir);
    if (read.kind === 'missing') return {};
    const file = statePath(dir);
    if (read.kind === 'corrupt') {
      const movedTo = await moveStateAside(dir, 'corrupt', this.nowMs());
      this.log.error({ stateFile: file, movedTo, reason: read.reason }, 'IPsec state file unreadable; moved aside, removing every entry of oedns the backend lists');
      return {};
    }
    const { state } = read;
    const journal = read.journal && { journalLines: read.journal.groups, journalTornLine: read.journal.tornLine, journalStale: read.journal.stale };
    if (state.backend === this.backend.name) return { state, journal };
    const left = state.entries.length + state.inFlight.length;
    if (left === 0) return {};
    const movedTo = await moveStateAside(dir, `${state.backend}`, this.nowMs());
    this.log.error({ stateFile: file, movedTo, stateBackend: state.backend, backend: this.backend.name, entries: state.entries.length, inFlight: state.inFlight.length },
      `IPsec state file lists entries of the ${state.backend} backend, which the ${this.backend.name} backend cannot remove: moved aside; remove them with --ipsec-backend ${state.backend}, or by hand`);
    return {};
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
