import { HEADER_BYTES, RRType } from './constants.js';
import { readHeader } from './message.js';

function skipName(bytes: Uint8Array, offset: number): number {
  for (;;) {
    const length = bytes[offset]!;
    if (length === 0) return offset + 1;
    if ((length & 0xc0) === 0xc0) return offset + 2;
    offset += 1 + length;
  }
}

/**
 * Offsets of the TTL field of every record (OPT excluded) in a message oedns encoded itself, so
 * a cached answer can be aged in place. Only for trusted bytes: it does no bounds checking.
 */
export function ttlOffsets(bytes: Uint8Array): number[] {
  const header = readHeader(bytes);
  let offset = HEADER_BYTES;
  for (let i = 0; i < header.qdcount; i++) offset = skipName(bytes, offset) + 4;
  const offsets: number[] = [];
  const records = header.ancount + header.nscount + header.arcount;
  for (let i = 0; i < records; i++) {
    offset = skipName(bytes, offset);
    const type = (bytes[offset]! << 8) | bytes[offset + 1]!;
    if (type !== RRType.OPT) offsets.push(offset + 4);
    const rdlength = (bytes[offset + 8]! << 8) | bytes[offset + 9]!;
    offset += 10 + rdlength;
  }
  return offsets;
}
