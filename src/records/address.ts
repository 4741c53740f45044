/**
 * IPv4 and IPv6 addresses in IPSECKEY gateways (RFC 4025 §2.5), text to bytes and back exactly as
 * BIND 9.18 does it: BIND calls the C library's inet_pton/inet_ntop, so this follows glibc —
 * dotted quads without leading zeros; IPv6 with the longest run of two or more zero groups
 * (the first, on a tie) written `::`, lowercase hex, and `::a.b.c.d` / `::ffff:a.b.c.d` for
 * IPv4-compatible and IPv4-mapped addresses.
 */

const IPV4_BYTES = 4;
const IPV6_WORDS = 8;

/** `192.0.2.1` → 4 bytes; undefined for anything inet_pton(AF_INET) refuses. */
export function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== IPV4_BYTES) return undefined;
  const bytes = new Uint8Array(IPV4_BYTES);
  for (const [i, part] of parts.entries()) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
    bytes[i] = Number(part);
  }
  return bytes;
}

export function ipv4Text(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, IPV4_BYTES)).join('.');
}

/** Groups of one side of `::`; an IPv4 tail only where the address ends. */
function words(part: string, ipv4Tail: boolean): number[] | undefined {
  if (part === '') return [];
  const groups = part.split(':');
  const out: number[] = [];
  for (const [i, group] of groups.entries()) {
    if (ipv4Tail && i === groups.length - 1 && group.includes('.')) {
      const v4 = parseIpv4(group);
      if (!v4) return undefined;
      out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else if (/^[0-9a-f]{1,4}$/i.test(group)) {
      out.push(parseInt(group, 16));
    } else {
      return undefined;
    }
  }
  return out;
}

/** `2001:db8::1` → 16 bytes; undefined for anything inet_pton(AF_INET6) refuses. */
export function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = words(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? words(halves[1]!, true) : [];
  if (!head || !tail) return undefined;
  // glibc: without `::` all eight groups; with it, `::` stands for at least one zero group.
  if (halves.length === 1 ? head.length !== IPV6_WORDS : head.length + tail.length >= IPV6_WORDS) return undefined;
  const all = [...head, ...new Array<number>(IPV6_WORDS - head.length - tail.length).fill(0), ...tail];
  const bytes = new Uint8Array(IPV6_WORDS * 2);
  all.forEach((word, i) => {
    bytes[2 * i] = word >> 8;
    bytes[2 * i + 1] = word & 0xff;
  });
  return bytes;
}

/** The longest run of at least two zero words (the first on a tie), as glibc's inet_ntop picks it. */
function longestZeroRun(values: readonly number[]): { base: number; length: number } {
  let best = { base: -1, length: 0 };
  let current = { base: -1, length: 0 };
  for (let i = 0; i <= values.length; i++) {
    if (i < values.length && values[i] === 0) {
      current = current.base < 0 ? { base: i, length: 1 } : { base: current.base, length: current.length + 1 };
    } else if (current.base >= 0) {
      if (best.base < 0 || current.length > best.length) best = current;
      current = { base: -1, length: 0 };
    }
  }
  return best.length < 2 ? { base: -1, length: 0 } : best;
}

export function ipv6Text(bytes: Uint8Array): string {
  const values = Array.from({ length: IPV6_WORDS }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  const run = longestZeroRun(values);
  let text = '';
  for (let i = 0; i < IPV6_WORDS; i++) {
    if (run.base >= 0 && i >= run.base && i < run.base + run.length) {
      if (i === run.base) text += ':';
      continue;
    }
    if (i !== 0) text += ':';
    // Encapsulated IPv4: ::a.b.c.d (six zero words) and ::ffff:a.b.c.d (IPv4-mapped).
    if (i === 6 && run.base === 0 && (run.length === 6 || (run.length === 5 && values[5] === 0xffff))) {
      return text + ipv4Text(bytes.subarray(12, 16));
    }
    text += values[i]!.toString(16);
  }
  if (run.base >= 0 && run.base + run.length === IPV6_WORDS) text += ':';
  return text;
}
