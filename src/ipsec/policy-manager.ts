/**
 * The policy lifecycle, the same for every backend (issue 6): each owner (a name and query type
 * whose decision wants policies) holds references to SPD entries until its decision expires; an
 * entry shared by several names (one address) stays while any holds it, and a renewal extends it
 * without a gap; an entry nobody holds is removed. Changes go to the backend one batch at a time.
 */
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { InstalledPolicy, IpsecBackend, PolicyChange, PolicySpec } from './backend.js';
import { policyKey, sameAction } from './policy-key.js';

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

export class PolicyManager {
  private readonly entries = new Map<string, Entry>();
  /** Backend calls, one after the other. */
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly backend: IpsecBackend,
    private readonly log: Logger,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Checks for lapsed references every `intervalMs` (the timer does not keep the process alive). */
  start(intervalMs = 1000): void {
    this.timer ??= setInterval(() => void this.expire(new AbortController().signal).catch(() => undefined), intervalMs).unref();
  }

  /**
   * The entries `owner` wants now, held until `expiresAtMs`. New entries are added, entries whose
   * action changed are replaced, entries the owner no longer wants lose its reference (and go if
   * nobody else holds them). Throws BackendError when the backend fails; the owner then holds
   * nothing it did not hold before.
   */
  put(owner: string, specs: readonly PolicySpec[], expiresAtMs: number, signal: AbortSignal): Promise<void> {
    return this.serialised(async () => {
      const wanted = new Map(specs.map((s) => [policyKey(s), s]));
      const changes: PolicyChange[] = [];
      const added: string[] = [];
      for (const [key, spec] of wanted) {
        const entry = this.entries.get(key);
        if (!entry) {
          changes.push({ op: 'add', policy: spec });
          added.push(key);
        } else if (!sameAction(entry.spec, spec)) {
          changes.push({ op: 'remove', policy: entry.spec }, { op: 'add', policy: spec });
        }
      }
      const released = [...this.entries].filter(([key, e]) => e.owners.has(owner) && !wanted.has(key));
      for (const [, entry] of released) {
        if (entry.owners.size === 1) changes.push({ op: 'remove', policy: entry.spec });
      }
      if (changes.length > 0) await this.backend.apply(changes, signal);
      for (const [key, spec] of wanted) {
        const entry = this.entries.get(key) ?? { spec, owners: new Map<string, number>() };
        entry.spec = spec;
        entry.owners.set(owner, Math.max(expiresAtMs, entry.owners.get(owner) ?? 0));
        this.entries.set(key, entry);
      }
      for (const [key, entry] of released) {
        entry.owners.delete(owner);
        if (entry.owners.size === 0) this.entries.delete(key);
      }
      if (changes.length > 0) this.log.info({ owner, added: added.length, changes: changes.length }, 'IPsec policies applied');
    });
  }

  /** Drops references that have lapsed and removes the entries nobody holds any more. */
  expire(signal: AbortSignal): Promise<void> {
    return this.serialised(async () => {
      const now = this.nowMs();
      const gone: [string, Entry][] = [];
      for (const [key, entry] of this.entries) {
        for (const [owner, until] of entry.owners) if (until <= now) entry.owners.delete(owner);
        if (entry.owners.size === 0) gone.push([key, entry]);
      }
      if (gone.length === 0) return;
      try {
        await this.backend.apply(gone.map(([, e]) => ({ op: 'remove', policy: e.spec })), signal);
        for (const [key] of gone) this.entries.delete(key);
        this.log.info({ removed: gone.length }, 'IPsec policies expired');
      } catch (error) {
        this.log.error({ err: errorMessage(error) }, 'expiring IPsec policies failed; retrying');
      }
    });
  }

  /** What oedns holds now, for `oedns status`. */
  list(): readonly ManagedPolicy[] {
    return [...this.entries.values()].map((e) => ({ spec: e.spec, owners: [...e.owners.keys()], expiresAtMs: Math.max(...e.owners.values()) }));
  }

  /** Removes everything oedns installed (SIGTERM). */
  stop(signal: AbortSignal): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    return this.serialised(async () => {
      await this.backend.removeAll(signal);
      this.entries.clear();
    });
  }

  /** What the backend reports (for reconciling and status). */
  installed(signal: AbortSignal): Promise<readonly InstalledPolicy[]> {
    return this.serialised(() => this.backend.list(signal));
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
