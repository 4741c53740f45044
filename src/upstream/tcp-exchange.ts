import { connect } from 'node:net';
import type { Endpoint } from '../config/index.js';
import { FrameReader, frame, type Message } from '../wire/index.js';
import { runExchange, type ExchangeObserver } from './exchange.js';
import type { SentQuery } from './match.js';

/** One query over a new TCP connection (RFC 7766), used after a truncated UDP answer. */
export function exchangeTcp(server: Endpoint, query: Uint8Array, sent: SentQuery, signal: AbortSignal, observer: ExchangeObserver): Promise<Message> {
  const socket = connect({ host: server.address, port: server.port });
  const frames = new FrameReader();
  return runExchange(sent, signal, observer, () => socket.destroy(), (exchange) => {
    socket.on('error', (error) => exchange.fail(error));
    socket.on('close', () => exchange.fail(new Error(`TCP connection to ${server.address}:${server.port} closed before an answer`)));
    socket.on('connect', () => socket.write(frame(query)));
    socket.on('data', (chunk: Buffer) => {
      for (const bytes of frames.push(chunk)) exchange.offer(bytes, ' over TCP');
    });
  });
}
