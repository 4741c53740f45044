/**
 * The policy set in force, reloadable. Startup loads it or fails (fatal, like every startup
 * error); a reload that fails — a broken file, a missing directory — keeps the previous set and
 * logs why (STYLE §4). Reloads are serialised, and calls that arrive while one runs share a
 * single follow-up reload, so the last state of the files always gets read.
 */
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { PolicyError, formatIssue } from './errors.js';
import { summarizePolicySet, type PolicySummary } from './explain.js';
import { loadPolicyDir } from './policy-dir.js';
import { DEFAULT_DEBOUNCE_MS, PolicyWatcher } from './policy-watcher.js';
import type { PolicySet } from './rule.js';

export type ReloadResult =
  | { readonly ok: true; readonly set: PolicySet; readonly summary: PolicySummary }
  | { readonly ok: false; readonly error: Error };

export interface PolicyStoreOptions {
  readonly dir: string;
  /** A child logger (`mod: 'policy'`). */
  readonly log: Logger;
  /** Reads and parses the directory (loadPolicyDir unless a test replaces it). */
  readonly load?: (dir: string) => Promise<PolicySet>;
}

export class PolicyStore {
  private set: PolicySet;
  private readonly listeners = new Set<(set: PolicySet) => void>();
  private inFlight: Promise<ReloadResult> | undefined;
  private next: Promise<ReloadResult> | undefined;
  private watcher: PolicyWatcher | undefined;

  private constructor(private readonly options: PolicyStoreOptions, initial: PolicySet) {
    this.set = initial;
  }

  /** Loads the directory; throws PolicyError if it cannot (a startup error). */
  static async open(options: PolicyStoreOptions): Promise<PolicyStore> {
    const set = await (options.load ?? loadPolicyDir)(options.dir);
    options.log.info({ dir: options.dir, ...summarizePolicySet(set) }, 'policies loaded');
    return new PolicyStore(options, set);
  }

  get current(): PolicySet {
    return this.set;
  }

  get dir(): string {
    return this.options.dir;
  }

  /** Calls `listener` with each new set after a successful reload; returns the unsubscribe. */
  onChange(listener: (set: PolicySet) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Re-reads the directory (SIGHUP, file change); on failure the current set stays. */
  reload(): Promise<ReloadResult> {
    if (this.inFlight === undefined) return this.start();
    this.next ??= this.inFlight.then(() => {
      this.next = undefined;
      return this.start();
    });
    return this.next;
  }

  /** Reloads on changes in the directory, debounced. Idempotent. */
  watch(debounceMs = DEFAULT_DEBOUNCE_MS): void {
    this.watcher ??= new PolicyWatcher(this.options.dir, () => void this.reload(), this.options.log, debounceMs);
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private start(): Promise<ReloadResult> {
    const run: Promise<ReloadResult> = this.loadOnce().finally(() => {
      if (this.inFlight === run) this.inFlight = undefined;
    });
    this.inFlight = run;
    return run;
  }

  private async loadOnce(): Promise<ReloadResult> {
    const { dir, log } = this.options;
    let set: PolicySet;
    try {
      set = await (this.options.load ?? loadPolicyDir)(dir);
    } catch (error) {
      const issues = error instanceof PolicyError ? error.issues.map(formatIssue) : [errorMessage(error)];
      const code = error instanceof PolicyError ? error.code : 'ERR_POLICY';
      log.error({ dir, code, issues }, 'policy reload failed; keeping the previous policies');
      return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
    }
    this.set = set;
    const summary = summarizePolicySet(set);
    log.info({ dir, ...summary }, 'policies reloaded');
    for (const listener of this.listeners) listener(set);
    return { ok: true, set, summary };
  }
}
