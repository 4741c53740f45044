import { describe, expect, it } from 'vitest';
import type { InstalledPolicy, PolicySpec } from './backend.js';
import { planReconcile } from './reconcile.js';
import type { IpsecState, StateEntry } from './state-file.js';

const NOW = 1_700_000_000_000;
const peer = { identity: 'alice.example.', publicKeyPem: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' };
const protect = (remote: string, level: 'require' | 'use' = 'require'): PolicySpec =>
  ({ family: 4, remote, selector: {}, action: { kind: 'protect', level, mode: 'transport' }, peer });
/** As the kernel SPD lists an entry: no peer, a handle. */
const listed = (spec: PolicySpec, handle = `h-${spec.remote}`): InstalledPolicy => {
  const { peer: _peer, ...rest } = spec;
  return { ...rest, backend: 'xfrm', handle };
};
const held = (spec: PolicySpec, owner: string, untilMs: number): StateEntry => ({ spec, owners: [[owner, untilMs]] });
const stateOf = (entries: StateEntry[], inFlight: IpsecState['inFlight'] = []): IpsecState => ({ backend: 'xfrm', pid: 1, writtenAtMs: NOW, entries, inFlight });

describe('planReconcile (what a crashed oedns left behind)', () => {
  it('adopts an entry the state recorded as confirmed, still held, listed once as recorded', () => {
    const a = protect('192.0.2.10');
    const plan = planReconcile(stateOf([held(a, 'a./A', NOW + 60_000)]), [listed(a)], NOW);
    expect(plan.adopt).toEqual([{ spec: a, owners: [['a./A', NOW + 60_000]] }]);
    expect(plan.remove).toEqual([]);
    expect(plan.counts).toEqual({ listed: 1, adopted: 1, duplicates: 0, unlisted: 0 });
  });

  it('keeps only the owners whose references are still ahead', () => {
    const a = protect('192.0.2.10');
    const plan = planReconcile(stateOf([{ spec: a, owners: [['a./A', NOW - 1], ['b./A', NOW + 1]] }]), [listed(a)], NOW);
    expect(plan.adopt[0]!.owners).toEqual([['b./A', NOW + 1]]);
  });

  it('removes what the state does not know, and everything when there is no state', () => {
    const a = protect('192.0.2.10');
    const b = protect('192.0.2.11');
    expect(planReconcile(stateOf([held(a, 'a./A', NOW + 60_000)]), [listed(a), listed(b)], NOW).remove).toEqual([listed(b)]);
    expect(planReconcile(undefined, [listed(a), listed(b)], NOW).remove).toEqual([listed(a), listed(b)]);
  });

  it.each([
    ['expired', (a: PolicySpec) => ({ state: stateOf([held(a, 'a./A', NOW)]), installed: [listed(a)] })],
    ['changed while a batch for its selector was in flight', (a: PolicySpec) => ({ state: stateOf([held(a, 'a./A', NOW + 60_000)], [{ specs: [a] }]), installed: [listed(a)] })],
    ['held by an owner whose put was in flight (it may have been releasing it)', (a: PolicySpec) => ({
      state: stateOf([held(a, 'a./A', NOW + 60_000)], [{ owner: 'a./A', specs: [protect('192.0.2.99')] }]), installed: [listed(a)],
    })],
    ['listed with another action', (a: PolicySpec) => ({ state: stateOf([held(a, 'a./A', NOW + 60_000)]), installed: [listed(protect(a.remote, 'use'))] })],
    ['listed with another peer (an IKE backend)', (a: PolicySpec) => ({
      state: stateOf([held(a, 'a./A', NOW + 60_000)]), installed: [{ ...a, peer: { ...peer, identity: 'mallory.example.' }, backend: 'vici', handle: 'c' } as InstalledPolicy],
    })],
  ])('does not adopt an entry %s: it removes it', (_what, make) => {
    const a = protect('192.0.2.10');
    const { state, installed } = make(a);
    const plan = planReconcile(state, installed, NOW);
    expect(plan.adopt).toEqual([]);
    // Listed entries first; then what only the state names (here the in-flight 192.0.2.99).
    expect(plan.remove.slice(0, installed.length)).toEqual(installed);
  });

  it('removes every copy of a duplicated entry and counts the duplicates', () => {
    const a = protect('192.0.2.10');
    const copies = [listed(a, 'h1'), listed(a, 'h2'), listed({ ...a, action: { kind: 'block' } }, 'h3')];
    const plan = planReconcile(stateOf([held(a, 'a./A', NOW + 60_000)]), copies, NOW);
    expect(plan.adopt).toEqual([]);
    expect(plan.remove).toEqual(copies);
    expect(plan.counts.duplicates).toBe(2);
  });

  it('removes what only the state file knows, once per selector (backends that cannot list)', () => {
    const a = protect('192.0.2.10');
    const b = protect('192.0.2.11');
    const plan = planReconcile(stateOf([held(a, 'a./A', NOW + 60_000)], [{ owner: 'b./A', specs: [b, a] }]), [], NOW);
    expect(plan.adopt).toEqual([]);
    expect(plan.remove).toEqual([a, b]);
    expect(plan.counts).toEqual({ listed: 0, adopted: 0, duplicates: 0, unlisted: 2 });
  });
});
