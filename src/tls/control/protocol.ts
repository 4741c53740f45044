/**
 * The control socket's language (seed 000 §4.1, with the connection made by the daemon: see
 * daemon.ts for why). One request line per connection; the daemon answers one line; after an OK
 * the same connection carries the application's plaintext to and from the peer.
 *
 *   request    = command [CR] LF              ; ASCII, at most MAX_LINE_BYTES bytes with the LF
 *   command    = start-tls / connect / recv-tls / accept   ; words separated by single spaces
 *   start-tls  = "start-tls" SP ( name SP port / token ) *( SP flag )
 *   connect    = "connect" SP name SP port *( SP flag )
 *   recv-tls   = "recv-tls" SP ( listener / token ) *( SP flag )
 *   accept     = "accept" SP listener
 *   name       = label *( "." label ) [ "." ]  ; letters, digits, "-", "_"; labels 1-63, name <= 253
 *   port       = 1*5DIGIT                      ; 1-65535, no leading zero
 *   listener   = 1*64( ALPHA / DIGIT / "-" / "_" / "." )
 *   token      = "@" 32( DIGIT / "a"-"f" )     ; 128 random bits, single use, 60 s
 *   flag       = "no-dnssec" / "ignore-bogus" / "no-dane" / "no-ldap"   ; each at most once
 *
 *   reply      = ( tls-ok / plain-ok / err ) LF
 *   tls-ok     = "OK" SP identity *( SP key "=" value )        ; start-tls, recv-tls
 *   plain-ok   = "OK" SP address SP port SP token               ; connect, accept
 *   err        = "ERR" SP code SP message                       ; then the daemon closes
 *   identity   = host name, user@domain or "anonymous", %XX-escaped outside [A-Za-z0-9._@+-]
 *   key        = "method" / "dnssec" / "protocol" / "cipher" / "dane" / "tlsa" / "peer"
 *   code       = a word of reply-codes.ts; message: printable ASCII, at most MAX_MESSAGE_CHARS
 *
 * Everything here is pure: bytes or strings in, values out; a line that does not parse is a
 * ProtocolError (BAD_REQUEST) with a message safe to send back.
 */
import { FLAG_WORDS, NO_FLAGS, type TlsFlags, type TlsSession } from '../session.js';
import { hostPortText } from '../endpoint.js';
import { ReplyCode } from '../reply-codes.js';

/** The longest request line, LF included: a name of 253 bytes, a port and every flag fit many times. */
export const MAX_LINE_BYTES = 1024;
/** ERR messages are cut to this many characters, so a peer's long error text cannot flood a client. */
export const MAX_MESSAGE_CHARS = 200;
/** Hex digits of a token (128 bits). */
export const TOKEN_HEX_DIGITS = 32;

const MAX_NAME_BYTES = 253;
const MAX_LABEL_BYTES = 63;
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$/;
const LISTENER = /^[A-Za-z0-9_.-]{1,64}$/;
const PORT = /^[1-9][0-9]{0,4}$/;
const TOKEN = new RegExp(`^@[0-9a-f]{${TOKEN_HEX_DIGITS}}$`);
const PRINTABLE = /^[\x20-\x7e]*$/;

export type FlagWord = keyof typeof FLAG_WORDS;

export type ControlRequest =
  | { readonly kind: 'start-tls'; readonly name: string; readonly port: number; readonly flags: TlsFlags }
  | { readonly kind: 'start-tls-token'; readonly token: string; readonly flags: TlsFlags }
  | { readonly kind: 'connect'; readonly name: string; readonly port: number; readonly flags: TlsFlags }
  | { readonly kind: 'recv-tls'; readonly listener: string; readonly flags: TlsFlags }
  | { readonly kind: 'recv-tls-token'; readonly token: string; readonly flags: TlsFlags }
  | { readonly kind: 'accept'; readonly listener: string };

/** A request line that does not follow the grammar; the message is sent back after `ERR BAD_REQUEST`. */
export class ProtocolError extends Error {
  readonly reply = ReplyCode.BadRequest;
}

function fail(message: string): never {
  throw new ProtocolError(message);
}

/** The line's text without its CR LF: ASCII printable only, no empty words. */
export function requestText(line: Uint8Array): string {
  let end = line.length;
  if (end > 0 && line[end - 1] === 0x0a) end -= 1;
  if (end > 0 && line[end - 1] === 0x0d) end -= 1;
  if (end + 1 > MAX_LINE_BYTES) fail(`request line longer than ${MAX_LINE_BYTES} bytes`);
  const text = Buffer.from(line.buffer, line.byteOffset, end).toString('latin1');
  if (!PRINTABLE.test(text)) fail('request line has a byte outside printable ASCII');
  return text;
}

/** Parses one request line (with or without its LF). Throws ProtocolError. */
export function parseRequest(line: Uint8Array | string): ControlRequest {
  const text = typeof line === 'string' ? requestText(Buffer.from(line, 'latin1')) : requestText(line);
  if (text === '') fail('empty request line');
  const words = text.split(' ');
  if (words.some((w) => w === '')) fail('words must be separated by single spaces');
  const [command, ...args] = words as [string, ...string[]];
  switch (command) {
    case 'start-tls':
      if (args[0]?.startsWith('@')) return { kind: 'start-tls-token', token: parseToken(args[0]), flags: parseFlags(args.slice(1)) };
      return { kind: 'start-tls', ...parseTarget(command, args), flags: parseFlags(args.slice(2)) };
    case 'connect':
      return { kind: 'connect', ...parseTarget(command, args), flags: parseFlags(args.slice(2)) };
    case 'recv-tls':
      if (args[0]?.startsWith('@')) return { kind: 'recv-tls-token', token: parseToken(args[0]), flags: parseFlags(args.slice(1)) };
      return { kind: 'recv-tls', listener: parseListener(command, args[0]), flags: parseFlags(args.slice(1)) };
    case 'accept':
      if (args.length !== 1) fail('accept takes one word: accept LISTENER');
      return { kind: 'accept', listener: parseListener(command, args[0]) };
    default:
      return fail(`unknown command ${JSON.stringify(command.slice(0, 32))}: start-tls, connect, recv-tls or accept`);
  }
}

function parseTarget(command: string, args: readonly string[]): { name: string; port: number } {
  const [name, port] = args;
  if (name === undefined || port === undefined) fail(`${command} NAME PORT: missing ${name === undefined ? 'NAME' : 'PORT'}`);
  return { name: parseName(name), port: parsePort(port) };
}

/** A host name as DNS carries it, made absolute (`www.example.` ). */
export function parseName(word: string): string {
  const bare = word.endsWith('.') ? word.slice(0, -1) : word;
  if (bare === '' || bare.length > MAX_NAME_BYTES) fail(`name ${quote(word)} is empty or longer than ${MAX_NAME_BYTES} bytes`);
  for (const label of bare.split('.')) {
    if (label.length > MAX_LABEL_BYTES || !LABEL.test(label)) fail(`name ${quote(word)} is not a host name`);
  }
  return `${bare}.`;
}

export function parsePort(word: string): number {
  const port = PORT.test(word) ? Number(word) : 0;
  if (port < 1 || port > 65535) fail(`port ${quote(word)} is not a number from 1 to 65535`);
  return port;
}

function parseListener(command: string, word: string | undefined): string {
  if (word === undefined) fail(`${command}: missing LISTENER`);
  if (!LISTENER.test(word)) fail(`listener ${quote(word)} is not a listener name`);
  return word;
}

function parseToken(word: string): string {
  if (!TOKEN.test(word)) fail(`token ${quote(word)} is not @ and ${TOKEN_HEX_DIGITS} lowercase hex digits`);
  return word.slice(1);
}

/** The flag words (seed 000 §4.1.1) into TlsFlags; unknown or repeated words are refused. */
export function parseFlags(words: readonly string[]): TlsFlags {
  const flags: Record<keyof TlsFlags, boolean> = { ...NO_FLAGS };
  const seen = new Set<string>();
  for (const word of words) {
    if (!Object.hasOwn(FLAG_WORDS, word)) fail(`unknown flag ${quote(word)}: ${Object.keys(FLAG_WORDS).join(', ')}`);
    if (seen.has(word)) fail(`flag ${word} given twice`);
    seen.add(word);
    flags[FLAG_WORDS[word as FlagWord]] = true;
  }
  return flags;
}

/** TlsFlags back to their words, in FLAG_WORDS order (clients build request lines with it). */
export function flagWords(flags: Partial<TlsFlags>): string[] {
  return (Object.entries(FLAG_WORDS) as [FlagWord, keyof TlsFlags][]).filter(([, field]) => flags[field] === true).map(([word]) => word);
}

/** A word from a peer (identity, cipher) made safe for a reply: %XX outside a small safe set. */
export function replyWord(text: string): string {
  const escaped = Array.from(Buffer.from(text, 'utf8'), (byte) => {
    const char = String.fromCharCode(byte);
    return /[A-Za-z0-9._@+\-:[\],/]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
  return escaped === '' ? '-' : escaped;
}

function quote(word: string): string {
  return JSON.stringify(word.length > 64 ? `${word.slice(0, 64)}...` : word);
}

/** `ERR CODE message`: one line, printable ASCII, bounded. */
export function encodeErr(code: ReplyCode, message: string): string {
  let text = message.replace(/[^\x20-\x7e]+/g, ' ').trim();
  if (text.length > MAX_MESSAGE_CHARS) text = `${text.slice(0, MAX_MESSAGE_CHARS - 3)}...`;
  return `ERR ${code} ${text === '' ? 'failed' : text}\n`;
}

/** The key=value words after the identity, in a fixed order. */
export function sessionAttributes(session: TlsSession): Record<string, string> {
  const attributes: Record<string, string> = { method: session.method, dnssec: session.dnssec, protocol: session.protocol, cipher: session.cipher };
  if (session.dane) {
    attributes['dane'] = `${session.dane.usage},${session.dane.selector},${session.dane.matchingType}`;
    attributes['tlsa'] = session.dane.tlsaOwner;
  }
  attributes['peer'] = hostPortText(session.peerAddress, session.peerPort);
  return attributes;
}

/** `OK identity key=value...` for start-tls and recv-tls. */
export function encodeSessionOk(session: TlsSession): string {
  const words = Object.entries(sessionAttributes(session)).map(([key, value]) => `${key}=${replyWord(value)}`);
  return `OK ${[replyWord(session.identity), ...words].join(' ')}\n`;
}

/** `OK address port @token` for connect and accept. */
export function encodePlainOk(address: string, port: number, token: string): string {
  return `OK ${replyWord(address)} ${port} @${token}\n`;
}
