/**
 * RFC 4034 §4.1.2 Type Bit Maps, shared by NSEC and NSEC3 (RFC 5155 §3.2.1): which RR types exist
 * at the owner name. The 16-bit type space is cut into 256 windows of 256 types; each window with
 * at least one type is sent as <window number> <bitmap length 1..32> <bitmap>, windows in
 * increasing order, and bit i of the bitmap (most significant bit first) stands for type
 * window × 256 + i.
 */
import { WireFormatError } from '../core/errors.js';

/** RFC 4034 §4.1.2: a window covers 256 types, so its bitmap has at most 32 octets. */
const MAX_WINDOW_BITMAP_BYTES = 32;
const TYPES_PER_WINDOW = 256;

export interface TypeBitmap {
  /** The RR types whose bits are set, in increasing order. */
  readonly types: readonly number[];
  readonly set: ReadonlySet<number>;
}

/**
 * Decodes the Type Bit Maps field (the rest of the RDATA after the fixed fields). An empty field
 * is valid: an NSEC3 for an empty non-terminal has no types (RFC 5155 §3.2.1).
 * Throws WireFormatError for windows out of order or repeated, a bitmap length of 0 or above 32,
 * and a block cut short (trailing bytes that are not a whole block).
 * Trailing zero octets inside a block, which RFC 4034 §4.1.2 tells senders to omit, are accepted:
 * they name no type.
 */
export function decodeTypeBitmap(bytes: Uint8Array): TypeBitmap {
  const types: number[] = [];
  let offset = 0;
  let previousWindow = -1;
  while (offset < bytes.length) {
    if (offset + 2 > bytes.length) {
      throw new WireFormatError(`type bitmap: ${bytes.length - offset} trailing byte(s) at offset ${offset}, not a window block`);
    }
    const window = bytes[offset]!;
    const length = bytes[offset + 1]!;
    // RFC 4034 §4.1.2: "Blocks are present in the NSEC RR RDATA in increasing numerical order."
    if (window <= previousWindow) {
      throw new WireFormatError(`type bitmap: window ${window} follows window ${previousWindow} (not increasing)`);
    }
    // RFC 4034 §4.1.2: "a single octet bitmap length (from 1 to 32)".
    if (length === 0 || length > MAX_WINDOW_BITMAP_BYTES) {
      throw new WireFormatError(`type bitmap: window ${window} has bitmap length ${length} (must be 1 to 32)`);
    }
    if (offset + 2 + length > bytes.length) {
      throw new WireFormatError(`type bitmap: window ${window} bitmap of ${length} bytes runs past the end`);
    }
    collectWindow(bytes.subarray(offset + 2, offset + 2 + length), window, types);
    previousWindow = window;
    offset += 2 + length;
  }
  return { types, set: new Set(types) };
}

function collectWindow(bitmap: Uint8Array, window: number, into: number[]): void {
  for (let i = 0; i < bitmap.length; i++) {
    const byte = bitmap[i]!;
    for (let bit = 0; bit < 8; bit++) {
      if (byte & (0x80 >> bit)) into.push(window * TYPES_PER_WINDOW + i * 8 + bit);
    }
  }
}

export function hasType(bitmap: TypeBitmap, type: number): boolean {
  return bitmap.set.has(type);
}

/** The wire form of a set of types: one block per used window, trailing zero octets omitted. */
export function encodeTypeBitmap(types: Iterable<number>): Uint8Array {
  const windows = new Map<number, Uint8Array>();
  for (const type of types) {
    if (!Number.isInteger(type) || type < 0 || type > 0xffff) throw new WireFormatError(`type bitmap: ${type} is not an RR type`);
    const window = type >> 8;
    const low = type & 0xff;
    const bitmap = windows.get(window) ?? new Uint8Array(MAX_WINDOW_BITMAP_BYTES);
    bitmap[low >> 3] = bitmap[low >> 3]! | (0x80 >> (low & 7));
    windows.set(window, bitmap);
  }
  const out: number[] = [];
  for (const window of [...windows.keys()].sort((a, b) => a - b)) {
    const bitmap = windows.get(window)!;
    let length = MAX_WINDOW_BITMAP_BYTES;
    while (bitmap[length - 1] === 0) length--;
    out.push(window, length, ...bitmap.subarray(0, length));
  }
  return Uint8Array.from(out);
}
