/**
 * DS and DNSKEY records in zone-file (presentation) form, RFC 1035 §5.1 with the RDATA of
 * RFC 4034 §2.2 (DNSKEY: flags protocol algorithm base64) and §5.3 (DS: key-tag algorithm
 * digest-type hex), turned into ResourceRecords with wire RDATA. This is what trust-anchor files
 * hold: `dnssec-keygen`'s .key files, `dnssec-dsfromkey` output, BIND's multi-line DNSKEYs and
 * Unbound's trust-anchor-file (the same lines, its autotrust state in `;;` comments).
 *
 * Accepted: comments after `;`, parentheses spanning lines, optional TTL (seconds or BIND units
 * such as `2d`) and class IN in either order, `@`, owners relative to `$ORIGIN` (default: the
 * origin given, else the root), an omitted owner (the previous one, RFC 1035 §5.1), `$TTL`.
 * Anything else is a ConfigError that names the file, the line and what is wrong.
 */
import { ConfigError, errorMessage } from '../core/errors.js';
import { RRClass, RRType } from '../wire/constants.js';
import type { ResourceRecord } from '../wire/message.js';
import { normalizeName } from '../wire/name.js';
import { DigestType, DnssecAlgorithm } from './algorithms.js';

export interface PresentationOptions {
  /** Used in error messages: `anchors.txt:3: DS digest is not hex`. */
  readonly fileName: string;
  /** Origin of relative owner names until a `$ORIGIN` line; the root by default. */
  readonly origin?: string | undefined;
}

/** RFC 4509 §2, RFC 4034 Appendix A.2, RFC 6605 §2: digest sizes of the digest types oedns knows. */
const DIGEST_BYTES: ReadonlyMap<number, number> = new Map([
  [DigestType.SHA1, 20], [DigestType.SHA256, 32], [DigestType.SHA384, 48],
]);

/** RFC 2181 §8: TTLs are 31-bit. */
const MAX_TTL_SECONDS = 0x7fffffff;

const TTL_UNIT_SECONDS: Readonly<Record<string, number>> = { w: 604_800, d: 86_400, h: 3_600, m: 60, s: 1 };

interface Token {
  readonly text: string;
  readonly line: number;
}

/** One record or directive: its tokens across any parenthesised lines. */
interface Entry {
  readonly line: number;
  readonly tokens: Token[];
  /** RFC 1035 §5.1: a line starting with blank space reuses the previous owner. */
  readonly ownerOmitted: boolean;
}

/** Builds the error for a line of the file being read: `anchors.txt:3: DS digest is not hex`. */
type Fail = (line: number, what: string, cause?: unknown) => ConfigError;

function failIn(fileName: string): Fail {
  return (line, what, cause) => new ConfigError(`${fileName}:${line}: ${what}`, cause === undefined ? undefined : { cause });
}

/** Splits text into entries: `;` comments dropped, `(`…`)` joining lines, `\x` escapes kept. */
function lex(text: string, fail: Fail): Entry[] {
  const entries: Entry[] = [];
  let line = 1;
  let depth = 0;
  let openedAt = 0;
  let current: Entry | undefined;
  let word = '';
  let wordLine = 0;
  const endWord = (): void => {
    if (word === '') return;
    current!.tokens.push({ text: word, line: wordLine });
    word = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\n' || ch === ';') {
      if (current) endWord();
      if (ch === ';') while (i + 1 < text.length && text[i + 1] !== '\n') i++;
      else {
        if (depth === 0 && current) {
          if (current.tokens.length > 0) entries.push(current);
          current = undefined;
        }
        line++;
      }
      continue;
    }
    current ??= { line, tokens: [], ownerOmitted: ch === ' ' || ch === '\t' };
    if (ch === ' ' || ch === '\t' || ch === '\r') endWord();
    else if (ch === '(') {
      endWord();
      if (depth++ === 0) openedAt = line;
    } else if (ch === ')') {
      endWord();
      if (--depth < 0) throw fail(line, "')' without a matching '('");
    } else {
      if (word === '') wordLine = line;
      word += ch;
      // An escaped character is part of the word whatever it is (RFC 1035 §5.1 `\X`).
      if (ch === '\\' && i + 1 < text.length && text[i + 1] !== '\n') word += text[++i]!;
    }
  }
  if (depth > 0) throw fail(openedAt, "'(' is never closed");
  if (current) {
    endWord();
    if (current.tokens.length > 0) entries.push(current);
  }
  return entries;
}

function isAbsolute(name: string): boolean {
  if (!name.endsWith('.')) return false;
  let backslashes = 0;
  for (let i = name.length - 2; i >= 0 && name[i] === '\\'; i--) backslashes++;
  return backslashes % 2 === 0;
}

function absoluteName(text: string, origin: string, token: Token, fail: Fail): string {
  const full = text === '@' ? origin : isAbsolute(text) ? text : origin === '.' ? `${text}.` : `${text}.${origin}`;
  try {
    return normalizeName(full);
  } catch (error) {
    throw fail(token.line, `"${text}" is not a valid domain name: ${errorMessage(error)}`, error);
  }
}

/** A TTL in seconds, or undefined when the token is not one (BIND units allowed: `1h30m`). */
function ttlSeconds(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  if (!/^(\d+[wdhms])+$/i.test(text)) return undefined;
  let total = 0;
  for (const [, count, unit] of text.matchAll(/(\d+)([wdhms])/gi)) total += Number(count) * TTL_UNIT_SECONDS[unit!.toLowerCase()]!;
  return total;
}

function checkedTtl(token: Token, fail: Fail): number {
  const seconds = ttlSeconds(token.text);
  if (seconds === undefined) throw fail(token.line, `"${token.text}" is not a TTL`);
  if (seconds > MAX_TTL_SECONDS) throw fail(token.line, `TTL ${token.text} exceeds ${MAX_TTL_SECONDS} seconds (RFC 2181 §8)`);
  return seconds;
}

function unsigned(token: Token | undefined, field: string, max: number, fail: Fail, line: number): number {
  if (!token) throw fail(line, `${field} is missing`);
  if (!/^\d+$/.test(token.text) || Number(token.text) > max) {
    throw fail(token.line, `${field} "${token.text}" is not an integer from 0 to ${max}`);
  }
  return Number(token.text);
}

/** RFC 4034 §2.2: "either as an unsigned decimal integer or as an algorithm mnemonic". */
function algorithm(token: Token | undefined, type: string, fail: Fail, line: number): number {
  const mnemonic = token && Object.entries(DnssecAlgorithm).find(([name]) => name === token.text.toUpperCase());
  return mnemonic ? mnemonic[1] : unsigned(token, `${type} algorithm`, 0xff, fail, line);
}

/** RFC 4034 §5.3: "The Digest MUST be represented as a sequence of case-insensitive hexadecimal digits", whitespace allowed. */
function dsRdata(tokens: readonly Token[], line: number, fail: Fail): Uint8Array {
  const keyTag = unsigned(tokens[0], 'DS key tag', 0xffff, fail, line);
  const alg = algorithm(tokens[1], 'DS', fail, line);
  const digestType = unsigned(tokens[2], 'DS digest type', 0xff, fail, line);
  const parts = tokens.slice(3);
  if (parts.length === 0) throw fail(line, 'DS digest is missing');
  const hex = parts.map((t) => t.text).join('');
  const at = parts[0]!.line;
  if (!/^[0-9a-f]+$/i.test(hex)) throw fail(at, 'DS digest is not hex');
  if (hex.length % 2 !== 0) throw fail(at, `DS digest has an odd number of hex digits (${hex.length})`);
  const digest = Buffer.from(hex, 'hex');
  const expected = DIGEST_BYTES.get(digestType);
  if (expected !== undefined && digest.length !== expected) {
    throw fail(at, `DS digest has ${digest.length} bytes; digest type ${digestType} digests have ${expected}`);
  }
  return Uint8Array.from([keyTag >> 8, keyTag & 0xff, alg, digestType, ...digest]);
}

/** RFC 4034 §2.2: "The Public Key field MUST be represented as a Base64 encoding", whitespace allowed. */
function dnskeyRdata(tokens: readonly Token[], line: number, fail: Fail): Uint8Array {
  const flags = unsigned(tokens[0], 'DNSKEY flags', 0xffff, fail, line);
  const protocol = unsigned(tokens[1], 'DNSKEY protocol', 0xff, fail, line);
  // RFC 4034 §2.1.2: "The Protocol Field MUST have value 3, and the DNSKEY RR MUST be treated as
  // invalid during signature verification if it is found to be some value other than 3."
  if (protocol !== 3) throw fail(tokens[1]!.line, `DNSKEY protocol is ${protocol}; it must be 3 (RFC 4034 §2.1.2)`);
  const alg = algorithm(tokens[2], 'DNSKEY', fail, line);
  const parts = tokens.slice(3);
  if (parts.length === 0) throw fail(line, 'DNSKEY public key is missing');
  const base64 = parts.map((t) => t.text).join('');
  const at = parts[0]!.line;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) throw fail(at, 'DNSKEY public key is not base64');
  const key = Buffer.from(base64, 'base64');
  return Uint8Array.from([flags >> 8, flags & 0xff, protocol, alg, ...key]);
}

interface State {
  origin: string;
  defaultTtlSeconds: number | undefined;
  lastOwner: string | undefined;
  lastTtlSeconds: number | undefined;
}

function directive(entry: Entry, state: State, fail: Fail): void {
  const [head, argument, extra] = entry.tokens;
  const name = head!.text.toUpperCase();
  if (name !== '$ORIGIN' && name !== '$TTL') throw fail(entry.line, `directive ${head!.text} is not supported (only $ORIGIN and $TTL)`);
  if (!argument) throw fail(entry.line, `${name} needs a value`);
  if (extra) throw fail(extra.line, `unexpected "${extra.text}" after ${name} ${argument.text}`);
  if (name === '$TTL') state.defaultTtlSeconds = checkedTtl(argument, fail);
  else state.origin = absoluteName(argument.text, state.origin, argument, fail);
}

function record(entry: Entry, state: State, fail: Fail): ResourceRecord {
  const tokens = [...entry.tokens];
  let owner: string;
  if (entry.ownerOmitted) {
    if (state.lastOwner === undefined) throw fail(entry.line, 'line starts with blank space but there is no previous owner name');
    owner = state.lastOwner;
  } else {
    const token = tokens.shift()!;
    owner = absoluteName(token.text, state.origin, token, fail);
  }
  let ttl: number | undefined;
  let classSeen = false;
  // RFC 1035 §5.1: "[<TTL>] [<class>] <type> <RDATA>" or "[<class>] [<TTL>] <type> <RDATA>".
  for (let field = 0; field < 2 && tokens.length > 0; field++) {
    const token = tokens[0]!;
    if (ttl === undefined && ttlSeconds(token.text) !== undefined) ttl = checkedTtl(token, fail);
    else if (!classSeen && /^(IN|CH|HS|CLASS\d+)$/i.test(token.text)) {
      if (!/^(IN|CLASS1)$/i.test(token.text)) throw fail(token.line, `class ${token.text} is not IN`);
      classSeen = true;
    } else break;
    tokens.shift();
  }
  const typeToken = tokens.shift();
  if (!typeToken) throw fail(entry.line, 'record type is missing');
  const type = typeToken.text.toUpperCase();
  let rdata: Uint8Array;
  if (type === 'DS') rdata = dsRdata(tokens, typeToken.line, fail);
  else if (type === 'DNSKEY') rdata = dnskeyRdata(tokens, typeToken.line, fail);
  else throw fail(typeToken.line, `record type ${typeToken.text} is not DS or DNSKEY`);
  const ttlSecondsFinal = ttl ?? state.defaultTtlSeconds ?? state.lastTtlSeconds ?? 0;
  state.lastOwner = owner;
  state.lastTtlSeconds = ttlSecondsFinal;
  return { name: owner, type: type === 'DS' ? RRType.DS : RRType.DNSKEY, class: RRClass.IN, ttl: ttlSecondsFinal, rdata };
}

/** The DS and DNSKEY records of a zone-file text, in order. Throws ConfigError (`file:line: what`). */
export function parsePresentation(text: string, options: PresentationOptions): ResourceRecord[] {
  const fail = failIn(options.fileName);
  let origin = '.';
  if (options.origin !== undefined) {
    try {
      origin = normalizeName(options.origin);
    } catch (error) {
      throw new ConfigError(`${options.fileName}: origin "${options.origin}" is not a valid domain name: ${errorMessage(error)}`, { cause: error });
    }
  }
  const state: State = { origin, defaultTtlSeconds: undefined, lastOwner: undefined, lastTtlSeconds: undefined };
  const records: ResourceRecord[] = [];
  for (const entry of lex(text, fail)) {
    if (!entry.ownerOmitted && entry.tokens[0]!.text.startsWith('$')) directive(entry, state, fail);
    else records.push(record(entry, state, fail));
  }
  return records;
}
