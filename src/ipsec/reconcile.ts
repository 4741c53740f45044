/**
 * Reconciling at start (issue 6): what an earlier oedns left in the backend, from its state file
 * (state-file.ts) and what the backend lists, becomes a plan of entries to adopt and entries to
 * remove. Pure: the PolicyManager reads, lists, applies and writes.
 *
 * An entry is adopted (held again by its owners until their recorded expiry, so that a `require`
 * address stays protected across a restart) only when all of this holds:
 *   - the state file records it as confirmed by the backend, with an owner whose expiry is ahead;
 *   - no change was in flight for its selector or for any of its owners when the file was
 *     written (such an entry may be half added or half removed);
 *   - the backend lists exactly one entry with its selector, in the state recorded.
 * Everything else of oedns' that the backend lists is removed, duplicates included; so is
 * everything the state file names that the backend does not list (setkey and racoon cannot list
 * the kernel: their removal tolerates "no such entry").
 */
import type { InstalledPolicy, PolicySpec } from './backend.js';
import { policyKey } from './policy-key.js';
import type { IpsecState, StateEntry } from './state-file.js';

export interface ReconcilePlan {
  readonly adopt: readonly StateEntry[];
  /** In the order to apply: what the backend lists first, then what only the state file knew. */
  readonly remove: readonly PolicySpec[];
  readonly counts: {
    /** Entries the backend listed. */
    readonly listed: number;
    readonly adopted: number;
    /** Listed entries beyond the first for one selector. */
    readonly duplicates: number;
    /** Specs the state file named that the backend did not list. */
    readonly unlisted: number;
  };
}

/** Whether the backend's entry is in the state the spec asks for (the selector already matches). */
function sameInstalledState(installed: InstalledPolicy, spec: PolicySpec): boolean {
  const a = installed.action;
  const b = spec.action;
  if (installed.family !== spec.family || a.kind !== b.kind) return false;
  if (a.kind === 'protect' && b.kind === 'protect' && (a.level !== b.level || a.mode !== b.mode || a.gateway !== b.gateway)) return false;
  // Backends that know the peer (IKE daemons) report it; the kernel SPD does not.
  if (installed.peer && (installed.peer.identity !== spec.peer?.identity || installed.peer.publicKeyPem !== spec.peer?.publicKeyPem)) return false;
  return true;
}

function groupByKey(listed: readonly InstalledPolicy[]): Map<string, InstalledPolicy[]> {
  const groups = new Map<string, InstalledPolicy[]>();
  for (const policy of listed) {
    const key = policyKey(policy);
    groups.set(key, [...(groups.get(key) ?? []), policy]);
  }
  return groups;
}

export function planReconcile(state: IpsecState | undefined, listed: readonly InstalledPolicy[], nowMs: number): ReconcilePlan {
  const groups = groupByKey(listed);
  const inFlightKeys = new Set(state?.inFlight.flatMap((f) => f.specs.map(policyKey)) ?? []);
  const busyOwners = new Set(state?.inFlight.flatMap((f) => (f.owner === undefined ? [] : [f.owner])) ?? []);
  const adopt: StateEntry[] = [];
  const adopted = new Set<string>();
  for (const entry of state?.entries ?? []) {
    const key = policyKey(entry.spec);
    const owners = entry.owners.filter(([, untilMs]) => untilMs > nowMs);
    const found = groups.get(key) ?? [];
    const settled = !inFlightKeys.has(key) && !entry.owners.some(([owner]) => busyOwners.has(owner));
    if (owners.length === 0 || !settled || adopted.has(key) || found.length !== 1 || !sameInstalledState(found[0]!, entry.spec)) continue;
    adopt.push({ spec: entry.spec, owners });
    adopted.add(key);
  }
  const remove: PolicySpec[] = [];
  let duplicates = 0;
  for (const [key, found] of groups) {
    duplicates += found.length - 1;
    if (!adopted.has(key)) remove.push(...found);
  }
  const unlisted = new Map<string, PolicySpec>();
  for (const spec of [...(state?.entries.map((e) => e.spec) ?? []), ...(state?.inFlight.flatMap((f) => f.specs) ?? [])]) {
    const key = policyKey(spec);
    if (!groups.has(key) && !unlisted.has(key)) unlisted.set(key, spec);
  }
  remove.push(...unlisted.values());
  return { adopt, remove, counts: { listed: listed.length, adopted: adopt.length, duplicates, unlisted: unlisted.size } };
}
