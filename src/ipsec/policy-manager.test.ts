import { describe, expect, it } from 'vitest';
import { createRootLogger } from '../core/log.js';
import type { PolicySpec } from './backend.js';
import { DryRunBackend } from './dry-run.js';
import { PolicyManager } from './policy-manager.js';

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
