import { describe, expect, it } from 'vitest';
import { ipv4Text, ipv6Text, parseIpv4, parseIpv6 } from './address.js';

const v6 = (text: string): string => ipv6Text(parseIpv6(text)!);

describe('IPv6 text as BIND (glibc inet_ntop) prints it', () => {
  it.each([
    ['2001:0DB8:0:8002::2000:1', '2001:db8:0:8002::2000:1'],
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ['1:0:0:1:1:0:0:1', '1::1:1:0:0:1'],
    ['1:0:1:1:1:1:1:1', '1:0:1:1:1:1:1:1'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::1.2.3.4', '::1.2.3.4'],
    ['::1', '::1'],
    ['::', '::'],
    ['1::', '1::'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['0:0:0:0:0:ffff:102:304', '::ffff:1.2.3.4'],
    ['fe80:0:0:0:1:0:0:0', 'fe80::1:0:0:0'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
  ])('%s prints as %s', (input, printed) => {
    expect(v6(input)).toBe(printed);
  });

  it.each(['1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'g::1', '1.2.3.4::', ':1::', '1:2:3:4:5:6:7:8::', '::1.2.3', ''])(
    'refuses %j', (input) => {
      expect(parseIpv6(input)).toBeUndefined();
    },
  );
});

describe('IPv4 text (glibc inet_pton rules)', () => {
  it('reads and prints a dotted quad', () => {
    expect(ipv4Text(parseIpv4('192.0.2.38')!)).toBe('192.0.2.38');
  });

  it.each(['01.2.3.4', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.', 'a.b.c.d', ' 1.2.3.4'])('refuses %j', (input) => {
    expect(parseIpv4(input)).toBeUndefined();
  });
});
