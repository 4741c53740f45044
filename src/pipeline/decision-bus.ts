/**
 * Decisions as events. Subscribers (an IPsec backend, metrics, logs) get every HostDecision; one
 * that must act before the client may use the addresses returns a promise that settles when its
 * action is in place. The pipeline holds the client's answer until every such promise settles,
 * for at most the decision's waitMs.
 */
import { errorMessage } from '../core/errors.js';
import type { HostDecision } from './decision.js';

export type DecisionListener = (decision: HostDecision, signal: AbortSignal) => void | Promise<void>;

export type Settled =
  | { readonly outcome: 'in-place' }
  | { readonly outcome: 'timeout'; readonly afterMs: number }
  | { readonly outcome: 'failed'; readonly error: string };

export class DecisionBus {
  private readonly listeners = new Set<DecisionListener>();

  /** `onListenerError` hears of subscribers that fail on a decision nobody waits for. */
  constructor(private readonly onListenerError: (decision: HostDecision, error: string) => void = () => undefined) {}

  /** Adds a subscriber; the returned function removes it. */
  subscribe(listener: DecisionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get size(): number {
    return this.listeners.size;
  }

  /**
   * Hands `decision` to every subscriber and waits for those that return a promise, at most
   * `decision.waitMs`; with `wait` false (a decision that changes nothing), does not wait. The
   * signal given to subscribers aborts at that deadline (or with `signal`).
   */
  async publish(decision: HostDecision, signal: AbortSignal, wait = true): Promise<Settled> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      // Every subscriber hears of every decision, even after one of them failed.
      const pending: Promise<void>[] = [];
      const failures: string[] = [];
      for (const listener of this.listeners) {
        try {
          const result = listener(decision, controller.signal);
          if (result) pending.push(Promise.resolve(result).catch((error: unknown) => {
            if (!wait) this.onListenerError(decision, errorMessage(error));
            throw error;
          }));
        } catch (error) {
          failures.push(errorMessage(error));
        }
      }
      // Nothing waits on these any more; their failures are reported above or not needed.
      const settleQuietly = (): void => pending.forEach((p) => p.catch(() => undefined));
      if (!wait) {
        settleQuietly();
        for (const failure of failures) this.onListenerError(decision, failure);
        return { outcome: 'in-place' };
      }
      if (failures.length > 0) {
        settleQuietly();
        return { outcome: 'failed', error: failures.join('; ') };
      }
      if (pending.length === 0) return { outcome: 'in-place' };
      const deadline = new Promise<Settled>((resolve) => {
        timer = setTimeout(() => resolve({ outcome: 'timeout', afterMs: decision.waitMs }), decision.waitMs);
      });
      const all = Promise.all(pending).then(
        (): Settled => ({ outcome: 'in-place' }),
        (error: unknown): Settled => ({ outcome: 'failed', error: errorMessage(error) }),
      );
      const settled = await Promise.race([all, deadline]);
      if (settled.outcome === 'timeout') controller.abort(new Error(`decision for ${decision.name} not in place after ${decision.waitMs} ms`));
      return settled;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }
}
