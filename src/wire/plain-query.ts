/**
 * A quick read of the common query — one question, no answer or authority records, at most an
 * EDNS version 0 OPT — taking only what a cache lookup needs. Anything else (compression,
 * other opcodes, meta types, odd OPTs, trailing bytes) returns undefined and goes through the
 * full, strict decoder, which also produces the error answers. It builds no Message objects.
 */
import { HEADER_BYTES, RRType } from './constants.js';

export interface PlainQuery {
  readonly id: number;
  readonly rd: boolean;
  readonly ad: boolean;
  readonly cd: boolean;
  readonly type: number;
  readonly class: number;
  /** Uncompressed wire name, ASCII lowercased, as a latin1 string: see `nameKey`. */
  readonly nameKey: string;
  /** Offset just past the question name. */
  readonly nameEnd: number;
  readonly edns: boolean;
  readonly dnssecOk: boolean;
  readonly udpPayloadSize: number;
}

const SPECIAL_QTYPES: ReadonlySet<number> = new Set([RRType.OPT, RRType.AXFR, RRType.IXFR, RRType.MAILA, RRType.MAILB]);
const MAX_NAME_BYTES = 255;
const scratch = Buffer.alloc(MAX_NAME_BYTES);

export function readPlainQuery(bytes: Uint8Array): PlainQuery | undefined {
  if (bytes.length < HEADER_BYTES + 5) return undefined;
  const flagsHigh = bytes[2]!;
  // QR=0 and OPCODE=QUERY; counts 1/0/0/(0|1).
  if ((flagsHigh & 0xf8) !== 0) return undefined;
  if (bytes[4] !== 0 || bytes[5] !== 1 || bytes[6] !== 0 || bytes[7] !== 0 || bytes[8] !== 0 || bytes[9] !== 0 || bytes[10] !== 0) return undefined;
  const arcount = bytes[11]!;
  if (arcount > 1) return undefined;
  let offset = HEADER_BYTES;
  for (;;) {
    const length = bytes[offset];
    if (length === undefined || length > 63) return undefined;
    if (offset + 1 + length - HEADER_BYTES > MAX_NAME_BYTES) return undefined;
    for (let i = offset; i <= offset + length; i++) {
      const byte = bytes[i];
      if (byte === undefined) return undefined;
      scratch[i - HEADER_BYTES] = byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
    }
    offset += 1 + length;
    if (length === 0) break;
  }
  const nameEnd = offset;
  if (nameEnd + 4 > bytes.length) return undefined;
  const type = (bytes[nameEnd]! << 8) | bytes[nameEnd + 1]!;
  if (SPECIAL_QTYPES.has(type)) return undefined;
  const klass = (bytes[nameEnd + 2]! << 8) | bytes[nameEnd + 3]!;
  let end = nameEnd + 4;
  let edns = false;
  let dnssecOk = false;
  let udpPayloadSize = 0;
  if (arcount === 1) {
    // Root owner, TYPE OPT, CLASS = payload size, TTL = ext-rcode, version 0, flags; RDLENGTH.
    if (end + 11 > bytes.length || bytes[end] !== 0 || bytes[end + 1] !== 0 || bytes[end + 2] !== RRType.OPT) return undefined;
    if (bytes[end + 5] !== 0 || bytes[end + 6] !== 0) return undefined;
    edns = true;
    udpPayloadSize = (bytes[end + 3]! << 8) | bytes[end + 4]!;
    dnssecOk = (bytes[end + 7]! & 0x80) !== 0;
    const rdlength = (bytes[end + 9]! << 8) | bytes[end + 10]!;
    end += 11 + rdlength;
    // Options are skipped whole; one that does not parse sends the query to the strict decoder.
    if (!optionsWellFormed(bytes, end - rdlength, end)) return undefined;
  }
  if (end !== bytes.length) return undefined;
  return {
    id: (bytes[0]! << 8) | bytes[1]!,
    rd: (flagsHigh & 0x01) !== 0,
    ad: (bytes[3]! & 0x20) !== 0,
    cd: (bytes[3]! & 0x10) !== 0,
    type,
    class: klass,
    nameKey: scratch.toString('latin1', 0, nameEnd - HEADER_BYTES),
    nameEnd,
    edns,
    dnssecOk,
    udpPayloadSize,
  };
}

function optionsWellFormed(bytes: Uint8Array, start: number, end: number): boolean {
  if (end > bytes.length) return false;
  let offset = start;
  while (offset < end) {
    if (offset + 4 > end) return false;
    offset += 4 + ((bytes[offset + 2]! << 8) | bytes[offset + 3]!);
  }
  return offset === end;
}
