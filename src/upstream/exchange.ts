import { decodeMessage, type Message } from '../wire/index.js';
import { matchesQuery, type SentQuery } from './match.js';

export interface ExchangeObserver {
  /** An answer that arrived but was not accepted (wrong ID, question or source). */
  rejected(reason: string): void;
}

/** What a transport does with an exchange in progress. */
export interface Exchange {
  /** Bytes that arrived: a matching answer ends the exchange; anything else is reported and ignored. */
  offer(bytes: Uint8Array, via: string): void;
  fail(error: Error): void;
}

/**
 * The part of one query's exchange every transport shares: wait for a matching answer, a
 * transport failure or the signal, whichever comes first, then release the transport once.
 */
export function runExchange(
  sent: SentQuery,
  signal: AbortSignal,
  observer: ExchangeObserver,
  release: () => void,
  start: (exchange: Exchange) => void,
): Promise<Message> {
  return new Promise<Message>((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | undefined, message?: Message): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      release();
      if (error) reject(error);
      else resolve(message!);
    };
    const onAbort = (): void => finish(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    start({
      fail: (error) => finish(error),
      offer: (bytes, via) => {
        if (settled) return;
        let message: Message;
        try {
          message = decodeMessage(bytes);
        } catch (error) {
          observer.rejected(`malformed answer${via}: ${(error as Error).message}`);
          return;
        }
        const mismatch = matchesQuery(message, sent);
        if (mismatch) observer.rejected(mismatch);
        else finish(undefined, message);
      },
    });
  });
}
