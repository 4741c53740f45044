/**
 * IPv4 and IPv6 addresses and CIDR networks as bigints, for matching and containment.
 * node:net validates the text; the bits are read here. An IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.1`, RFC 4291 §2.5.5.2) is the IPv4 address: an AAAA record must not reach
 * loopback, or slip past an IPv4 rule, by being written the other way.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

export interface IpAddress {
  readonly family: IpFamily;
  readonly value: bigint;
}

export interface Cidr {
  readonly family: IpFamily;
  readonly network: bigint;
  readonly prefixLength: number;
}

const BITS: Readonly<Record<IpFamily, number>> = { 4: 32, 6: 128 };
const MAPPED_PREFIX = 0xffffn << 32n;

function parseIpv4Bits(text: string): bigint {
  return text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function parseIpv6Bits(text: string): bigint {
  let hex = text;
  const lastColon = hex.lastIndexOf(':');
  const tail = hex.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseIpv4Bits(tail);
    hex = `${hex.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', rest] = hex.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = rest === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/** Reads an address (an IPv6 zone index such as `%eth0` is ignored); undefined if it is not one. */
export function parseAddress(text: string): IpAddress | undefined {
  const bare = text.includes('%') ? text.slice(0, text.indexOf('%')) : text;
  if (isIPv4(bare)) return { family: 4, value: parseIpv4Bits(bare) };
  if (!isIPv6(bare)) return undefined;
  const value = parseIpv6Bits(bare);
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

/** RFC 5952 text: IPv4 dotted quad; IPv6 lower case with the longest run of zero groups as `::`. */
export function formatAddress(address: IpAddress): string {
  if (address.family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((address.value >> shift) & 0xffn)).join('.');
  }
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) => Number((address.value >> shift) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** The canonical text of an address, or undefined if it is not one. */
export function normalizeAddress(text: string): string | undefined {
  const address = parseAddress(text);
  return address === undefined ? undefined : formatAddress(address);
}

function hostMask(family: IpFamily, prefixLength: number): bigint {
  return (1n << BigInt(BITS[family] - prefixLength)) - 1n;
}

/**
 * Reads `192.0.2.0/24`, `2001:db8::/32`, or a bare address (a /32 or /128). Returns the reason
 * as a string when the text is not a network; host bits set are refused, with the fix.
 */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  if (addressText.includes('%')) return `"${text}" has a zone index; networks take none`;
  if (!isIPv4(addressText) && !isIPv6(addressText)) return `"${addressText}" is not an IPv4 or IPv6 address`;
  const family: IpFamily = isIPv4(addressText) ? 4 : 6;
  const value = family === 4 ? parseIpv4Bits(addressText) : parseIpv6Bits(addressText);
  const lengthText = slash < 0 ? String(BITS[family]) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lengthText) || Number(lengthText) > BITS[family]) {
    return `prefix length "${lengthText}" is not a number from 0 to ${BITS[family]}`;
  }
  const prefixLength = Number(lengthText);
  if ((value & hostMask(family, prefixLength)) !== 0n) {
    const network = formatAddress({ family, value: value & ~hostMask(family, prefixLength) });
    return `"${text}" has host bits set (did you mean ${network}/${prefixLength}?)`;
  }
  return { family, network: value, prefixLength };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatAddress({ family: cidr.family, value: cidr.network })}/${cidr.prefixLength}`;
}

export function cidrContains(cidr: Cidr, address: IpAddress): boolean {
  return cidr.family === address.family && (address.value & ~hostMask(cidr.family, cidr.prefixLength)) === cidr.network;
}

/** True when every address of `inner` is in `outer`. */
export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  return inner.family === outer.family && inner.prefixLength >= outer.prefixLength
    && cidrContains(outer, { family: inner.family, value: inner.network });
}

/** The network holding exactly one address. */
export function hostCidr(address: IpAddress): Cidr {
  return { family: address.family, network: address.value, prefixLength: BITS[address.family] };
}

/** Whether a network is an IPv4-mapped IPv6 range (`::ffff:0:0/96` and inside), which never matches. */
export function isMappedRange(cidr: Cidr): boolean {
  return cidr.family === 6 && cidr.prefixLength >= 96 && cidr.network >> 32n === MAPPED_PREFIX >> 32n;
}
