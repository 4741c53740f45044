import { createSocket, type RemoteInfo } from 'node:dgram';
import type { Endpoint } from '../config/index.js';
import type { Message } from '../wire/index.js';
import { runExchange, type ExchangeObserver } from './exchange.js';
import type { SentQuery } from './match.js';

/**
 * One query over UDP from a fresh socket: the kernel picks a random ephemeral source port, and
 * `connect()` makes it drop datagrams from any other address or port (checked again here).
 * Answers that do not match are ignored and the wait goes on until the signal aborts.
 */
export function exchangeUdp(server: Endpoint, query: Uint8Array, sent: SentQuery, signal: AbortSignal, observer: ExchangeObserver): Promise<Message> {
  const socket = createSocket({ type: server.family === 6 ? 'udp6' : 'udp4' });
  return runExchange(sent, signal, observer, () => socket.close(), (exchange) => {
    socket.on('error', (error) => exchange.fail(error));
    socket.on('message', (bytes: Buffer, rinfo: RemoteInfo) => {
      if (rinfo.address !== server.address || rinfo.port !== server.port) {
        observer.rejected(`datagram from ${rinfo.address}:${rinfo.port}`);
        return;
      }
      exchange.offer(bytes, '');
    });
    socket.connect(server.port, server.address, () => {
      socket.send(query, (error) => {
        if (error) exchange.fail(error);
      });
    });
  });
}
