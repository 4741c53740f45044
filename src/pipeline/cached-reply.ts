/**
 * The cache-hit fast path: a reply is encoded once per cached answer and reply variant (client
 * with or without EDNS, with or without DO), then each hit copies it and patches in place the ID,
 * the RD and CD flags, the client's spelling of the question name, and the aged TTLs.
 */
import type { CachedAnswer, MessageCache, Security } from '../cache/index.js';
import { ageTtls, DEFAULT_EDNS_UDP_BYTES, encodeMessage, HEADER_BYTES, Opcode } from '../wire/index.js';
import { answerFor, encodeForTransport, wantsAd, type ClientQuery, type ExtendedError } from './respond.js';

/** What shapes a reply to a cached answer, however the query was read. */
export interface ReplyShape {
  readonly id: number;
  readonly rd: boolean;
  /** Whether the client would get AD for secure data (DO set, or AD in the query). */
  readonly wantsAd: boolean;
  readonly cd: boolean;
  readonly edns: boolean;
  readonly dnssecOk: boolean;
  /** The client's UDP limit; undefined over TCP. */
  readonly limitBytes: number | undefined;
}

export function shapeOf(query: ClientQuery, limitBytes: number | undefined): ReplyShape {
  return { id: query.id, rd: query.rd, wantsAd: wantsAd(query), cd: query.cd, edns: query.edns !== undefined, dnssecOk: query.edns?.dnssecOk ?? false, limitBytes };
}

/** The reply for this variant as a fresh buffer, encoding it into the memo the first time. */
function prepared(shape: ReplyShape, cached: CachedAnswer, cache: MessageCache): Uint8Array {
  const variant = (shape.edns ? 2 : 0) | (shape.dnssecOk ? 1 : 0);
  const existing = cached.memo[variant];
  // Buffer.from(string) copies into Node's shared pool: as cheap as a slice, and the copy is ours to patch.
  if (existing !== undefined) return Buffer.from(existing, 'latin1');
  const stored = cached.message();
  const question = stored.questions[0];
  if (!question) throw new Error('cached answer without a question');
  const template: ClientQuery = {
    id: 0, opcode: Opcode.Query, rd: false, ad: false, cd: false, question,
    edns: shape.edns ? { udpPayloadSize: DEFAULT_EDNS_UDP_BYTES, version: 0, dnssecOk: shape.dnssecOk, options: [] } : undefined,
  };
  const wire = encodeMessage(answerFor(template, stored, { ede: extendedError(cached.security) }));
  const text = Buffer.from(wire).toString('latin1');
  cached.memo[variant] = text;
  cache.noteMemo(text);
  return wire;
}

function lower(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
}

/** Where the client's question name (uncompressed at offset 12) ends if it matches the prepared one; -1 if not. */
function sameQuestionName(queryBytes: Uint8Array, wire: Uint8Array): number {
  let offset = HEADER_BYTES;
  for (;;) {
    const length = queryBytes[offset];
    if (length === undefined || length !== wire[offset] || length > 63) return -1;
    if (length === 0) return offset + 1;
    for (let i = offset + 1; i <= offset + length; i++) {
      if (lower(queryBytes[i]!) !== lower(wire[i]!)) return -1;
    }
    offset += 1 + length;
  }
}

/**
 * The prepared reply patched for this client, or undefined when it cannot be used as is (it
 * would need truncating, or the client's name is compressed): then the caller encodes one.
 */
export function patchedReply(shape: ReplyShape, queryBytes: Uint8Array, cached: CachedAnswer, cache: MessageCache, nowMs: number): Uint8Array | undefined {
  const out = prepared(shape, cached, cache);
  if (shape.limitBytes !== undefined && out.length > shape.limitBytes) return undefined;
  const nameEnd = sameQuestionName(queryBytes, out);
  if (nameEnd < 0) return undefined;
  out[0] = shape.id >>> 8;
  out[1] = shape.id & 0xff;
  out[2] = (out[2]! & ~0x01) | (shape.rd ? 0x01 : 0);
  // RFC 4035 §3.2.3: AD only for data the validator found secure, to a client that can use it.
  const ad = cached.security.status === 'secure' && shape.wantsAd;
  out[3] = (out[3]! & ~0x30) | (shape.cd ? 0x10 : 0) | (ad ? 0x20 : 0);
  out.set(queryBytes.subarray(HEADER_BYTES, nameEnd), HEADER_BYTES);
  const elapsedSeconds = Math.floor((nowMs - cached.storedAtMs) / 1000);
  if (elapsedSeconds > 0) ageTtls(out, elapsedSeconds);
  return out;
}

/** A reply from the cache for a fully decoded query: patched if possible, encoded otherwise. */
export function replyFromCache(query: ClientQuery, queryBytes: Uint8Array, cached: CachedAnswer, cache: MessageCache, nowMs: number, limitBytes: number | undefined): Uint8Array {
  const extras = { ad: cached.security.status === 'secure' && wantsAd(query), ede: extendedError(cached.security) };
  return patchedReply(shapeOf(query, limitBytes), queryBytes, cached, cache, nowMs) ??
    encodeForTransport(answerFor(query, cached.agedMessage(nowMs), extras), limitBytes);
}

/** The Extended DNS Error that goes with a failed validation (RFC 8914), if any. */
export function extendedError(security: Security): ExtendedError | undefined {
  return security.status === 'bogus' || security.status === 'indeterminate' ? { infoCode: security.ede, extraText: security.reason } : undefined;
}
