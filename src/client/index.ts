/**
 * `oedns/client`: what an application imports to get DANE- and LDAP-checked TLS from the oedns
 * TLS daemon (`oedns tls-daemon`) without linking a TLS library or handling a certificate. The
 * daemon makes the connection, does TLS and the checks, and hands back the plaintext side: a
 * net.Socket to read and write as if it were the peer. node:net only.
 *
 *   import { startTls } from 'oedns/client';
 *   const { stream, identity, attributes } = await startTls({ name: 'www.example.com', port: 443 });
 *   stream.write('GET / HTTP/1.0\r\nHost: www.example.com\r\n\r\n');
 *
 * Errors are OednsTlsError with the daemon's reply code in `code` (TLSA_MISMATCH, ...).
 */
import type { Socket } from 'node:net';
import { OednsTlsError } from './errors.js';
import { exchange } from './reply.js';

export { OednsTlsError, type ClientErrorCode } from './errors.js';

/** Where the daemon listens unless `socketPath` or OEDNS_TLS_SOCKET says otherwise. */
export const DEFAULT_TLS_SOCKET = '/run/oedns/tls.sock';

/** The negative flags (seed 000 §4.1.1): each switches one check off. */
export type TlsFlagWord = 'no-dnssec' | 'ignore-bogus' | 'no-dane' | 'no-ldap';
const FLAG_WORDS: ReadonlySet<string> = new Set<TlsFlagWord>(['no-dnssec', 'ignore-bogus', 'no-dane', 'no-ldap']);

export interface DaemonOptions {
  /** The daemon's socket; default OEDNS_TLS_SOCKET, else /run/oedns/tls.sock. */
  readonly socketPath?: string | undefined;
  /** Cancels the request (the daemon frees what it held for it). */
  readonly signal?: AbortSignal | undefined;
}

export interface FlagOptions extends DaemonOptions {
  readonly flags?: readonly TlsFlagWord[] | undefined;
}

/** What the daemon established and checked. */
export interface TlsResult {
  /** `www.example.com.`, `user@example.com`, or `anonymous` (a client without certificate). */
  readonly identity: string;
  /** method (dane, pkix, ldap, pinned, none), dnssec, protocol, cipher, dane (`3,1,1`), tlsa, peer. */
  readonly attributes: Readonly<Record<string, string>>;
}

export interface TlsConnection extends TlsResult {
  /** Plaintext to and from the peer. */
  readonly stream: Socket;
}

export interface PlainConnection {
  /** Plaintext relayed as it is, until start-tls/recv-tls with the token upgrades it. */
  readonly stream: Socket;
  /** Single use, valid for 60 s: pass it to startTlsOn / recvTlsOn. */
  readonly token: string;
  /** The peer's address and port. */
  readonly address: string;
  readonly port: number;
}

/** Client side: a TLS connection to `name`:`port`, the server authenticated by DANE (or as the flags say). */
export async function startTls(options: FlagOptions & { readonly name: string; readonly port: number }): Promise<TlsConnection> {
  const { socket, reply } = await exchange(socketPathOf(options), line('start-tls', name(options.name), port(options.port), ...flags(options.flags)), options.signal);
  return { stream: socket, ...tlsResult(reply.words, reply.attributes) };
}

/** Server side: the next peer on the daemon's listener `listener`, its certificate checked (LDAP, DANE). */
export async function recvTls(options: FlagOptions & { readonly listener: string }): Promise<TlsConnection> {
  const { socket, reply } = await exchange(socketPathOf(options), line('recv-tls', word('listener', options.listener), ...flags(options.flags)), options.signal);
  return { stream: socket, ...tlsResult(reply.words, reply.attributes) };
}

/** For STARTTLS protocols, client side: a plaintext connection the daemon relays; upgrade it with startTlsOn. */
export async function connectPlain(options: FlagOptions & { readonly name: string; readonly port: number }): Promise<PlainConnection> {
  const { socket, reply } = await exchange(socketPathOf(options), line('connect', name(options.name), port(options.port), ...flags(options.flags)), options.signal);
  return plainConnection(socket, reply.words);
}

/** For STARTTLS protocols, server side: the next peer on `listener`, relayed in plaintext; upgrade it with recvTlsOn. */
export async function acceptPlain(options: DaemonOptions & { readonly listener: string }): Promise<PlainConnection> {
  const { socket, reply } = await exchange(socketPathOf(options), line('accept', word('listener', options.listener)), options.signal);
  return plainConnection(socket, reply.words);
}

/** Upgrades a connectPlain stream to TLS (after the protocol's STARTTLS exchange); the stream then carries plaintext over TLS. */
export function startTlsOn(token: string, options: FlagOptions = {}): Promise<TlsResult> {
  return upgrade('start-tls', token, options);
}

/** Upgrades an acceptPlain stream to TLS, server side. */
export function recvTlsOn(token: string, options: FlagOptions = {}): Promise<TlsResult> {
  return upgrade('recv-tls', token, options);
}

async function upgrade(command: string, token: string, options: FlagOptions): Promise<TlsResult> {
  const bare = token.startsWith('@') ? token.slice(1) : token;
  if (!/^[0-9a-f]{32}$/.test(bare)) throw new OednsTlsError('BAD_REQUEST', `not a token: ${JSON.stringify(token)}`);
  const { socket, reply } = await exchange(socketPathOf(options), line(command, `@${bare}`, ...flags(options.flags)), options.signal);
  // The answer is all this connection is for; the upgraded stream is the first one.
  socket.destroy();
  return tlsResult(reply.words, reply.attributes);
}

function socketPathOf(options: DaemonOptions): string {
  return options.socketPath ?? process.env['OEDNS_TLS_SOCKET'] ?? DEFAULT_TLS_SOCKET;
}

function line(...words: string[]): string {
  return `${words.join(' ')}\n`;
}

function word(what: string, text: string): string {
  if (!/^[A-Za-z0-9_.-]{1,253}$/.test(text)) throw new OednsTlsError('BAD_REQUEST', `${what} ${JSON.stringify(text)} cannot be sent to the daemon`);
  return text;
}

function name(text: string): string {
  return word('name', text);
}

function port(value: number): string {
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new OednsTlsError('BAD_REQUEST', `port ${value} is not 1-65535`);
  return String(value);
}

function flags(words: readonly string[] | undefined): string[] {
  for (const flag of words ?? []) if (!FLAG_WORDS.has(flag)) throw new OednsTlsError('BAD_REQUEST', `unknown flag ${JSON.stringify(flag)}`);
  return [...(words ?? [])];
}

function tlsResult(words: readonly string[], attributes: Readonly<Record<string, string>>): TlsResult {
  const identity = words[0];
  if (identity === undefined) throw new OednsTlsError('BAD_REPLY', 'the daemon sent OK without an identity');
  return { identity, attributes };
}

function plainConnection(socket: Socket, words: readonly string[]): PlainConnection {
  const [address, portText, token] = words;
  if (address === undefined || portText === undefined || token === undefined || !token.startsWith('@')) {
    socket.destroy();
    throw new OednsTlsError('BAD_REPLY', 'the daemon sent OK without address, port and token');
  }
  return { stream: socket, address, port: Number(portText), token: token.slice(1) };
}
