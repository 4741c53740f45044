import { createSocket, type RemoteInfo } from 'node:dgram';
import type { Endpoint } from '../config/index.js';
import { decodeMessage, type Message } from '../wire/index.js';
import { matchesQuery, type SentQuery } from './match.js';

export interface ExchangeObserver {
  /** An answer that arrived but was not accepted (wrong ID, question or source). */
  rejected(reason: string): void;
}

/**
 * One query over UDP from a fresh socket: the kernel picks a random ephemeral source port, and
 * `connect()` makes it drop datagrams from any other address or port. Answers that do not
 * match are ignored and the wait goes on until the signal aborts.
 */
export function exchangeUdp(server: Endpoint, query: Uint8Array, sent: SentQuery, signal: AbortSignal, observer: ExchangeObserver): Promise<Message> {
  return new Promise<Message>((resolve, reject) => {
    const socket = createSocket({ type: server.family === 6 ? 'udp6' : 'udp4' });
    let settled = false;
    const finish = (error: Error | undefined, message?: Message): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      socket.close();
      if (error) reject(error);
      else resolve(message!);
    };
    const onAbort = (): void => finish(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (error) => finish(error));
    socket.on('message', (bytes: Buffer, rinfo: RemoteInfo) => {
      if (rinfo.address !== server.address || rinfo.port !== server.port) {
        observer.rejected(`datagram from ${rinfo.address}:${rinfo.port}`);
        return;
      }
      let message: Message;
      try {
        message = decodeMessage(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      } catch (error) {
        observer.rejected(`malformed answer: ${(error as Error).message}`);
        return;
      }
      const mismatch = matchesQuery(message, sent);
      if (mismatch) {
        observer.rejected(mismatch);
        return;
      }
      finish(undefined, message);
    });
    socket.connect(server.port, server.address, () => {
      socket.send(query, (error) => {
        if (error) finish(error);
      });
    });
  });
}
