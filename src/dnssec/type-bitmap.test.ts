import { describe, expect, it } from 'vitest';
import { WireFormatError } from '../core/errors.js';
import { RRType } from '../wire/index.js';
import { expectAppError } from '../../test/support/unit.js';
import { decodeTypeBitmap, encodeTypeBitmap, hasType } from './type-bitmap.js';

describe('type bit maps (RFC 4034 §4.1.2)', () => {
  it('decodes the RFC 4034 §4.3 example: A MX RRSIG NSEC TYPE1234', () => {
    const bytes = Uint8Array.from([
      0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03,
      0x04, 0x1b, ...new Array<number>(26).fill(0), 0x20,
    ]);
    const bitmap = decodeTypeBitmap(bytes);
    expect(bitmap.types).toEqual([RRType.A, RRType.MX, RRType.RRSIG, RRType.NSEC, 1234]);
    expect(hasType(bitmap, RRType.MX)).toBe(true);
    expect(hasType(bitmap, RRType.AAAA)).toBe(false);
    expect(hasType(bitmap, 1234)).toBe(true);
    expect(encodeTypeBitmap([1234, RRType.NSEC, RRType.A, RRType.RRSIG, RRType.MX])).toEqual(bytes);
  });

  it('accepts an empty field (an NSEC3 for an empty non-terminal, RFC 5155 §3.2.1)', () => {
    expect(decodeTypeBitmap(new Uint8Array(0)).types).toEqual([]);
  });

  it('round-trips types in several windows, including 65535', () => {
    const types = [RRType.NS, RRType.SOA, 256, 257, 32768, 65535];
    expect(decodeTypeBitmap(encodeTypeBitmap(types)).types).toEqual(types);
  });

  it('accepts trailing zero octets in a block: they name no type', () => {
    expect(decodeTypeBitmap(Uint8Array.from([0, 2, 0x40, 0x00])).types).toEqual([RRType.A]);
  });

  it('rejects windows out of order or repeated', () => {
    expectAppError(() => decodeTypeBitmap(Uint8Array.from([1, 1, 0x80, 0, 1, 0x40])), WireFormatError, /not increasing/);
    expectAppError(() => decodeTypeBitmap(Uint8Array.from([0, 1, 0x40, 0, 1, 0x20])), WireFormatError, /not increasing/);
  });

  it('rejects a bitmap length of 0 or above 32', () => {
    expectAppError(() => decodeTypeBitmap(Uint8Array.from([0, 0])), WireFormatError, /length 0/);
    expectAppError(() => decodeTypeBitmap(Uint8Array.from([0, 33, ...new Array<number>(33).fill(1)])), WireFormatError, /length 33/);
  });

  it('rejects a block cut short and a trailing byte', () => {
    expectAppError(() => decodeTypeBitmap(Uint8Array.from([0, 3, 0x40, 0x01])), WireFormatError, /runs past the end/);
    expectAppError(() => decodeTypeBitmap(Uint8Array.from([0, 1, 0x40, 0x07])), WireFormatError, /trailing/);
  });

  it('refuses to encode a number that is not an RR type', () => {
    expectAppError(() => encodeTypeBitmap([65536]), WireFormatError, /not an RR type/);
  });
});
