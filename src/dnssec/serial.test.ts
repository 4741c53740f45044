import { describe, expect, it } from 'vitest';
import { serialGreaterThan, serialLessOrEqual, serialLessThan, serialToEpoch, toSerial } from './serial.js';

const TWO_32 = 0x1_0000_0000;

describe('RFC 1982 serial arithmetic on 32 bits', () => {
  it('orders nearby values as plain integers (RFC 1982 §3.2)', () => {
    expect(serialLessThan(1, 2)).toBe(true);
    expect(serialLessThan(2, 1)).toBe(false);
    expect(serialGreaterThan(2, 1)).toBe(true);
    expect(serialLessThan(5, 5)).toBe(false);
    expect(serialLessOrEqual(5, 5)).toBe(true);
  });

  it('orders across the 2^32 wrap: 0xfffffff0 is before 0x10 (RFC 1982 §3.2)', () => {
    expect(serialLessThan(0xfffffff0, 0x10)).toBe(true);
    expect(serialGreaterThan(0x10, 0xfffffff0)).toBe(true);
    expect(serialLessOrEqual(0x10, 0xfffffff0)).toBe(false);
  });

  it('reduces epoch seconds past 2106 to the same serial', () => {
    expect(toSerial(TWO_32 + 7)).toBe(7);
    expect(serialLessThan(TWO_32 - 5, TWO_32 + 5)).toBe(true);
  });

  it('treats values exactly 2^31 apart as incomparable, so neither bound check passes (RFC 1982 §3.2)', () => {
    expect(serialLessThan(0, 0x8000_0000)).toBe(false);
    expect(serialGreaterThan(0, 0x8000_0000)).toBe(false);
    expect(serialLessOrEqual(0, 0x8000_0000)).toBe(false);
    expect(serialLessOrEqual(0x8000_0000, 0)).toBe(false);
  });

  it('reads a serial as the epoch nearest to now, before or after the wrap', () => {
    expect(serialToEpoch(1_700_000_100, 1_700_000_000)).toBe(1_700_000_100);
    expect(serialToEpoch(1_699_999_900, 1_700_000_000)).toBe(1_699_999_900);
    expect(serialToEpoch(100, TWO_32 - 100)).toBe(TWO_32 + 100);
  });
});
