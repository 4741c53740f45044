import { WireFormatError } from '../core/errors.js';

/** RFC 1035 §4.2.2 / RFC 7766 §8: a 2-byte length before each message on a TCP stream. */
export function frame(message: Uint8Array): Uint8Array {
  if (message.length > 0xffff) throw new WireFormatError(`message of ${message.length} bytes does not fit a TCP frame (65535 at most)`);
  const out = new Uint8Array(message.length + 2);
  out[0] = message.length >>> 8;
  out[1] = message.length & 0xff;
  out.set(message, 2);
  return out;
}

/** Collects stream chunks and yields whole messages; partial data waits for more. */
export class FrameReader {
  private pending: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): Uint8Array[] {
    const joined = new Uint8Array(this.pending.length + chunk.length);
    joined.set(this.pending);
    joined.set(chunk, this.pending.length);
    const messages: Uint8Array[] = [];
    let offset = 0;
    while (joined.length - offset >= 2) {
      const length = (joined[offset]! << 8) | joined[offset + 1]!;
      if (joined.length - offset - 2 < length) break;
      messages.push(joined.slice(offset + 2, offset + 2 + length));
      offset += 2 + length;
    }
    this.pending = joined.slice(offset);
    return messages;
  }

  /** Bytes of an incomplete message still waiting. */
  get buffered(): number {
    return this.pending.length;
  }
}
