/**
 * Pieces of presentation form (RFC 1035 §5.1) shared by the three key records: splitting RDATA
 * text into tokens, numbers, names, and the base64 and hex encodings, read strictly and written
 * as dig +nosplit writes them (one line, no spaces inside base64 or hex).
 */
import { errorMessage } from '../core/errors.js';
import { normalizeName } from '../wire/name.js';
import { PresentationError } from './errors.js';

/**
 * Splits RDATA (or a whole record) into tokens: blanks separate, `;` starts a comment to the end
 * of the line, `(` and `)` only join lines, and a backslash keeps the next character (or \DDD)
 * inside the token, so escaped names stay whole.
 */
export function tokenize(text: string, fail: (reason: string) => PresentationError): string[] {
  const tokens: string[] = [];
  let depth = 0;
  let word = '';
  let lineEnded = false;
  const endWord = (): void => {
    if (word !== '') tokens.push(word);
    word = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === ';') {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') {
      endWord();
      if (ch === '\n' && depth === 0 && tokens.length > 0) lineEnded = true;
      continue;
    }
    if (lineEnded) throw fail('more than one record (a line break outside parentheses)');
    if (ch === '(' || ch === ')') {
      endWord();
      depth += ch === '(' ? 1 : -1;
      if (depth < 0) throw fail("')' without a matching '('");
    } else {
      word += ch;
      if (ch === '\\' && i + 1 < text.length) word += text[++i]!;
    }
  }
  if (depth > 0) throw fail("'(' is never closed");
  endWord();
  return tokens;
}

/** A decimal field from 0 to max; mnemonics are handled by the caller. */
export function unsignedField(token: string | undefined, field: string, max: number, fail: (reason: string) => PresentationError): number {
  if (token === undefined) throw fail(`${field} is missing`);
  if (!/^\d{1,10}$/.test(token) || Number(token) > max) throw fail(`${field} "${token}" is not an integer from 0 to ${max}`);
  return Number(token);
}

/** A name relative to origin (`@` is the origin), as absolute presentation text. */
export function absoluteName(token: string, origin: string, field: string, fail: (reason: string) => PresentationError): string {
  const isAbsolute = /(^|[^\\])(\\\\)*\.$/.test(token);
  const full = token === '@' ? origin : isAbsolute ? token : origin === '.' ? `${token}.` : `${token}.${origin}`;
  try {
    return normalizeName(full);
  } catch (error) {
    throw fail(`${field} "${token}" is not a domain name: ${errorMessage(error)}`);
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Base64 (RFC 4648 §4), possibly split across tokens; padding and unused bits must be canonical. */
export function base64Field(tokens: readonly string[], field: string, fail: (reason: string) => PresentationError): Uint8Array {
  const text = tokens.join('');
  const bytes = Buffer.from(text, 'base64');
  if (!BASE64.test(text) || bytes.toString('base64') !== text) throw fail(`${field} is not base64`);
  return new Uint8Array(bytes);
}

/** Hex digits in either case, possibly split across tokens. */
export function hexField(tokens: readonly string[], field: string, fail: (reason: string) => PresentationError): Uint8Array {
  const text = tokens.join('');
  if (!/^[0-9a-f]*$/i.test(text)) throw fail(`${field} is not hex`);
  if (text.length % 2 !== 0) throw fail(`${field} has an odd number of hex digits (${text.length})`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}

export function base64Text(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/** Uppercase, as BIND's isc_hex_totext writes it. */
export function hexText(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

/** `IPSECKEY text` or `IPSECKEY text of www.example.com.`: how errors name the record. */
export function textFailer(typeName: string, owner?: string): (reason: string) => PresentationError {
  const label = owner === undefined ? `${typeName} text` : `${typeName} text of ${owner}`;
  return (reason) => new PresentationError(`${label}: ${reason}`);
}
