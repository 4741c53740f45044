/**
 * RFC 1982 serial number arithmetic with SERIAL_BITS = 32, as RFC 4034 §3.1.5 requires for the
 * RRSIG Expiration and Inception fields: the fields wrap every 2^32 seconds (in 2106), so "before"
 * means "less than half the circle behind". Two values exactly 2^31 apart are incomparable
 * (RFC 1982 §3.2): neither is less than nor greater than the other.
 */

const SERIAL_SPACE = 0x1_0000_0000;
const HALF_SPACE = 0x8000_0000;

/** An epoch-seconds value (any non-negative integer) reduced to a 32-bit serial. */
export function toSerial(value: number): number {
  return ((value % SERIAL_SPACE) + SERIAL_SPACE) % SERIAL_SPACE;
}

/** RFC 1982 §3.2: s1 < s2. */
export function serialLessThan(s1: number, s2: number): boolean {
  const a = toSerial(s1);
  const b = toSerial(s2);
  return (a < b && b - a < HALF_SPACE) || (a > b && a - b > HALF_SPACE);
}

/** RFC 1982 §3.2: s1 > s2. */
export function serialGreaterThan(s1: number, s2: number): boolean {
  return serialLessThan(s2, s1);
}

/** s1 == s2 or s1 < s2; false when the two are incomparable. */
export function serialLessOrEqual(s1: number, s2: number): boolean {
  return toSerial(s1) === toSerial(s2) || serialLessThan(s1, s2);
}

/**
 * The epoch-seconds value nearest to `nowEpoch` whose serial is `serial`: an RRSIG time field
 * read as an absolute time (for example to cap a cache TTL at a signature's expiration).
 */
export function serialToEpoch(serial: number, nowEpoch: number): number {
  const delta = toSerial(serial - toSerial(nowEpoch));
  return nowEpoch + (delta >= HALF_SPACE ? delta - SERIAL_SPACE : delta);
}
