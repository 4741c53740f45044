import { describe, expect, it } from 'vitest';
import { createRootLogger } from '../../core/log.js';
import type { PolicySpec } from '../backend.js';
import { TRAP_TAKEOVER_COOL_DOWN_MS, TrapTakeover } from './vici-trap-takeover.js';

const spec = (kind: 'protect' | 'block'): PolicySpec => ({
  family: 4, remote: '192.0.2.20', selector: {},
  action: kind === 'protect' ? { kind, level: 'require', mode: 'transport' } : { kind },
});

function harness(loaded: Map<string, { spec: PolicySpec }>, initiating = new Set<string>()) {
  let now = 0;
  const initiated: string[] = [];
  const takeover = new TrapTakeover({
    loaded: (conn) => loaded.get(conn), initiating: (conn) => initiating.has(conn),
    initiate: async (conn) => void initiated.push(conn), delayMs: 0, signal: new AbortController().signal,
    log: createRootLogger('silent'), nowMs: () => now,
  });
  return { takeover, initiated, setNow: (ms: number) => (now = ms) };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

describe('TrapTakeover', () => {
  it('initiates a refused protect conn once per cool-down', async () => {
    const h = harness(new Map([['oedns-a', { spec: spec('protect') }]]));
    h.takeover.refused('oedns-a');
    h.takeover.refused('oedns-a');
    await settle();
    expect(h.initiated).toEqual(['oedns-a']);
    h.setNow(TRAP_TAKEOVER_COOL_DOWN_MS);
    h.takeover.refused('oedns-a');
    await settle();
    expect(h.initiated).toEqual(['oedns-a', 'oedns-a']);
  });

  it('leaves alone conns it does not own, shunts, conns being initiated, and a conn replaced meanwhile', async () => {
    const loaded = new Map([['oedns-block', { spec: spec('block') }], ['oedns-busy', { spec: spec('protect') }], ['oedns-swap', { spec: spec('protect') }]]);
    const h = harness(loaded, new Set(['oedns-busy']));
    for (const conn of ['foreign', 'oedns-block', 'oedns-busy', 'oedns-swap']) h.takeover.refused(conn);
    loaded.set('oedns-swap', { spec: spec('protect') });
    await settle();
    expect(h.initiated).toEqual([]);
  });
});
