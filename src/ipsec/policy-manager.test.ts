import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRootLogger } from '../core/log.js';
import type { IpsecBackend, PolicySpec } from './backend.js';
import { DryRunBackend } from './dry-run.js';
import { PolicyManager } from './policy-manager.js';
import { policyKey } from './policy-key.js';
import { journalPath, readStateFile, statePath } from './state-file.js';

const log = createRootLogger('silent');
const signal = new AbortController().signal;
const peer = { identity: 'alice.example.', publicKeyPem: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' };
const protect = (remote: string, level: 'require' | 'use' = 'use'): PolicySpec =>
  ({ family: 4, remote, selector: {}, action: { kind: 'protect', level, mode: 'transport' }, peer });

function setup() {
  let now = 1_000_000;
  const backend = new DryRunBackend();
  const manager = new PolicyManager(backend, log, () => now);
  return { backend, manager, advance: (ms: number) => (now += ms), now: () => now };
}

describe('PolicyManager (the policy lifecycle)', () => {
  it('installs once for two names sharing an address and removes only when neither holds it', async () => {
    const { backend, manager, advance, now } = setup();
    await manager.put('a.example./A', [protect('192.0.2.10')], now() + 300_000, signal);
    await manager.put('b.example./A', [protect('192.0.2.10')], now() + 60_000, signal);
    expect(backend.applied.map((c) => c.op)).toEqual(['add']);
    advance(61_000);
    await manager.expire(signal);
    expect(await backend.list(signal)).toHaveLength(1);
    expect(manager.list()[0]!.owners).toEqual(['a.example./A']);
    advance(240_000);
    await manager.expire(signal);
    expect(backend.applied.map((c) => c.op)).toEqual(['add', 'remove']);
    expect(manager.list()).toEqual([]);
  });

  it('extends a policy on renewal without removing it', async () => {
    const { backend, manager, advance, now } = setup();
    await manager.put('a./A', [protect('192.0.2.10')], now() + 10_000, signal);
    advance(9_000);
    await manager.put('a./A', [protect('192.0.2.10')], now() + 10_000, signal);
    advance(5_000);
    await manager.expire(signal);
    expect(backend.applied.map((c) => c.op)).toEqual(['add']);
  });

  it('replaces an entry whose action changed, and drops what a name no longer wants', async () => {
    const { backend, manager, now } = setup();
    await manager.put('a./A', [protect('192.0.2.10'), protect('192.0.2.11')], now() + 10_000, signal);
    await manager.put('a./A', [protect('192.0.2.10', 'require')], now() + 10_000, signal);
    expect(backend.applied.map((c) => `${c.op} ${c.policy.remote}`)).toEqual(['add 192.0.2.10', 'add 192.0.2.11', 'remove 192.0.2.10', 'add 192.0.2.10', 'remove 192.0.2.11']);
  });

  it('leaves its books unchanged when the backend fails, and says so', async () => {
    const { backend, manager, now } = setup();
    backend.failWhen = (c) => c.policy.remote === '192.0.2.99';
    await expect(manager.put('x./A', [protect('192.0.2.99')], now() + 10_000, signal)).rejects.toThrow(/refused add 192\.0\.2\.99/);
    expect(manager.list()).toEqual([]);
  });

  it('removes everything it installed at stop', async () => {
    const { backend, manager, now } = setup();
    await manager.put('a./A', [protect('192.0.2.10')], now() + 10_000, signal);
    await manager.put('b./A', [protect('192.0.2.20')], now() + 10_000, signal);
    await manager.stop(signal);
    expect(await backend.list(signal)).toEqual([]);
    expect(manager.list()).toEqual([]);
  });
});

/** A logger whose lines the test can read. */
function capturedLog() {
  const lines: { msg: string; [key: string]: unknown }[] = [];
  const logger = createRootLogger('info', { write: (text: string) => text.split('\n').filter((l) => l.trim()).forEach((l) => lines.push(JSON.parse(l))) });
  return { logger, lines };
}

async function withStateDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'oedns-pm-test-'));
  try {
    return await run(join(dir, 'state'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const NOW = 1_000_000;
const keysOf = (policies: readonly PolicySpec[]): string[] => policies.map((p) => `${p.remote} ${p.action.kind}`).sort();

describe('PolicyManager state file and reconciling at start', () => {
  it('without reconciling, a restarted oedns cannot add what its predecessor left (the kernel refuses duplicates)', async () => {
    const kernel = new DryRunBackend({ present: [protect('192.0.2.10')] });
    const manager = new PolicyManager(kernel, log, () => NOW);
    await expect(manager.put('a./A', [protect('192.0.2.10')], NOW + 10_000, signal)).rejects.toThrow(/entry exists/);
  });

  it('adopts what it held before a crash until the recorded expiry, with no new install and no duplicate', () => withStateDir(async (stateDir) => {
    const kernel = new DryRunBackend();
    const before = new PolicyManager(kernel, log, () => NOW, { stateDir });
    await before.put('a./A', [protect('192.0.2.10', 'require')], NOW + 60_000, signal);
    await before.put('b./A', [protect('192.0.2.20')], NOW + 30_000, signal);
    await before.flushed();
    // SIGKILL: no stop(). The next process finds the kernel as it was.
    let now = NOW + 1_000;
    const after = new PolicyManager(kernel, log, () => now, { stateDir });
    expect(await after.reconcile(signal)).toEqual({ listed: 2, adopted: 2, duplicates: 0, unlisted: 0, removed: 0 });
    expect(after.list()).toEqual([
      { spec: protect('192.0.2.10', 'require'), owners: ['a./A'], expiresAtMs: NOW + 60_000 },
      { spec: protect('192.0.2.20'), owners: ['b./A'], expiresAtMs: NOW + 30_000 },
    ]);
    const applied = kernel.applied.length;
    await after.put('a./A', [protect('192.0.2.10', 'require')], now + 60_000, signal);
    expect(kernel.applied).toHaveLength(applied);
    now = NOW + 30_000;
    await after.expire(signal);
    expect(keysOf(kernel.present)).toEqual(['192.0.2.10 protect']);
  }));

  it('removes what it cannot vouch for: unknown entries, duplicates, changes in flight, expired ones', () => withStateDir(async (stateDir) => {
    const kernel = new DryRunBackend();
    const before = new PolicyManager(kernel, log, () => NOW, { stateDir });
    await before.put('kept./A', [protect('192.0.2.10')], NOW + 60_000, signal);
    await before.put('expired./A', [protect('192.0.2.11')], NOW + 500, signal);
    await before.flushed();
    // What the file cannot know: an entry added behind its back, and two entries for one selector.
    const leftovers = new DryRunBackend({ present: [...kernel.present, protect('192.0.2.12'), protect('192.0.2.13'), { ...protect('192.0.2.13'), action: { kind: 'block' } }] });
    const after = new PolicyManager(leftovers, log, () => NOW + 1_000, { stateDir });
    expect(await after.reconcile(signal)).toEqual({ listed: 5, adopted: 1, duplicates: 1, unlisted: 0, removed: 4 });
    expect(keysOf(leftovers.present)).toEqual(['192.0.2.10 protect']);
    expect(after.list().map((p) => p.spec.remote)).toEqual(['192.0.2.10']);
  }));

  it('removes through the backend what only the state file knows, when the backend cannot list it (setkey, racoon)', () => withStateDir(async (stateDir) => {
    const before = new PolicyManager(new DryRunBackend({ name: 'setkey' }), log, () => NOW, { stateDir });
    await before.put('a./A', [protect('192.0.2.10'), protect('192.0.2.11')], NOW + 60_000, signal);
    await before.flushed();
    const kernel = new DryRunBackend({ name: 'setkey', present: [protect('192.0.2.10'), protect('192.0.2.11')], listsPresent: false });
    const after = new PolicyManager(kernel, log, () => NOW, { stateDir });
    expect(await after.reconcile(signal)).toEqual({ listed: 0, adopted: 0, duplicates: 0, unlisted: 2, removed: 2 });
    expect(kernel.present).toEqual([]);
    await after.put('a./A', [protect('192.0.2.10')], NOW + 60_000, signal);
    expect(keysOf(kernel.present)).toEqual(['192.0.2.10 protect']);
  }));

  it('puts every intent on disk before the backend sees it, and coalesces the writes of a burst', () => withStateDir(async (stateDir) => {
    const seen: { adds: string[]; onDisk: Set<string> }[] = [];
    const kernel = new DryRunBackend();
    const checking: IpsecBackend = {
      name: 'xfrm',
      list: (s) => kernel.list(s),
      removeAll: (s) => kernel.removeAll(s),
      apply: async (changes, s) => {
        const read = await readStateFile(stateDir);
        if (read.kind !== 'ok') throw new Error(`no state on disk before apply (${read.kind})`);
        const onDisk = new Set([...read.state.entries.map((e) => e.spec), ...read.state.inFlight.flatMap((f) => f.specs)].map(policyKey));
        seen.push({ adds: changes.filter((c) => c.op === 'add').map((c) => policyKey(c.policy)), onDisk });
        await kernel.apply(changes, s);
      },
    };
    let clock = NOW;
    const manager = new PolicyManager(checking, log, () => clock++, { stateDir });
    await manager.reconcile(signal);
    const burst = Array.from({ length: 40 }, (_, i) => manager.put(`h${i}./A`, [protect(`192.0.2.${i + 1}`)], NOW + 60_000, signal));
    await Promise.all(burst);
    expect(seen).toHaveLength(40);
    for (const { adds, onDisk } of seen) for (const add of adds) expect(onDisk.has(add)).toBe(true);
    // The intents of the burst share writes: few journal lines carry a batch's beginning, not one per put.
    const intents = (await readFile(journalPath(stateDir), 'utf8')).split('\n').filter((line) => line.includes('"begin"'));
    expect(intents.length).toBeLessThan(5);
    await manager.flushed();
    const read = await readStateFile(stateDir);
    expect(read.kind === 'ok' && read.state.entries).toHaveLength(40);
    expect(read.kind === 'ok' && read.state.inFlight).toEqual([]);
  }));

  it('reads back through the journal after a crash, ignoring a line the crash cut short', () => withStateDir(async (stateDir) => {
    const kernel = new DryRunBackend();
    const before = new PolicyManager(kernel, log, () => NOW, { stateDir });
    await before.reconcile(signal);
    await before.put('a./A', [protect('192.0.2.10')], NOW + 60_000, signal);
    await before.put('b./A', [protect('192.0.2.20')], NOW + 60_000, signal);
    await before.flushed();
    await writeFile(journalPath(stateDir), '{"atMs":1,"gone":[{"family":4,"rem', { flag: 'a' });
    const { logger, lines } = capturedLog();
    const after = new PolicyManager(kernel, logger, () => NOW + 1_000, { stateDir });
    expect(await after.reconcile(signal)).toMatchObject({ listed: 2, adopted: 2, removed: 0 });
    expect(lines.find((l) => l.msg === 'IPsec state reconciled')).toMatchObject({ journalTornLine: true, journalStale: false });
  }));

  it('moves a corrupt state file aside, says so, and still starts clean', () => withStateDir(async (stateDir) => {
    await mkdir(stateDir, { recursive: true });
    await writeFile(statePath(stateDir), '{"version":1,"backend":"xfrm","entries":[{"spec":');
    const { logger, lines } = capturedLog();
    const kernel = new DryRunBackend({ present: [protect('192.0.2.10')] });
    const manager = new PolicyManager(kernel, logger, () => NOW, { stateDir });
    expect((await manager.reconcile(signal)).removed).toBe(1);
    expect(kernel.present).toEqual([]);
    const line = lines.find((l) => /state file unreadable/.test(l.msg));
    expect(line).toMatchObject({ level: 50, movedTo: `${statePath(stateDir)}.corrupt-${NOW}`, reason: expect.stringMatching(/not JSON/) });
    expect(await readdir(stateDir)).toEqual(expect.arrayContaining([`ipsec-state.json.corrupt-${NOW}`, 'ipsec-state.json']));
  }));

  it("moves aside another backend's state, naming that backend, and adopts nothing from it", () => withStateDir(async (stateDir) => {
    const vici = new PolicyManager(new DryRunBackend({ name: 'vici' }), log, () => NOW, { stateDir });
    await vici.put('a./A', [protect('192.0.2.10')], NOW + 60_000, signal);
    await vici.flushed();
    const { logger, lines } = capturedLog();
    const kernel = new DryRunBackend({ present: [protect('192.0.2.10')] });
    const manager = new PolicyManager(kernel, logger, () => NOW, { stateDir });
    expect(await manager.reconcile(signal)).toMatchObject({ adopted: 0, removed: 1 });
    expect(lines.find((l) => /vici backend/.test(l.msg))).toMatchObject({ level: 50, stateBackend: 'vici', backend: 'xfrm', movedTo: `${statePath(stateDir)}.vici-${NOW}` });
  }));

  it('records at stop that nothing is held, and refuses puts after it', () => withStateDir(async (stateDir) => {
    const kernel = new DryRunBackend();
    const manager = new PolicyManager(kernel, log, () => NOW, { stateDir });
    await manager.reconcile(signal);
    await manager.put('a./A', [protect('192.0.2.10')], NOW + 60_000, signal);
    await manager.stop(signal);
    const read = await readStateFile(stateDir);
    expect(read.kind === 'ok' && [read.state.entries, read.state.inFlight]).toEqual([[], []]);
    await expect(manager.put('b./A', [protect('192.0.2.20')], NOW + 60_000, signal)).rejects.toThrow(/oedns is stopping/);
    expect(kernel.present).toEqual([]);
  }));
});

describe('PolicyManager when the state file cannot be written', () => {
  it('refuses to install (no add before its intent is on disk), yet removes everything at stop', () => withStateDir(async (stateDir) => {
    const { logger, lines } = capturedLog();
    const kernel = new DryRunBackend();
    const manager = new PolicyManager(kernel, logger, () => NOW, { stateDir });
    await manager.reconcile(signal);
    await manager.put('a./A', [protect('192.0.2.10')], NOW + 60_000, signal);
    await manager.flushed();
    await rm(stateDir, { recursive: true });
    await writeFile(stateDir, 'not a directory');
    await expect(manager.put('b./A', [protect('192.0.2.20')], NOW + 60_000, signal)).rejects.toThrow(/cannot write .*ipsec-state\.(json|journal)/);
    expect(keysOf(kernel.present)).toEqual(['192.0.2.10 protect']);
    await manager.stop(signal);
    expect(kernel.present).toEqual([]);
    expect(lines.some((l) => l.msg === 'writing the IPsec state file failed; removing anyway')).toBe(true);
  }));
});

describe('PolicyManager when the backend fails', () => {
  it('blocks the addresses of a failed require install and still reports the failure', async () => {
    const { backend, manager, now } = setup();
    backend.failWhen = (c) => c.policy.action.kind === 'protect';
    const nd: PolicySpec = { family: 6, remote: '2001:db8::10', selector: { protocol: 58, ports: [{ first: 133, last: 136 }] }, action: { kind: 'pass' } };
    const required: PolicySpec = { ...protect('2001:db8::10', 'require'), family: 6 };
    await expect(manager.put('a./AAAA', [nd, required], now() + 10_000, signal)).rejects.toThrow(/refused add 2001:db8::10/);
    expect(backend.present.map((p) => p.action)).toEqual([{ kind: 'pass' }, { kind: 'block' }]);
    expect(manager.list().map((p) => p.spec.action.kind)).toEqual(['pass', 'block']);
    // The next decision that installs replaces the block.
    backend.failWhen = undefined;
    await manager.put('a./AAAA', [nd, required], now() + 10_000, signal);
    expect(backend.present.map((p) => p.action.kind)).toEqual(['pass', 'protect']);
  });

  it('leaves a failed use install in clear (nothing installed), as use means', async () => {
    const { backend, manager, now } = setup();
    backend.failWhen = (c) => c.policy.remote === '192.0.2.10';
    await expect(manager.put('a./A', [protect('192.0.2.10', 'use')], now() + 10_000, signal)).rejects.toThrow(/refused/);
    expect(backend.present).toEqual([]);
  });

  it('blocks a require install whose deadline passed while it queued, without trying it', async () => {
    const { backend, manager, now } = setup();
    const expired = new AbortController();
    expired.abort(new Error('decision for a. not in place after 100 ms'));
    await expect(manager.put('a./A', [protect('192.0.2.10', 'require')], now() + 10_000, expired.signal)).rejects.toThrow(/not applied: decision for a\. not in place/);
    expect(backend.applied).toEqual([{ op: 'add', policy: { family: 4, remote: '192.0.2.10', selector: {}, action: { kind: 'block' } } }]);
  });

  it('takes back the adds of a batch that failed halfway, so that a retry finds the place free', async () => {
    const { backend, manager, now } = setup();
    backend.failWhen = (c) => c.policy.remote === '192.0.2.11';
    await expect(manager.put('a./A', [protect('192.0.2.10'), protect('192.0.2.11')], now() + 10_000, signal)).rejects.toThrow(/refused/);
    expect(backend.present).toEqual([]);
    expect(manager.list()).toEqual([]);
    backend.failWhen = undefined;
    await manager.put('a./A', [protect('192.0.2.10'), protect('192.0.2.11')], now() + 10_000, signal);
    expect(keysOf(backend.present)).toEqual(['192.0.2.10 protect', '192.0.2.11 protect']);
  });
});
