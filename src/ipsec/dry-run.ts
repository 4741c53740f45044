/**
 * The dry-run backend: records every change it is asked to apply and keeps the resulting set,
 * so the pipeline and the policy lifecycle can be tested (and shown with --ipsec-backend
 * dry-run) without kernel or daemon state. It can be told to fail, to test what a failed
 * install does.
 */
import { BackendError } from '../core/errors.js';
import { policyKey } from './policy-key.js';
import type { BackendName, InstalledPolicy, IpsecBackend, PolicyChange } from './backend.js';

export class DryRunBackend implements IpsecBackend {
  readonly name: BackendName = 'xfrm';
  /** Every change applied, in order. */
  readonly applied: PolicyChange[] = [];
  private readonly installed = new Map<string, InstalledPolicy>();
  /** When set, apply() throws for a change this returns true for, having applied the ones before. */
  failWhen: ((change: PolicyChange) => boolean) | undefined;

  async apply(changes: readonly PolicyChange[], signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    for (const change of changes) {
      if (this.failWhen?.(change)) throw new BackendError(`dry-run: refused ${change.op} ${change.policy.remote}`);
      this.applied.push(change);
      const key = policyKey(change.policy);
      if (change.op === 'add') this.installed.set(key, { ...change.policy, backend: this.name, handle: key });
      else this.installed.delete(key);
    }
  }

  async list(signal: AbortSignal): Promise<readonly InstalledPolicy[]> {
    signal.throwIfAborted();
    return [...this.installed.values()];
  }

  async removeAll(signal: AbortSignal): Promise<void> {
    await this.apply([...this.installed.values()].map((policy) => ({ op: 'remove' as const, policy })), signal);
  }
}
