/**
 * Whole zone-file lines of the key record types (RFC 1035 §5.1): `owner [ttl] [class] type rdata`,
 * TTL and class in either order, as `oedns record` writes them and dig prints them.
 */
import { className, parseType, RRClass, typeName } from '../wire/constants.js';
import { PresentationError } from './errors.js';
import { isKeyRecordType, keyRdataText, parseKeyRdataText } from './rdata-text.js';
import { absoluteName, textFailer, tokenize } from './text.js';

export interface KeyRecordLine {
  readonly name: string;
  /** Absent when the line has none (the zone's $TTL applies). */
  readonly ttlSeconds: number | undefined;
  readonly class: number;
  readonly type: number;
  readonly rdata: Uint8Array;
}

/** RFC 2181 §8: TTLs are 31-bit. */
const MAX_TTL_SECONDS = 0x7fffffff;
const TTL_UNIT_SECONDS: Readonly<Record<string, number>> = { w: 604_800, d: 86_400, h: 3_600, m: 60, s: 1 };

/** Seconds, or BIND units such as `1h30m`; undefined when the token is not a TTL. */
function ttlSeconds(token: string): number | undefined {
  if (/^\d+$/.test(token)) return Number(token);
  if (!/^(\d+[wdhms])+$/i.test(token)) return undefined;
  let total = 0;
  for (const [, count, unit] of token.matchAll(/(\d+)([wdhms])/gi)) total += Number(count) * TTL_UNIT_SECONDS[unit!.toLowerCase()]!;
  return total;
}

function classNumber(token: string): number | undefined {
  const upper = token.toUpperCase();
  if (upper === 'IN') return RRClass.IN;
  const generic = /^CLASS(\d{1,5})$/.exec(upper);
  return generic && Number(generic[1]) <= 0xffff ? Number(generic[1]) : undefined;
}

/** One record line (parentheses may span lines); names relative to `origin`, default the root. */
export function parseKeyRecordLine(text: string, origin = '.'): KeyRecordLine {
  const fail = textFailer('record');
  const tokens = tokenize(text, fail);
  const [ownerToken, ...rest] = tokens;
  if (ownerToken === undefined) throw fail('the line is empty');
  const name = absoluteName(ownerToken, origin, 'owner', fail);
  let ttl: number | undefined;
  let klass: number | undefined;
  let index = 0;
  for (; index < rest.length && index < 2; index++) {
    const token = rest[index]!;
    const seconds = ttl === undefined ? ttlSeconds(token) : undefined;
    const number = klass === undefined ? classNumber(token) : undefined;
    if (seconds !== undefined) ttl = seconds;
    else if (number !== undefined) klass = number;
    else break;
  }
  if (ttl !== undefined && ttl > MAX_TTL_SECONDS) throw fail(`TTL ${ttl} exceeds ${MAX_TTL_SECONDS} seconds (RFC 2181 §8)`);
  const typeToken = rest[index];
  const type = typeToken === undefined ? undefined : parseType(typeToken);
  if (type === undefined) throw fail(`"${typeToken ?? ''}" is not a record type`);
  if (!isKeyRecordType(type)) throw new PresentationError(`record of ${name}: ${typeName(type)} is not a key record type (IPSECKEY, TLSA, CERT)`);
  const rdata = parseKeyRdataText(type, rest.slice(index + 1).join(' '), origin, name);
  return { name, ttlSeconds: ttl, class: klass ?? RRClass.IN, type, rdata };
}

/** `name [ttl] IN TYPE rdata`, tab-separated like `oedns lookup` prints records. */
export function keyRecordLine(name: string, ttlSeconds: number | undefined, type: number, rdata: Uint8Array): string {
  const fields = [name, ...(ttlSeconds === undefined ? [] : [String(ttlSeconds)]), className(RRClass.IN), typeName(type), keyRdataText(type, rdata, name)];
  return fields.join('\t');
}
