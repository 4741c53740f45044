/**
 * The cache-hit fast path: a reply is encoded once per cached answer and reply variant (client
 * with or without EDNS, with or without DO), then each hit copies it and patches in place the ID,
 * the RD and CD flags, the client's spelling of the question name, and the aged TTLs.
 */
import type { CachedAnswer, MessageCache } from '../cache/index.js';
import { encodeMessage, HEADER_BYTES, ttlOffsets } from '../wire/index.js';
import { answerFor, encodeForTransport, type ClientQuery } from './respond.js';

function variantOf(query: ClientQuery): number {
  return (query.edns ? 2 : 0) | (query.edns?.dnssecOk ? 1 : 0);
}

/** The reply for this query's variant as a fresh buffer, encoding it into the memo the first time. */
function prepared(query: ClientQuery, cached: CachedAnswer, cache: MessageCache): Uint8Array {
  const variant = variantOf(query);
  const existing = cached.memo[variant];
  // Buffer.from(string) copies into Node's shared pool: as cheap as a slice, and the copy is ours to patch.
  if (existing !== undefined) return Buffer.from(existing, 'latin1');
  const stored = cached.message();
  const template: ClientQuery = { ...query, id: 0, rd: false, cd: false, question: stored.questions[0] ?? query.question };
  const wire = encodeMessage(answerFor(template, stored));
  const text = Buffer.from(wire).toString('latin1');
  cached.memo[variant] = text;
  cache.noteMemo(text);
  return wire;
}

function lower(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
}

/** Whether the client's question name (uncompressed at offset 12) matches the prepared one. */
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

export function replyFromCache(
  query: ClientQuery,
  queryBytes: Uint8Array,
  cached: CachedAnswer,
  cache: MessageCache,
  nowMs: number,
  limitBytes: number | undefined,
): Uint8Array {
  const out = prepared(query, cached, cache);
  const nameEnd = sameQuestionName(queryBytes, out);
  if ((limitBytes !== undefined && out.length > limitBytes) || nameEnd < 0) {
    return encodeForTransport(answerFor(query, cached.agedMessage(nowMs)), limitBytes);
  }
  out[0] = query.id >>> 8;
  out[1] = query.id & 0xff;
  out[2] = (out[2]! & ~0x01) | (query.rd ? 0x01 : 0);
  out[3] = (out[3]! & ~0x10) | (query.cd ? 0x10 : 0);
  out.set(queryBytes.subarray(HEADER_BYTES, nameEnd), HEADER_BYTES);
  const elapsedSeconds = Math.floor((nowMs - cached.storedAtMs) / 1000);
  if (elapsedSeconds > 0) {
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    for (const offset of ttlOffsets(out)) view.setUint32(offset, Math.max(0, view.getUint32(offset) - elapsedSeconds));
  }
  return out;
}
