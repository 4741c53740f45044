/**
 * The dry-run backend: records every change it is asked to apply and keeps the resulting set,
 * so the pipeline and the policy lifecycle can be tested (and shown with --ipsec-backend
 * dry-run) without kernel or daemon state. Like the kernel SPD, it refuses to add an entry whose
 * selector is taken and tolerates removing one that is not there. It can be told to fail, to
 * test what a failed install does, and be built with entries already present (what a crashed
 * oedns left), listed or not (setkey and racoon cannot list what an earlier process installed).
 */
import { BackendError } from '../core/errors.js';
import { policyKey } from './policy-key.js';
import type { BackendName, InstalledPolicy, IpsecBackend, PolicyChange, PolicySpec } from './backend.js';

export interface DryRunOptions {
  /** The backend it stands in for (default xfrm); the state file records it. */
  readonly name?: BackendName | undefined;
  /** Entries in place before this backend applies anything; several may share a selector. */
  readonly present?: readonly PolicySpec[] | undefined;
  /** false: list() reports only what this instance added, as setkey and racoon do. Default true. */
  readonly listsPresent?: boolean | undefined;
}

export class DryRunBackend implements IpsecBackend {
  readonly name: BackendName;
  /** Every change applied, in order. */
  readonly applied: PolicyChange[] = [];
  /** What is in place, by selector (several when built so), in the order it came. */
  private readonly installed = new Map<string, InstalledPolicy[]>();
  private readonly listsPresent: boolean;
  private nextHandle = 0;
  /** When set, apply() throws for a change this returns true for, having applied the ones before. */
  failWhen: ((change: PolicyChange) => boolean) | undefined;

  constructor(options: DryRunOptions = {}) {
    this.name = options.name ?? 'xfrm';
    this.listsPresent = options.listsPresent ?? true;
    for (const spec of options.present ?? []) {
      const key = policyKey(spec);
      this.installed.set(key, [...(this.installed.get(key) ?? []), this.entry(spec, 'present')]);
    }
  }

  async apply(changes: readonly PolicyChange[], signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    for (const change of changes) {
      if (this.failWhen?.(change)) throw new BackendError(`dry-run: refused ${change.op} ${change.policy.remote}`);
      const key = policyKey(change.policy);
      if (change.op === 'add') {
        if (this.installed.has(key)) throw new BackendError(`dry-run: add ${key}: entry exists`);
        this.installed.set(key, [this.entry(change.policy, 'added')]);
      } else {
        this.installed.delete(key);
      }
      this.applied.push(change);
    }
  }

  async list(signal: AbortSignal): Promise<readonly InstalledPolicy[]> {
    signal.throwIfAborted();
    return this.present.filter((p) => this.listsPresent || p.handle.startsWith('added'));
  }

  async removeAll(signal: AbortSignal): Promise<void> {
    await this.apply((await this.list(signal)).map((policy) => ({ op: 'remove' as const, policy })), signal);
  }

  /** Everything in place, listed or not (what the kernel would show). */
  get present(): readonly InstalledPolicy[] {
    return [...this.installed.values()].flat();
  }

  private entry(spec: PolicySpec, origin: 'present' | 'added'): InstalledPolicy {
    return { ...spec, backend: this.name, handle: `${origin}-${this.nextHandle++}` };
  }
}
