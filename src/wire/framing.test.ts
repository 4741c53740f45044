import { describe, expect, it } from 'vitest';
import { FrameReader, frame } from './framing.js';

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('frame (RFC 1035 §4.2.2, RFC 7766 §8)', () => {
  it('prefixes a message with its length as two bytes, network order', () => {
    expect(frame(bytes(1, 2, 3))).toEqual(bytes(0, 3, 1, 2, 3));
    const big = new Uint8Array(0x1234).fill(7);
    const framed = frame(big);
    expect(Array.from(framed.subarray(0, 2))).toEqual([0x12, 0x34]);
    expect(framed.length).toBe(0x1236);
  });

  it('frames the largest message the 16-bit length can carry', () => {
    expect(Array.from(frame(new Uint8Array(0xffff)).subarray(0, 2))).toEqual([0xff, 0xff]);
  });

  it('refuses a message longer than 65535 bytes instead of writing a wrong length (RFC 1035 §4.2.2)', () => {
    // The length would wrap to 1 and desynchronise the stream.
    expect(() => frame(new Uint8Array(0x10001))).toThrow();
  });
});

describe('FrameReader', () => {
  it('yields a message that arrives in one chunk', () => {
    const reader = new FrameReader();
    expect(reader.push(frame(bytes(9, 8, 7)))).toEqual([bytes(9, 8, 7)]);
    expect(reader.buffered).toBe(0);
  });

  it('waits for the rest of a message split across chunks', () => {
    const reader = new FrameReader();
    const framed = frame(bytes(1, 2, 3, 4, 5));
    expect(reader.push(framed.subarray(0, 4))).toEqual([]);
    expect(reader.buffered).toBe(4);
    expect(reader.push(framed.subarray(4, 6))).toEqual([]);
    expect(reader.push(framed.subarray(6))).toEqual([bytes(1, 2, 3, 4, 5)]);
    expect(reader.buffered).toBe(0);
  });

  it('yields several messages from one chunk, in order', () => {
    const reader = new FrameReader();
    const chunk = concat(frame(bytes(1)), frame(bytes(2, 2)), frame(bytes(3, 3, 3)));
    expect(reader.push(chunk)).toEqual([bytes(1), bytes(2, 2), bytes(3, 3, 3)]);
  });

  it('yields the complete messages of a chunk and keeps the partial tail', () => {
    const reader = new FrameReader();
    const second = frame(bytes(4, 5, 6, 7));
    expect(reader.push(concat(frame(bytes(1, 2)), second.subarray(0, 3)))).toEqual([bytes(1, 2)]);
    expect(reader.buffered).toBe(3);
    expect(reader.push(second.subarray(3))).toEqual([bytes(4, 5, 6, 7)]);
  });

  it('handles a length prefix split after its first byte', () => {
    const reader = new FrameReader();
    const framed = frame(new Uint8Array(300).fill(0xab));
    expect(reader.push(framed.subarray(0, 1))).toEqual([]);
    expect(reader.buffered).toBe(1);
    const out = reader.push(framed.subarray(1));
    expect(out).toHaveLength(1);
    expect(out[0]).toEqual(new Uint8Array(300).fill(0xab));
  });

  it('handles a stream fed one byte at a time', () => {
    const reader = new FrameReader();
    const stream = concat(frame(bytes(1, 2, 3)), frame(bytes(4)));
    const out: Uint8Array[] = [];
    for (const byte of stream) out.push(...reader.push(bytes(byte)));
    expect(out).toEqual([bytes(1, 2, 3), bytes(4)]);
    expect(reader.buffered).toBe(0);
  });

  it('returns copies that later chunks do not change', () => {
    const reader = new FrameReader();
    const chunk = frame(bytes(1, 2, 3));
    const [message] = reader.push(chunk);
    chunk.fill(0);
    reader.push(frame(bytes(9, 9, 9)));
    expect(message).toEqual(bytes(1, 2, 3));
  });

  it('accepts an empty chunk without yielding anything', () => {
    const reader = new FrameReader();
    expect(reader.push(new Uint8Array(0))).toEqual([]);
    expect(reader.buffered).toBe(0);
  });
});
