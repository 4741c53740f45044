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
  });
}
