/**
 * Notices an application that hangs up while the daemon works for it (resolving, waiting for a
 * peer, handshaking), so its slot and its peer are freed at once. Seeing EOF means reading, so
 * what the application sends meanwhile (data it pipelines for the peer) is kept, up to
 * MAX_HELD_BYTES, and put back into the socket on release() for the relay to deliver in order.
 */
import type { Socket } from 'node:net';

/** Beyond this the socket is paused: an application that sends this much is not gone. */
export const MAX_HELD_BYTES = 64 * 1024;

export class ApplicationGoneError extends Error {
  constructor() {
    super('the application disconnected');
  }
}

export interface AppWatch {
  /** Aborts when the application closes or ends its side before release(). */
  readonly signal: AbortSignal;
  /** Stops watching; held bytes go back into the socket, which is left paused. */
  release(): void;
}

export function watchApplication(socket: Socket): AppWatch {
  const controller = new AbortController();
  const held: Buffer[] = [];
  let heldBytes = 0;
  const onData = (chunk: Buffer): void => {
    held.push(chunk);
    heldBytes += chunk.length;
    if (heldBytes >= MAX_HELD_BYTES) socket.pause();
  };
  const onGone = (): void => controller.abort(new ApplicationGoneError());
  socket.on('data', onData);
  socket.once('end', onGone);
  socket.once('close', onGone);
  if (socket.destroyed) onGone();
  else socket.resume();
  let released = false;
  return {
    signal: controller.signal,
    release: () => {
      if (released) return;
      released = true;
      socket.off('data', onData);
      socket.off('end', onGone);
      socket.off('close', onGone);
      socket.pause();
      if (heldBytes > 0 && !socket.destroyed) socket.unshift(Buffer.concat(held));
    },
  };
}
