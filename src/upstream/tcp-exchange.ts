import { connect } from 'node:net';
import type { Endpoint } from '../config/index.js';
import { decodeMessage, FrameReader, frame, type Message } from '../wire/index.js';
import type { ExchangeObserver } from './udp-exchange.js';
import { matchesQuery, type SentQuery } from './match.js';


/** One query over a new TCP connection (RFC 7766), used after a truncated UDP answer. */
export function exchangeTcp(server: Endpoint, query: Uint8Array, sent: SentQuery, signal: AbortSignal, observer: ExchangeObserver): Promise<Message> {
  return new Promise<Message>((resolve, reject) => {
    const socket = connect({ host: server.address, port: server.port });
    const frames = new FrameReader();
    let settled = false;
    const finish = (error: Error | undefined, message?: Message): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if (error) reject(error);
      else resolve(message!);
    };
    const onAbort = (): void => finish(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error(`TCP connection to ${server.address}:${server.port} closed before an answer`)));
    socket.on('connect', () => socket.write(frame(query)));
    socket.on('data', (chunk: Buffer) => {
      for (const bytes of frames.push(chunk)) {
        let message: Message;
        try {
          message = decodeMessage(bytes);
        } catch (error) {
          observer.rejected(`malformed answer over TCP: ${(error as Error).message}`);
          continue;
        }
        const mismatch = matchesQuery(message, sent);
        if (mismatch) {
          observer.rejected(mismatch);
          continue;
        }
        finish(undefined, message);
        return;
      }
    });
  });
}
