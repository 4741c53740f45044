import { describe, expect, it } from 'vitest';
import { expectAppError, nameWire } from '../../test/support/unit.js';
import { WireFormatError } from '../core/errors.js';
import { canonicalName, nameToLabels, namesEqual, normalizeName, readName, readNameWire } from './name.js';

const wire = nameWire;

function label(length: number, fill = 0x61): number[] {
  return [length, ...new Array<number>(length).fill(fill)];
}

function expectWireError(fn: () => unknown, pattern: RegExp): void {
  expectAppError(fn, WireFormatError, pattern);
}

describe('readName (RFC 1035 §3.1, §4.1.4)', () => {
  it('reads an uncompressed name with its length and wire form', () => {
    const bytes = Uint8Array.from([0xff, ...wire('www.example.com.'), 0xff]);
    const decoded = readName(bytes, 1);
    expect(decoded.name).toBe('www.example.com.');
    expect(decoded.length).toBe(17);
    expect(Array.from(readNameWire(bytes, 1).wire)).toEqual(wire('www.example.com.'));
  });

  it('reads the root name as "." with length 1', () => {
    const decoded = readName(Uint8Array.from([0]), 0);
    expect(decoded).toEqual({ name: '.', length: 1 });
    expect(readNameWire(Uint8Array.from([0]), 0).wire).toEqual(Uint8Array.from([0]));
  });

  it('follows a compression pointer to a prior name; the pointer counts 2 bytes (RFC 1035 §4.1.4)', () => {
    // example.com. at 0, then www + pointer to 0 at 13.
    const bytes = Uint8Array.from([...wire('example.com.'), 3, 0x77, 0x77, 0x77, 0xc0, 0x00]);
    const decoded = readName(bytes, 13);
    expect(decoded.name).toBe('www.example.com.');
    expect(decoded.length).toBe(6);
    expect(Array.from(readNameWire(bytes, 13).wire)).toEqual(wire('www.example.com.'));
  });

  it('reads a name that is only a pointer as 2 bytes long', () => {
    const bytes = Uint8Array.from([...wire('example.com.'), 0xc0, 0x00]);
    expect(readName(bytes, 13)).toMatchObject({ name: 'example.com.', length: 2 });
  });

  it('follows a pointer to a pointer (chained suffixes)', () => {
    // com. at 0; example + ptr(0) at 5; www + ptr(5) at 15.
    const bytes = Uint8Array.from([...wire('com.'), 7, ...Array.from('example', (c) => c.charCodeAt(0)), 0xc0, 0, 3, 0x77, 0x77, 0x77, 0xc0, 5]);
    expect(readName(bytes, 15)).toMatchObject({ name: 'www.example.com.', length: 6 });
  });

  it('keeps the original case of labels', () => {
    expect(readName(Uint8Array.from(wire('WwW.Example.COM.')), 0).name).toBe('WwW.Example.COM.');
  });

  it('rejects a pointer to itself (loop)', () => {
    expectWireError(() => readName(Uint8Array.from([0xc0, 0x00]), 0), /loop|backward/);
  });

  it('rejects a loop between two pointers', () => {
    // 0: ptr→2, 2: ptr→0. Starting at 2 jumps back to 0, which points forward again.
    expectWireError(() => readName(Uint8Array.from([0xc0, 0x02, 0xc0, 0x00]), 2), /loop|backward/);
  });

  it('rejects a loop through earlier labels of the same name', () => {
    // 0: "a", 2: ptr→0 — reading from 0 would revisit the pointer forever.
    expectWireError(() => readName(Uint8Array.from([1, 0x61, 0xc0, 0x00]), 0), /loop|backward/);
  });

  it('rejects a forward pointer, even to a well-formed name (RFC 1035 §4.1.4: "prior occurance")', () => {
    expectWireError(() => readName(Uint8Array.from([0xc0, 0x02, ...wire('example.com.')]), 0), /backward/);
  });

  describe('compression pointer cap', () => {
    // Offset 0 is the root; the pointer at 1+2k points to the one before it (the first to 0),
    // so a name starting at pointer k takes k+1 jumps.
    const chain = Uint8Array.from([0, ...Array.from({ length: 65 }, (_, k) => [0xc0, k === 0 ? 0 : 1 + 2 * (k - 1)]).flat()]);

    it('follows 64 chained pointers', () => {
      expect(readName(chain, 1 + 2 * 63)).toMatchObject({ name: '.', length: 2 });
    });

    it('rejects a 65th pointer in one name', () => {
      expectWireError(() => readName(chain, 1 + 2 * 64), /too many compression pointers/);
    });
  });

  it('rejects a length byte above 63, which is not a plain label (RFC 1035 §2.3.4)', () => {
    const bytes = Uint8Array.from([...label(64), 0]);
    expectWireError(() => readName(bytes, 0), /label/);
  });

  it('accepts a 63-byte label', () => {
    const decoded = readName(Uint8Array.from([...label(63), 0]), 0);
    expect(decoded.length).toBe(65);
    expect(decoded.name).toBe(`${'a'.repeat(63)}.`);
  });

  it('accepts a name of exactly 255 bytes (RFC 1035 §2.3.4)', () => {
    const bytes = Uint8Array.from([...label(63), ...label(63), ...label(63), ...label(61), 0]);
    expect(bytes.length).toBe(255);
    expect(readNameWire(bytes, 0).wire.length).toBe(255);
  });

  it('rejects a name of 256 bytes and more (RFC 1035 §2.3.4)', () => {
    expectWireError(() => readName(Uint8Array.from([...label(63), ...label(63), ...label(63), ...label(62), 0]), 0), /longer than 255/);
    expectWireError(() => readName(Uint8Array.from([...label(63), ...label(63), ...label(63), ...label(63), 0]), 0), /longer than 255/);
  });

  it('rejects a name that exceeds 255 bytes only through compression', () => {
    // 129 bytes at 0; at 129 two more 63-byte labels and a pointer to 0: 257 bytes expanded.
    const bytes = Uint8Array.from([...label(63), ...label(63), 0, ...label(63, 0x62), ...label(63, 0x62), 0xc0, 0x00]);
    expect(readNameWire(bytes, 0).wire.length).toBe(129);
    expectWireError(() => readName(bytes, 129), /longer than 255/);
  });

  it('rejects the extended label type 0x40 (RFC 6891 §5)', () => {
    expectWireError(() => readName(Uint8Array.from([0x41, 0x00, 0x00]), 0), /label type 0x40/);
  });

  it('rejects the reserved label type 0x80 (RFC 1035 §4.1.4)', () => {
    expectWireError(() => readName(Uint8Array.from([0x80, 0x00, 0x00]), 0), /label type 0x80/);
  });

  it('rejects a pointer cut off after its first byte', () => {
    expectWireError(() => readName(Uint8Array.from([...wire('com.'), 3, 0x77, 0x77, 0x77, 0xc0]), 5), /truncated pointer/);
  });

  it('rejects a start offset at or past the end', () => {
    expectWireError(() => readName(new Uint8Array(0), 0), /past the end/);
    expectWireError(() => readName(Uint8Array.from(wire('com.')), 5), /past the end/);
  });

  it('rejects a label running past the end', () => {
    expectWireError(() => readName(Uint8Array.from([3, 0x61, 0x62]), 0), /past the end/);
  });

  it('rejects a name without its terminating zero', () => {
    expectWireError(() => readName(Uint8Array.from([1, 0x61]), 0), /past the end/);
  });

  it('rejects a pointer whose target runs past the end', () => {
    expectWireError(() => readName(Uint8Array.from([5, 0x61, 0xc0, 0x00]), 2), /past the end/);
  });
});

describe('presentation form (RFC 1035 §5.1)', () => {
  it('escapes binary bytes as \\DDD and special printable bytes as \\X', () => {
    const bytes = Uint8Array.from([7, 0x00, 0x2e, 0x5c, 0x20, 0xff, 0x22, 0x7f, 0]);
    expect(readName(bytes, 0).name).toBe('\\000\\.\\\\\\032\\255\\"\\127.');
  });

  it('leaves letters, digits, "-", "_" and "*" unescaped', () => {
    expect(readName(Uint8Array.from(wire('*._sip._tcp.a-1.Z9.')), 0).name).toBe('*._sip._tcp.a-1.Z9.');
  });

  it('round-trips binary labels through text back to the same wire bytes', () => {
    const labelBytes = Array.from({ length: 60 }, (_, i) => (i * 37 + 5) & 0xff);
    const bytes = Uint8Array.from([60, ...labelBytes, 3, 0x00, 0x2e, 0xc0, 0]);
    const text = readName(bytes, 0).name;
    const labels = nameToLabels(text);
    expect(labels.map((l) => Array.from(l))).toEqual([labelBytes, [0x00, 0x2e, 0xc0]]);
    expect(normalizeName(text)).toBe(text);
  });

  it('treats "\\." as a dot inside a label, not a separator', () => {
    const labels = nameToLabels('a\\.b.example.');
    expect(labels.map((l) => Buffer.from(l).toString('latin1'))).toEqual(['a.b', 'example']);
    expect(normalizeName('a\\.b.example')).toBe('a\\.b.example.');
    const bytes = Uint8Array.from([3, 0x61, 0x2e, 0x62, ...wire('example.')]);
    expect(readName(bytes, 0).name).toBe('a\\.b.example.');
  });

  it('decodes \\DDD to the byte it names and re-escapes only what needs it', () => {
    expect(Array.from(nameToLabels('\\000\\255')[0]!)).toEqual([0, 255]);
    expect(normalizeName('\\097\\098c.example')).toBe('abc.example.');
    expect(normalizeName('\\046')).toBe('\\..');
    expect(normalizeName('a\\ b')).toBe('a\\032b.');
  });

  it('rejects \\DDD above 255, a lone backslash and non-ASCII text', () => {
    expectWireError(() => normalizeName('\\256.example.'), /above/);
    expectWireError(() => normalizeName('example\\'), /lone backslash/);
    expectWireError(() => normalizeName('bücher.example.'), /non-ASCII/);
  });
});

describe('normalizeName', () => {
  it('makes a relative name absolute and keeps its case', () => {
    expect(normalizeName('Example.ORG')).toBe('Example.ORG.');
    expect(normalizeName('example.org.')).toBe('example.org.');
  });

  it('writes the root as "."', () => {
    expect(normalizeName('.')).toBe('.');
    expect(normalizeName('')).toBe('.');
  });

  it('rejects empty labels', () => {
    expectWireError(() => normalizeName('a..b.'), /empty label/);
    expectWireError(() => normalizeName('.a.'), /empty label/);
  });

  it('rejects a label over 63 bytes and accepts one of 63 (RFC 1035 §2.3.4)', () => {
    expect(normalizeName(`${'a'.repeat(63)}.example.`)).toBe(`${'a'.repeat(63)}.example.`);
    expectWireError(() => normalizeName(`${'a'.repeat(64)}.example.`), /longer than 63/);
    // An escape counts as one byte.
    expect(normalizeName(`${'\\000'.repeat(63)}.`)).toBe(`${'\\000'.repeat(63)}.`);
  });

  it('rejects a name over 255 bytes and accepts one of 255 (RFC 1035 §2.3.4)', () => {
    const l63 = 'a'.repeat(63);
    expect(normalizeName(`${l63}.${l63}.${l63}.${'b'.repeat(61)}.`)).toHaveLength(63 * 3 + 61 + 4);
    expectWireError(() => normalizeName(`${l63}.${l63}.${l63}.${'b'.repeat(62)}.`), /longer than 255/);
  });
});

describe('canonicalName and namesEqual (RFC 4034 §6.2, RFC 4343)', () => {
  it('lowercases ASCII letters', () => {
    expect(canonicalName('WWW.Example.COM.')).toBe('www.example.com.');
  });

  it('leaves escaped non-ASCII bytes alone (only ASCII letters are case-folded)', () => {
    // 0xC4 is "Ä" in Latin-1; RFC 4343 §3 folds only 0x41–0x5A.
    const name = normalizeName('\\196X.');
    expect(name).toBe('\\196X.');
    expect(canonicalName(name)).toBe('\\196x.');
  });

  it('compares names case-insensitively', () => {
    expect(namesEqual('WWW.Example.com.', 'www.EXAMPLE.COM.')).toBe(true);
    expect(namesEqual('www.example.com.', 'www.example.net.')).toBe(false);
    expect(namesEqual('www.example.com.', 'ww.example.com.')).toBe(false);
  });

  it('does not equate an escaped dot with a label separator', () => {
    expect(namesEqual('a\\.b.', 'a.b.')).toBe(false);
  });
});
