import { HEADER_BYTES, RRType } from './constants.js';

function skipName(bytes: Uint8Array, offset: number): number {
  for (;;) {
    const length = bytes[offset]!;
    if (length === 0) return offset + 1;
    if ((length & 0xc0) === 0xc0) return offset + 2;
    offset += 1 + length;
  }
}

function u16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}

/**
 * Calls `visit` with the offset of the TTL field of every record (OPT excluded) of a message
 * oedns encoded itself, so a cached answer can be aged in place. Only for trusted bytes: it does
 * no bounds checking.
 */
export function forEachTtl(bytes: Uint8Array, visit: (offset: number) => void): void {
  let offset = HEADER_BYTES;
  const qdcount = u16(bytes, 4);
  for (let i = 0; i < qdcount; i++) offset = skipName(bytes, offset) + 4;
  const records = u16(bytes, 6) + u16(bytes, 8) + u16(bytes, 10);
  for (let i = 0; i < records; i++) {
    offset = skipName(bytes, offset);
    if (u16(bytes, offset) !== RRType.OPT) visit(offset + 4);
    offset += 10 + u16(bytes, offset + 8);
  }
}

/** Lowers every TTL (OPT excluded) by `seconds`, not below zero. */
export function ageTtls(bytes: Uint8Array, seconds: number): void {
  forEachTtl(bytes, (at) => {
    const ttl = bytes[at]! * 0x1000000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
    const aged = ttl > seconds ? ttl - seconds : 0;
    bytes[at] = aged >>> 24;
    bytes[at + 1] = (aged >>> 16) & 0xff;
    bytes[at + 2] = (aged >>> 8) & 0xff;
    bytes[at + 3] = aged & 0xff;
  });
}
