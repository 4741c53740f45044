import { describe, expect, it } from 'vitest';
import { expectAppError, nameWire } from '../../test/support/unit.js';
import { WireFormatError } from '../core/errors.js';
import { PresentationError } from './errors.js';
import { decodeIpseckey, encodeIpseckey, GatewayType, ipseckeyText, parseIpseckeyText } from './ipseckey.js';
import { RFC4025_EXAMPLES, RFC4025_KEY_B64 } from './test-vectors.js';

const KEY = [...Buffer.from(RFC4025_KEY_B64, 'base64')];
const bytes = (...parts: number[][]): Uint8Array => Uint8Array.from(parts.flat());

describe('IPSECKEY presentation (RFC 4025 §3)', () => {
  it.each(RFC4025_EXAMPLES.map((example) => [example.text, example.dig]))('reads the RFC 4025 §3.3 example %j and prints it as dig does', (text, dig) => {
    const record = parseIpseckeyText(text);
    expect(ipseckeyText(record)).toBe(dig);
    expect(ipseckeyText(decodeIpseckey(encodeIpseckey(record)))).toBe(dig);
  });

  it('lays out the RFC 4025 §3.3 IPv4 example on the wire as §2.1 says', () => {
    const rdata = encodeIpseckey(parseIpseckeyText(RFC4025_EXAMPLES[0].text));
    expect(rdata).toEqual(bytes([10, 1, 2], [192, 0, 2, 38], KEY));
  });

  it('writes a gateway name uncompressed in wire form (RFC 4025 §2.5)', () => {
    const record = parseIpseckeyText(`10 3 2 mygateway.example.com. ${RFC4025_KEY_B64}`);
    expect(record.gateway).toEqual({ type: GatewayType.Name, name: 'mygateway.example.com.' });
    expect(encodeIpseckey(record)).toEqual(bytes([10, 3, 2], nameWire('mygateway.example.com.'), KEY));
  });

  it('takes a relative gateway name relative to the origin', () => {
    expect(parseIpseckeyText(`10 3 2 gw ${RFC4025_KEY_B64}`, 'example.com.').gateway).toEqual({ type: GatewayType.Name, name: 'gw.example.com.' });
  });

  it('prints gateway names with dig\'s escapes, not oedns\' own', () => {
    const record = decodeIpseckey(bytes([1, 3, 0], [5, ...Buffer.from('a.b+c'), 0], [0xff]));
    expect(record.gateway).toEqual({ type: GatewayType.Name, name: 'a\\.b\\+c.' });
    expect(ipseckeyText(record)).toBe('1 3 0 a\\.b+c. /w==');
  });

  it('reads and prints a record without a key (RFC 4025 §2.4: algorithm 0)', () => {
    const record = decodeIpseckey(bytes([10, 0, 0]));
    expect(record.publicKey).toHaveLength(0);
    expect(ipseckeyText(record)).toBe('10 0 0 .');
    expect(encodeIpseckey(parseIpseckeyText('10 0 0 .'))).toEqual(bytes([10, 0, 0]));
  });

  it('keeps an algorithm missing from the registry', () => {
    expect(decodeIpseckey(bytes([10, 0, 200], [1, 2, 3])).algorithm).toBe(200);
  });

  it('reads base64 split across blanks and comments', () => {
    const split = `10 0 2 . ${RFC4025_KEY_B64.slice(0, 20)} ; part\n ${RFC4025_KEY_B64.slice(20)}`;
    expect(() => parseIpseckeyText(split)).toThrow(PresentationError);
    expect(parseIpseckeyText(`(${split})`).publicKey).toEqual(Uint8Array.from(KEY));
  });

  it('encodes back byte-identically what it decoded', () => {
    for (const rdata of [
      bytes([0, 0, 0]), bytes([255, 1, 4], [10, 0, 0, 1], [1, 2, 3]), bytes([5, 2, 3], new Array(16).fill(0), [9]),
      bytes([7, 3, 1], nameWire('A\\000b.Example.'), KEY),
    ]) expect(encodeIpseckey(decodeIpseckey(rdata))).toEqual(rdata);
  });
});

describe('IPSECKEY RDATA rejected', () => {
  it.each([
    ['an empty RDATA', [], /truncated: precedence/],
    ['a header cut short', [10, 1], /truncated: algorithm/],
    ['a truncated IPv4 gateway', [10, 1, 2, 192, 0], /truncated: IPv4 gateway needs 4 bytes, 2 left/],
    ['a truncated IPv6 gateway', [10, 2, 2, 0x20, 0x01], /truncated: IPv6 gateway needs 16 bytes/],
    ['a gateway name running off the end', [10, 3, 2, 3, 0x61, 0x62], /truncated: gateway name label/],
    ['a gateway name without its root label', [10, 3, 2, 1, 0x61], /truncated: gateway name label length/],
    ['a compressed gateway name (RFC 4025 §2.5)', [10, 3, 2, 0xc0, 0x00], /compressed, which RFC 4025 §2.5 forbids/],
    ['an extended label type', [10, 3, 2, 0x41, 0], /unsupported label type 0x40/],
    ['a gateway name over 255 bytes', [10, 3, 2, ...new Array(5).fill([63, ...new Array(63).fill(0x61)]).flat(), 0], /longer than 255 bytes/],
    ['an undefined gateway type', [10, 4, 2, 1, 2, 3, 4], /gateway type 4 is not defined/],
  ])('refuses %s', (_, rdata, pattern) => {
    expectAppError(() => decodeIpseckey(Uint8Array.from(rdata)), WireFormatError, new RegExp(`^IPSECKEY RDATA: .*${pattern.source}`));
    expectAppError(() => decodeIpseckey(Uint8Array.from(rdata), 'www.example.'), WireFormatError, new RegExp(`^IPSECKEY RDATA of www\\.example\\.: .*${pattern.source}`));
  });
});

describe('IPSECKEY text rejected', () => {
  it.each([
    ['a missing gateway', '10 0 2', /gateway is missing/],
    ['a missing algorithm', '10 0', /algorithm is missing/],
    ['a precedence over 255', '256 0 2 . AQID', /precedence "256" is not an integer from 0 to 255/],
    ['a word for a number', 'ten 0 2 . AQID', /precedence "ten"/],
    ['gateway type 0 with a gateway', '10 0 2 192.0.2.1 AQID', /gateway type 0 needs "\."/],
    ['a bad IPv4 gateway', '10 1 2 192.0.2 AQID', /"192\.0\.2" is not an IPv4 address/],
    ['an IPv6 gateway for type 1', '10 1 2 2001:db8::1 AQID', /is not an IPv4 address/],
    ['a bad IPv6 gateway', '10 2 2 2001:db8:::1 AQID', /is not an IPv6 address/],
    ['a bad gateway name', '10 3 2 a..b. AQID', /gateway "a\.\.b\." is not a domain name/],
    ['an undefined gateway type', '10 4 2 x AQID', /gateway type 4 is not defined/],
    ['a key that is not base64', '10 0 2 . AQ*D', /public key is not base64/],
    ['non-canonical base64', '10 0 2 . AQJ=', /public key is not base64/],
    ['an unclosed parenthesis', '( 10 0 2 . AQID', /'\(' is never closed/],
    ['a stray parenthesis', '10 0 2 . AQID )', /'\)' without a matching '\('/],
  ])('refuses %s', (_, text, pattern) => {
    expectAppError(() => parseIpseckeyText(text, '.', 'www.example.'), PresentationError, new RegExp(`^IPSECKEY text of www\\.example\\.: .*${pattern.source}`));
  });
});
