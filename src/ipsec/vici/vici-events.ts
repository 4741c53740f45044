/** charon's events as an async stream, over ViciClient.subscribe (registration kept across reconnects). */
import type { ViciTree } from './vici-codec.js';
import type { ViciClient } from './vici-client.js';

export interface ViciEvent {
  readonly name: string;
  readonly message: ViciTree;
}

/** Events kept for a slow consumer; beyond it the oldest are dropped and counted (a `log` flood must not grow the heap). */
export const MAX_BUFFERED_VICI_EVENTS = 1024;

/**
 * Registers for `names` (e.g. ike-updown, child-updown, log) and yields their events until
 * `signal` aborts or the consumer stops; then deregisters. `dropped()` counts discarded events.
 */
export async function viciEventStream(
  client: ViciClient,
  names: readonly string[],
  signal: AbortSignal,
): Promise<AsyncIterableIterator<ViciEvent> & { dropped(): number }> {
  const buffer: ViciEvent[] = [];
  let dropped = 0;
  let wake: (() => void) | undefined;
  const listener = (message: ViciTree, name: string): void => {
    if (buffer.length >= MAX_BUFFERED_VICI_EVENTS) {
      buffer.shift();
      dropped += 1;
    }
    buffer.push({ name, message });
    wake?.();
  };
  const unsubscribes: ((s: AbortSignal) => Promise<void>)[] = [];
  try {
    for (const name of names) unsubscribes.push(await client.subscribe(name, listener, signal));
  } catch (error) {
    await Promise.allSettled(unsubscribes.map((u) => u(AbortSignal.timeout(1_000))));
    throw error;
  }
  let finished = false;
  const finish = async (): Promise<void> => {
    if (finished) return;
    finished = true;
    wake?.();
    await Promise.allSettled(unsubscribes.map((u) => u(AbortSignal.timeout(1_000))));
  };
  const onAbort = (): void => void finish();
  signal.addEventListener('abort', onAbort, { once: true });

  const iterator: AsyncIterableIterator<ViciEvent> & { dropped(): number } = {
    dropped: () => dropped,
    [Symbol.asyncIterator]() {
      return iterator;
    },
    async next(): Promise<IteratorResult<ViciEvent>> {
      while (buffer.length === 0 && !finished) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      const event = buffer.shift();
      return event ? { done: false, value: event } : { done: true, value: undefined };
    },
    async return(): Promise<IteratorResult<ViciEvent>> {
      signal.removeEventListener('abort', onAbort);
      await finish();
      return { done: true, value: undefined };
    },
  };
  return iterator;
}
