/**
 * Bytes both ways between the application's control connection and the peer (a TCP socket
 * before STARTTLS, the TLS socket after), with backpressure (a slow reader pauses the other
 * side) and half-close (one side's EOF becomes an end() on the other; TLS sends close_notify).
 *
 * `detach()` stops relaying without closing anything, for the upgrade of a `connect`/`accept`
 * relay. What the peer sent and the application has not been given yet comes back from
 * `detach()`: after STARTTLS that is the start of the TLS handshake (server side) or an
 * injection (client side; RFC 3207 §4 forbids the server to send anything after its 220).
 *
 * Server side (`accept`), the application answers STARTTLS on the relay and only then asks for
 * `recv-tls @TOKEN`; a quick client's ClientHello may reach the daemon before that request. So a
 * relay built with `holdTls` stops forwarding from the peer at a chunk that opens a TLS handshake
 * record (RFC 8446 §5.1: type 22, legacy version 3.x) and holds it for the handshake. Should no
 * upgrade come (the token expires), `releaseHeld()` forwards the held bytes as they are.
 */
import type { Socket } from 'node:net';

/** After one side has closed completely, the other gets this long to finish its end() before it is destroyed. */
export const LINGER_MS = 5_000;
/** RFC 8446 §5.1: ContentType handshake(22), then legacy_record_version 0x0301..0x0304 (0x0300 for SSLv3). */
const HANDSHAKE_RECORD = 0x16;
const MAX_MINOR_VERSION = 0x04;

/** Whether `chunk` starts like a TLS handshake record (a ClientHello after STARTTLS). */
export function opensTlsRecord(chunk: Uint8Array): boolean {
  return chunk.length >= 3 && chunk[0] === HANDSHAKE_RECORD && chunk[1] === 0x03 && chunk[2]! <= MAX_MINOR_VERSION;
}

export interface RelayOptions {
  /** Hold what `b` sends once it opens a TLS record (server-side STARTTLS; see above). */
  readonly holdTls?: boolean;
  /** Runs once, when both sockets are closed (never after detach()). */
  readonly onClosed: () => void;
}

export class Relay {
  private readonly cleanups: Array<() => void> = [];
  private readonly lingerTimers = new Set<NodeJS.Timeout>();
  private readonly held: Buffer[] = [];
  private holding: boolean;
  private closedSides = 0;
  private attached = true;

  constructor(private readonly a: Socket, private readonly b: Socket, private readonly options: RelayOptions) {
    this.holding = options.holdTls === true;
    this.forward(a, b);
    this.forward(b, a);
    this.watch(a, b);
    this.watch(b, a);
    a.resume();
    b.resume();
  }

  /** Stops relaying; both sockets stay open and paused. Returns what `b` sent that `a` was not given. */
  detach(): Buffer {
    if (this.attached) {
      this.attached = false;
      for (const cleanup of this.cleanups.splice(0)) cleanup();
      for (const timer of this.lingerTimers) clearTimeout(timer);
      this.a.pause();
      this.b.pause();
    }
    const unread: Buffer[] = [...this.held.splice(0)];
    for (let chunk = this.b.read() as Buffer | null; chunk !== null; chunk = this.b.read() as Buffer | null) unread.push(chunk);
    return Buffer.concat(unread);
  }

  /** Bytes held back from the peer (holdTls). */
  get heldBytes(): number {
    return this.held.reduce((sum, chunk) => sum + chunk.length, 0);
  }

  /** No upgrade after all: forward what was held and stop looking for TLS records. */
  releaseHeld(): void {
    this.holding = false;
    if (!this.attached) return;
    for (const chunk of this.held.splice(0)) if (!this.a.destroyed) this.a.write(chunk);
    this.b.resume();
  }

  private on(socket: Socket, event: string, listener: (...args: never[]) => void): void {
    const handler = listener as (...args: unknown[]) => void;
    socket.on(event, handler);
    this.cleanups.push(() => socket.off(event, handler));
  }

  private forward(from: Socket, to: Socket): void {
    this.on(from, 'data', (chunk: Buffer) => {
      if (from === this.b && this.holding && (this.held.length > 0 || opensTlsRecord(chunk))) {
        this.held.push(chunk);
        from.pause();
        return;
      }
      if (to.destroyed || to.writableEnded) return;
      if (!to.write(chunk)) {
        from.pause();
        const resume = (): void => {
          if (this.attached && !(from === this.b && this.held.length > 0)) from.resume();
        };
        to.once('drain', resume);
        this.cleanups.push(() => to.off('drain', resume));
      }
    });
    this.on(from, 'end', () => {
      if (!to.destroyed && !to.writableEnded) to.end();
    });
  }

  private watch(socket: Socket, other: Socket): void {
    // Errors are expected here (a peer resets); the 'close' that follows does the work.
    this.on(socket, 'error', () => undefined);
    if (socket.destroyed) {
      // Gone before the relay began (an application that left right after OK).
      queueMicrotask(() => this.sideClosed(other, true));
      return;
    }
    this.on(socket, 'close', (hadError: boolean) => this.sideClosed(other, hadError));
  }

  private sideClosed(other: Socket, hadError: boolean): void {
    if (!this.attached) return;
    if (hadError) other.destroy();
    else if (!other.destroyed) {
      if (!other.writableEnded) other.end();
      const timer = setTimeout(() => other.destroy(), LINGER_MS);
      timer.unref();
      this.lingerTimers.add(timer);
    }
    this.closedSides += 1;
    if (this.closedSides === 2) {
      for (const timer of this.lingerTimers) clearTimeout(timer);
      this.attached = false;
      this.options.onClosed();
    }
  }
}
