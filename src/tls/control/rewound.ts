/**
 * A socket with bytes put back in front: what the relay had already read from the peer (the
 * start of its ClientHello) followed by the rest of the socket. node:tls reads a net.Socket
 * through its C++ handle and would never see bytes already read into JavaScript; a Duplex that is
 * not a net.Socket is read through its stream interface (JSStreamSocket), held bytes included.
 * The address getters are the socket's, for the engine's logs and the OK line.
 */
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

export class Rewound extends Duplex {
  constructor(private readonly inner: Socket, head: Uint8Array) {
    super({ allowHalfOpen: true });
    this.push(head);
    inner.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (error) => this.destroy(error));
    inner.on('close', () => this.destroy());
  }

  get remoteAddress(): string | undefined {
    return this.inner.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.inner.remotePort;
  }

  override _read(): void {
    this.inner.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.inner.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.inner.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inner.destroy();
    callback(error);
  }

  /** For code that takes a net.Socket: what it uses of one (events, write, end, destroy, addresses) is here. */
  asSocket(): Socket {
    return this as unknown as Socket;
  }
}
