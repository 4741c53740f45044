/**
 * Reads the one request line of a control connection, and not a byte more: whatever the client
 * sent after the LF (data it pipelined before the reply) is pushed back into the socket, so the
 * relay that follows delivers it to the peer in order.
 */
import type { Socket } from 'node:net';

export type LineResult =
  | { readonly kind: 'line'; readonly bytes: Uint8Array }
  | { readonly kind: 'too-long' }
  | { readonly kind: 'timeout' }
  /** The client closed (or the socket failed) before a full line; `partial` when some bytes came. */
  | { readonly kind: 'closed'; readonly partial: boolean };

/** The first line of `socket` (LF included), or why there is none. Leaves the socket paused. */
export function readRequestLine(socket: Socket, maxBytes: number, timeoutMs: number): Promise<LineResult> {
  return new Promise((resolve) => {
    let received: Buffer = Buffer.alloc(0);
    let done = false;
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    const onData = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const lf = received.indexOf(0x0a);
      if (lf !== -1 && lf < maxBytes) {
        const rest = received.subarray(lf + 1);
        finish({ kind: 'line', bytes: received.subarray(0, lf + 1) });
        if (rest.length > 0) socket.unshift(rest);
      } else if (received.length >= maxBytes) {
        finish({ kind: 'too-long' });
      }
    };
    const onEnd = (): void => finish({ kind: 'closed', partial: received.length > 0 });
    function finish(result: LineResult): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      resolve(result);
    }
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.resume();
  });
}
