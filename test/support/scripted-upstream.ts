/**
 * A scripted upstream on 127.0.0.1 for the cases a real server will not produce on demand:
 * spoofed answers, silence (a dead server), slow answers. The script gets each query and a
 * `reply` function; it may send anything, from this socket or from another port.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { decodeMessage, encodeMessage, type Message } from '../../src/wire/index.js';

export interface ScriptContext {
  readonly query: Message;
  readonly from: RemoteInfo;
  /** Sends a message from the upstream's own socket. */
  reply(message: Message | Uint8Array): void;
  /** Sends a message to the querier from a different source port (a spoofer's datagram). */
  replyFromOtherPort(message: Message | Uint8Array): Promise<void>;
}

export interface ScriptedUpstream {
  readonly address: string;
  readonly port: number;
  readonly queries: Message[];
  stop(): Promise<void>;
}

function bytesOf(message: Message | Uint8Array): Uint8Array {
  return message instanceof Uint8Array ? message : encodeMessage(message);
}

export async function startScriptedUpstream(
  script: (ctx: ScriptContext) => void | Promise<void>,
  bindTo: { address?: string; port?: number } = {},
): Promise<ScriptedUpstream> {
  const address = bindTo.address ?? '127.0.0.1';
  if (!address.startsWith('127.') && address !== '::1') throw new Error(`scripted upstream must stay on loopback, not ${address}`);
  const family = address === '::1' ? 'udp6' : 'udp4';
  const socket: Socket = createSocket(family);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(bindTo.port ?? 0, address, () => resolve());
  });
  const queries: Message[] = [];
  socket.on('message', (bytes, from) => {
    const query = decodeMessage(new Uint8Array(bytes));
    queries.push(query);
    const ctx: ScriptContext = {
      query,
      from,
      reply: (m) => socket.send(bytesOf(m), from.port, from.address),
      replyFromOtherPort: (m) => new Promise<void>((resolve) => {
        const other = createSocket(family);
        other.send(bytesOf(m), from.port, from.address, () => {
          other.close();
          resolve();
        });
      }),
    };
    void script(ctx);
  });
  const port = (socket.address()).port;
  return {
    address,
    port,
    queries,
    stop: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A reply to `query` carrying `answers`, mirroring the question and ID. */
export function replyTo(query: Message, answers: Message['answers'], overrides: Partial<Message> = {}): Message {
  return {
    ...query, qr: true, ra: true, aa: false, rcode: 0, answers, authorities: [], additionals: [], edns: undefined,
    ...overrides,
  };
}

export function aRecord(name: string, address: string, ttl = 300): Message['answers'][number] {
  return { name, type: 1, class: 1, ttl, rdata: Uint8Array.from(address.split('.').map(Number)) };
}
