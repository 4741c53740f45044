/**
 * Two connected streams joined both ways (the tunnels' plaintext ⇄ TLS): back-pressure by
 * stream.pipeline, half-close carried over (one side's end ends the other's writing, the other
 * direction keeps flowing, as TLS 1.3 close_notify allows), and both destroyed once both
 * directions are done or either fails.
 */
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream';

export interface RelayResult {
  /** The first error, if a direction failed (a reset, a write after the peer closed). */
  readonly error?: Error | undefined;
}

/**
 * Holds what `from` delivers in one turn of the event loop and writes it to `to` at the end of
 * that turn, in one writev. A TLS socket hands its plaintext out one 16 KiB record at a time, each
 * in its own callback (so a process.nextTick flush would come too soon); unbatched, every record
 * costs the plaintext side a write(2) and the reader behind it a wakeup. A chunk waits at most
 * until the loop's check phase: no timer, no added round trip. The listener only corks: the data
 * itself still goes through pipeline's own listener, with its back-pressure.
 */
function coalesceWrites(from: Duplex, to: Duplex): void {
  let corked = false;
  const flush = (): void => {
    corked = false;
    to.uncork();
  };
  // prependListener: this must run before pipe's write. Unlike on('data'), it does not start the flow.
  from.prependListener('data', () => {
    if (corked || to.destroyed || to.writableEnded) return;
    corked = true;
    to.cork();
    setImmediate(flush);
  });
}

export function relay(a: Duplex, b: Duplex): Promise<RelayResult> {
  // A side that has received the peer's end must keep writing what the other side still sends.
  a.allowHalfOpen = true;
  b.allowHalfOpen = true;
  return new Promise((resolve) => {
    let pending = 2;
    let firstError: Error | undefined;
    const done = (error?: Error | null): void => {
      if (error && !firstError) {
        firstError = error;
        a.destroy();
        b.destroy();
      }
      pending -= 1;
      if (pending > 0) return;
      a.destroy();
      b.destroy();
      resolve({ error: firstError });
    };
    pipeline(a, b, done);
    pipeline(b, a, done);
    coalesceWrites(a, b);
    coalesceWrites(b, a);
  });
}
