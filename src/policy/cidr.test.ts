import { describe, expect, it } from 'vitest';
import { cidrContains, cidrWithin, formatAddress, formatCidr, normalizeAddress, parseAddress, parseCidr, type Cidr } from './cidr.js';

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}

function address(text: string) {
  const parsed = parseAddress(text);
  if (parsed === undefined) throw new Error(`not an address: ${text}`);
  return parsed;
}

describe('addresses', () => {
  it('writes addresses in RFC 5952 form', () => {
    expect(normalizeAddress('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(normalizeAddress('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(normalizeAddress('2001:db8::1:0:1')).toBe('2001:db8::1:0:1');
    expect(normalizeAddress('2001:db8:1:1:1:1:1:1')).toBe('2001:db8:1:1:1:1:1:1');
    expect(normalizeAddress('::')).toBe('::');
    expect(normalizeAddress('::1')).toBe('::1');
    expect(normalizeAddress('1::')).toBe('1::');
    expect(normalizeAddress('64:ff9b::192.0.2.33')).toBe('64:ff9b::c000:221');
    expect(normalizeAddress('192.0.2.1')).toBe('192.0.2.1');
  });

  it('reads an IPv4-mapped IPv6 address as the IPv4 address (RFC 4291 §2.5.5.2)', () => {
    expect(parseAddress('::ffff:127.0.0.1')).toEqual({ family: 4, value: 0x7f000001n });
    expect(normalizeAddress('::FFFF:7f00:1')).toBe('127.0.0.1');
  });

  it('ignores a zone index and refuses what is not an address', () => {
    expect(normalizeAddress('fe80::1%eth0')).toBe('fe80::1');
    for (const bad of ['', '192.0.2', '192.0.2.256', 'example.org', '1:2:3:4:5:6:7:8:9', '[::1]']) expect(parseAddress(bad)).toBeUndefined();
  });
});

describe('CIDR networks', () => {
  it('matches addresses inside and only inside', () => {
    const v4 = cidr('192.0.2.0/24');
    expect(cidrContains(v4, address('192.0.2.0'))).toBe(true);
    expect(cidrContains(v4, address('192.0.2.255'))).toBe(true);
    expect(cidrContains(v4, address('192.0.3.0'))).toBe(false);
    expect(cidrContains(v4, address('::ffff:192.0.2.9'))).toBe(true);
    const v6 = cidr('2001:db8::/32');
    expect(cidrContains(v6, address('2001:db8:ffff::1'))).toBe(true);
    expect(cidrContains(v6, address('2001:db9::1'))).toBe(false);
    expect(cidrContains(v6, address('192.0.2.1'))).toBe(false);
    expect(cidrContains(cidr('0.0.0.0/0'), address('203.0.113.1'))).toBe(true);
    expect(cidrContains(cidr('::/0'), address('203.0.113.1'))).toBe(false);
  });

  it('takes a bare address as a host network', () => {
    expect(formatCidr(cidr('198.51.100.7'))).toBe('198.51.100.7/32');
    expect(formatCidr(cidr('2001:db8::7'))).toBe('2001:db8::7/128');
  });

  it('knows when one network lies within another', () => {
    expect(cidrWithin(cidr('192.0.2.128/25'), cidr('192.0.2.0/24'))).toBe(true);
    expect(cidrWithin(cidr('192.0.2.0/24'), cidr('192.0.2.128/25'))).toBe(false);
    expect(cidrWithin(cidr('192.0.2.0/24'), cidr('192.0.2.0/24'))).toBe(true);
    expect(cidrWithin(cidr('2001:db8::/48'), cidr('192.0.2.0/24'))).toBe(false);
  });

  it('explains what is wrong with a bad network', () => {
    expect(parseCidr('192.0.2.0/33')).toBe('prefix length "33" is not a number from 0 to 32');
    expect(parseCidr('2001:db8::/129')).toBe('prefix length "129" is not a number from 0 to 128');
    expect(parseCidr('192.0.2.0/')).toBe('prefix length "" is not a number from 0 to 32');
    expect(parseCidr('192.0.2.0/2x')).toBe('prefix length "2x" is not a number from 0 to 32');
    expect(parseCidr('2001:db8::1/32')).toBe('"2001:db8::1/32" has host bits set (did you mean 2001:db8::/32?)');
    expect(parseCidr('example.org/24')).toBe('"example.org" is not an IPv4 or IPv6 address');
    expect(formatAddress({ family: 4, value: 0n })).toBe('0.0.0.0');
  });
});
