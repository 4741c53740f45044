import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RRType } from '../wire/index.js';
import { DecisionBus, type DecisionListener, type Settled } from './decision-bus.js';
import type { HostDecision } from './decision.js';

const NOW = Date.UTC(2025, 0, 1);
const HOST = 'www.example.test.';
const WAIT_MS = 500;

const decision: HostDecision = {
  qname: HOST, qtype: RRType.A, name: HOST,
  addresses: [{ address: '192.0.2.10', family: 4, action: { kind: 'none' }, reason: 'no IPSECKEY' }],
  expiresAtMs: NOW + 300_000, decidedBy: 'built-in default', waitMs: WAIT_MS, onTimeout: 'answer',
  keys: {
    name: HOST,
    ipseckey: { owner: HOST, type: RRType.IPSECKEY, status: 'secure', outcome: 'none', records: [], rejected: [], expiresAtMs: NOW + 300_000 },
    cert: { owner: HOST, type: RRType.CERT, status: 'secure', outcome: 'none', records: [], rejected: [], expiresAtMs: NOW + 300_000 },
    tlsa: new Map(),
  },
};

/** A promise settled from outside, and whether it has. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Tracks whether a promise has settled, without awaiting it. */
function watch<T>(promise: Promise<T>): { readonly settled: boolean; readonly value: T | undefined } {
  const state: { settled: boolean; value: T | undefined } = { settled: false, value: undefined };
  void promise.then((value) => {
    state.settled = true;
    state.value = value;
  });
  return state;
}

/** Lets pending promise callbacks and one macrotask turn run (unhandledRejection fires after microtasks). */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Collects unhandled rejections while a test runs. */
function unhandledRejections(): { readonly reasons: unknown[]; stop(): void } {
  const reasons: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    reasons.push(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  return { reasons, stop: () => process.off('unhandledRejection', onUnhandled) };
}

const never = (): Promise<void> => new Promise<void>(() => undefined);
const noSignal = (): AbortSignal => new AbortController().signal;

describe('DecisionBus: publishing a decision', () => {
  beforeEach(() => {
    // Only the bus's deadline timer is faked; setImmediate stays real for turn().
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is in place at once with no subscribers', async () => {
    const bus = new DecisionBus();
    expect(bus.size).toBe(0);
    await expect(bus.publish(decision, noSignal())).resolves.toEqual({ outcome: 'in-place' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('hands every subscriber the decision and a signal, and is in place when all their promises fulfil', async () => {
    const bus = new DecisionBus();
    const first = deferred();
    const second = deferred();
    const seen: Array<[HostDecision, AbortSignal]> = [];
    bus.subscribe((d, s) => {
      seen.push([d, s]);
      return first.promise;
    });
    bus.subscribe((d, s) => {
      seen.push([d, s]);
      return second.promise;
    });
    bus.subscribe((d, s) => {
      seen.push([d, s]);
      return undefined;
    });
    const published = watch(bus.publish(decision, noSignal()));
    expect(seen.map(([d]) => d)).toEqual([decision, decision, decision]);
    expect(seen.every(([, s]) => !s.aborted)).toBe(true);
    first.resolve();
    await turn();
    expect(published.settled).toBe(false);
    second.resolve();
    await turn();
    expect(published.value).toEqual({ outcome: 'in-place' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('is in place at once when no subscriber returns a promise', async () => {
    const bus = new DecisionBus();
    bus.subscribe(() => undefined);
    await expect(bus.publish(decision, noSignal())).resolves.toEqual({ outcome: 'in-place' });
  });

  it('fails with the message of a promise that rejects', async () => {
    const bus = new DecisionBus();
    bus.subscribe(() => Promise.resolve());
    bus.subscribe(() => Promise.reject(new Error('charon refused the policy')));
    await expect(bus.publish(decision, noSignal())).resolves.toEqual({ outcome: 'failed', error: 'charon refused the policy' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('fails with the text of a rejection that is not an Error', async () => {
    const bus = new DecisionBus();
    bus.subscribe(() => Promise.reject('no SA'));
    await expect(bus.publish(decision, noSignal())).resolves.toEqual({ outcome: 'failed', error: 'no SA' });
  });

  it('times out after the decision\'s waitMs, not before, and aborts the subscribers\' signal then', async () => {
    const bus = new DecisionBus();
    let given: AbortSignal | undefined;
    bus.subscribe((_d, s) => {
      given = s;
      return never();
    });
    const published = watch(bus.publish(decision, noSignal()));
    await vi.advanceTimersByTimeAsync(WAIT_MS - 1);
    expect(published.settled).toBe(false);
    expect(given!.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(published.value).toEqual<Settled>({ outcome: 'timeout', afterMs: WAIT_MS });
    expect(given!.aborted).toBe(true);
    expect((given!.reason as Error).message).toBe(`decision for ${HOST} not in place after ${WAIT_MS} ms`);
  });

  it('does not let a subscriber that rejects on the timeout\'s abort become an unhandled rejection', async () => {
    const unhandled = unhandledRejections();
    try {
      const bus = new DecisionBus();
      bus.subscribe((_d, s) => new Promise<void>((_resolve, reject) => s.addEventListener('abort', () => reject(s.reason as Error))));
      const published = bus.publish(decision, noSignal());
      await vi.advanceTimersByTimeAsync(WAIT_MS);
      await expect(published).resolves.toMatchObject({ outcome: 'timeout' });
      await turn();
      expect(unhandled.reasons).toEqual([]);
    } finally {
      unhandled.stop();
    }
  });

  it('fails when a subscriber throws synchronously', async () => {
    const bus = new DecisionBus();
    bus.subscribe(() => {
      throw new Error('backend not ready');
    });
    await expect(bus.publish(decision, noSignal())).resolves.toEqual({ outcome: 'failed', error: 'backend not ready' });
  });

  // BUG (decision-bus.ts, publish, lines 47-49): on a synchronous throw publish returns at once,
  // before any `.catch` is attached to the promises of the subscribers called earlier. When one
  // of them rejects later, the rejection is unhandled (under Node's default
  // --unhandled-rejections=throw that ends the process). Expected: no unhandled rejection, as
  // for wait=false (line 51). Actual: one unhandled rejection, 'late failure'.
  it('does not leave an earlier subscriber\'s later rejection unhandled when another subscriber throws', async () => {
    const unhandled = unhandledRejections();
    try {
      const bus = new DecisionBus();
      const earlier = deferred();
      bus.subscribe(() => earlier.promise);
      bus.subscribe(() => {
        throw new Error('backend not ready');
      });
      await expect(bus.publish(decision, noSignal())).resolves.toMatchObject({ outcome: 'failed' });
      earlier.reject(new Error('late failure'));
      await turn();
      expect(unhandled.reasons).toEqual([]);
    } finally {
      unhandled.stop();
    }
  });

  // BUG (decision-bus.ts, publish, lines 42-50): the class comment says subscribers (backend,
  // metrics, logs) "get every HostDecision", but a synchronous throw returns from the loop, so
  // subscribers after the one that threw never see the decision. Input: subscribers [throws,
  // records]. Expected: the second is called. Actual: it is not.
  it('still hands the decision to the subscribers after one that throws', async () => {
    const bus = new DecisionBus();
    const later = vi.fn<DecisionListener>(() => undefined);
    bus.subscribe(() => {
      throw new Error('metrics broken');
    });
    bus.subscribe(later);
    await bus.publish(decision, noSignal());
    expect(later).toHaveBeenCalledTimes(1);
  });

  it('with wait=false returns in place at once, without waiting for pending promises', async () => {
    const bus = new DecisionBus();
    bus.subscribe(never);
    await expect(bus.publish(decision, noSignal(), false)).resolves.toEqual({ outcome: 'in-place' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('with wait=false swallows a later rejection (no unhandled rejection)', async () => {
    const unhandled = unhandledRejections();
    try {
      const bus = new DecisionBus();
      const pending = deferred();
      bus.subscribe(() => pending.promise);
      await expect(bus.publish(decision, noSignal(), false)).resolves.toEqual({ outcome: 'in-place' });
      pending.reject(new Error('late failure'));
      await turn();
      expect(unhandled.reasons).toEqual([]);
    } finally {
      unhandled.stop();
    }
  });

  it('aborts the subscribers\' signal with the caller\'s reason when the caller\'s signal aborts', async () => {
    const bus = new DecisionBus();
    let given: AbortSignal | undefined;
    const pending = deferred();
    bus.subscribe((_d, s) => {
      given = s;
      return pending.promise;
    });
    const caller = new AbortController();
    const published = bus.publish(decision, caller.signal);
    const reason = new Error('client went away');
    caller.abort(reason);
    expect(given!.aborted).toBe(true);
    expect(given!.reason).toBe(reason);
    pending.resolve();
    await expect(published).resolves.toEqual({ outcome: 'in-place' });
  });

  // BUG (decision-bus.ts, publish, lines 36-38): the doc says the subscribers' signal aborts
  // "with `signal`", but it only listens for a future 'abort' event; a signal that is already
  // aborted when publish is called never fires one. Input: publish(decision, AbortSignal.abort()).
  // Expected: the subscriber's signal is aborted. Actual: it is not (until the deadline).
  it('hands subscribers an aborted signal when the caller\'s signal is already aborted', async () => {
    const bus = new DecisionBus();
    let given: AbortSignal | undefined;
    bus.subscribe((_d, s) => {
      given = s;
      return undefined;
    });
    await bus.publish(decision, AbortSignal.abort(new Error('client went away')));
    expect(given!.aborted).toBe(true);
  });

  it('stops listening to the caller\'s signal once published', async () => {
    const bus = new DecisionBus();
    let given: AbortSignal | undefined;
    bus.subscribe((_d, s) => {
      given = s;
      return Promise.resolve();
    });
    const caller = new AbortController();
    await bus.publish(decision, caller.signal);
    caller.abort();
    expect(given!.aborted).toBe(false);
  });

  it('stops handing decisions to a subscriber that unsubscribed', async () => {
    const bus = new DecisionBus();
    const kept = vi.fn<DecisionListener>(() => undefined);
    const dropped = vi.fn<DecisionListener>(() => never());
    bus.subscribe(kept);
    const unsubscribe = bus.subscribe(dropped);
    expect(bus.size).toBe(2);
    unsubscribe();
    expect(bus.size).toBe(1);
    await expect(bus.publish(decision, noSignal())).resolves.toEqual({ outcome: 'in-place' });
    expect(kept).toHaveBeenCalledTimes(1);
    expect(dropped).not.toHaveBeenCalled();
  });
});
