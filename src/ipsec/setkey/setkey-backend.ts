/**
 * The setkey backend (issue 6): the policies the xfrm backend would install, as setkey(8)
 * statements fed to `setkey -c` on stdin (BSD, and Linux with ipsec-tools and PF_KEY).
 *
 * Atomic per spec: all entries of one spec (out and in, for each port or ICMP type) go in one
 * `setkey -c` call. PF_KEY has no transactions and setkey carries on after a statement the kernel
 * refuses, so one call cannot undo itself: when the call fails (see run.ts for how that is told),
 * a second call deletes every entry the first one may have added, tolerating "No entry." for the
 * ones that never went in. Only then is the BackendError thrown, so a failed install leaves
 * nothing. If that second call fails too, the error says so: the SPD may then hold half a pair.
 *
 * list(): `setkey -DP` output differs between KAME, FreeBSD and Linux ipsec-tools and does not
 * mark whose an entry is, so it is not parsed. oedns keeps its own record of what this backend
 * installed, in memory for now (a state file under --state-dir comes with reconciliation); after
 * a restart the record is empty.
 */
import { BackendError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { BackendName, InstalledPolicy, IpsecBackend, PolicyChange, PolicySpec } from '../backend.js';
import { policyKey, sameAction } from '../policy-key.js';
import { runSetkeyScript, SETKEY_NO_ENTRY } from './run.js';
import { addScript, deleteScript, spdEntries } from './script.js';

export interface SetkeyBackendOptions {
  /** The setkey executable (`--setkey-path`, default `setkey` from PATH). */
  readonly setkeyPath?: string | undefined;
  readonly log?: Logger | undefined;
}

export const DEFAULT_SETKEY_PATH = 'setkey';

/** The setkey statements that install a spec, and those that remove it; throws for a spec setkey cannot express. */
export function setkeyScripts(spec: PolicySpec): { readonly add: string; readonly remove: string } {
  const entries = spdEntries(spec);
  return { add: addScript(entries), remove: deleteScript(entries) };
}

export class SetkeyBackend implements IpsecBackend {
  readonly name: BackendName;
  readonly setkeyPath: string;
  private readonly installed = new Map<string, InstalledPolicy>();
  private readonly log: Logger | undefined;

  constructor(options: SetkeyBackendOptions = {}, name: BackendName = 'setkey') {
    this.name = name;
    this.setkeyPath = options.setkeyPath ?? DEFAULT_SETKEY_PATH;
    this.log = options.log;
  }

  async apply(changes: readonly PolicyChange[], signal: AbortSignal): Promise<void> {
    for (const change of changes) {
      signal.throwIfAborted();
      if (change.op === 'add') await this.install(change.policy, signal);
      else await this.remove(change.policy, signal);
    }
  }

  async list(signal: AbortSignal): Promise<readonly InstalledPolicy[]> {
    signal.throwIfAborted();
    return [...this.installed.values()];
  }

  /** Removes every entry in the record; tries them all, then throws the first failure. */
  async removeAll(signal: AbortSignal): Promise<void> {
    const failures: unknown[] = [];
    for (const policy of [...this.installed.values()]) {
      try {
        await this.remove(policy, signal);
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) {
      throw new BackendError(`setkey: ${failures.length} policies could not be removed: ${errorMessage(failures[0])}`, { cause: failures[0] });
    }
  }

  private async install(policy: PolicySpec, signal: AbortSignal): Promise<void> {
    const key = policyKey(policy);
    const existing = this.installed.get(key);
    if (existing) {
      if (sameAction(existing, policy)) return;
      throw new BackendError(`setkey: ${key} is installed with another action; remove it first`);
    }
    const scripts = setkeyScripts(policy);
    try {
      await runSetkeyScript(this.setkeyPath, `add ${key}`, scripts.add, signal);
    } catch (error) {
      await this.rollBack(key, scripts.remove, error);
      throw error;
    }
    this.installed.set(key, { ...policy, backend: this.name, handle: key });
    this.log?.info({ backend: this.name, remote: policy.remote, action: policy.action.kind }, 'policy installed');
  }

  /** After a failed add: deletes whatever of the spec went in (a fresh signal: this must run even after an abort). */
  private async rollBack(key: string, removeScript: string, addError: unknown): Promise<void> {
    try {
      await runSetkeyScript(this.setkeyPath, `roll back ${key}`, removeScript, AbortSignal.timeout(10_000), [SETKEY_NO_ENTRY]);
    } catch (rollbackError) {
      this.log?.error({ backend: this.name, key, err: errorMessage(rollbackError) }, 'rollback after a failed install failed');
      throw new BackendError(`${errorMessage(addError)}; rolling back also failed, the SPD may hold part of ${key}: ${errorMessage(rollbackError)}`, { cause: addError });
    }
  }

  private async remove(policy: PolicySpec, signal: AbortSignal): Promise<void> {
    const key = policyKey(policy);
    await runSetkeyScript(this.setkeyPath, `remove ${key}`, setkeyScripts(policy).remove, signal, [SETKEY_NO_ENTRY]);
    this.installed.delete(key);
    this.log?.info({ backend: this.name, remote: policy.remote }, 'policy removed');
  }
}
