import { describe, expect, it } from 'vitest';
import { expectAppError } from '../../test/support/unit.js';
import { WireFormatError } from '../core/errors.js';
import { PresentationError } from './errors.js';
import { RFC6698_EXAMPLES } from './test-vectors.js';
import { decodeTlsa, encodeTlsa, parseTlsaText, TlsaMatchingType, TlsaSelector, TlsaUsage, tlsaText } from './tlsa.js';

const sha256 = new Array<number>(32).fill(0xab);

describe('TLSA (RFC 6698 §2)', () => {
  it.each(RFC6698_EXAMPLES.map((example) => [example.text, example.dig]))('reads the RFC 6698 §2.3 example %j and prints it as dig +nosplit does', (text, dig) => {
    const record = parseTlsaText(text);
    expect(tlsaText(record)).toBe(dig);
    expect(tlsaText(decodeTlsa(encodeTlsa(record)))).toBe(dig);
  });

  it('lays out the fields as RFC 6698 §2.1 says', () => {
    const record = decodeTlsa(Uint8Array.from([3, 1, 1, ...sha256]));
    expect(record).toEqual({ usage: TlsaUsage.DaneEe, selector: TlsaSelector.Spki, matchingType: TlsaMatchingType.Sha256, data: Uint8Array.from(sha256) });
    expect(encodeTlsa(record)).toEqual(Uint8Array.from([3, 1, 1, ...sha256]));
  });

  it('keeps usages, selectors and matching types missing from the registries', () => {
    const record = decodeTlsa(Uint8Array.from([200, 100, 50, 1, 2, 3]));
    expect(record).toMatchObject({ usage: 200, selector: 100, matchingType: 50 });
    expect(tlsaText(record)).toBe('200 100 50 010203');
  });

  it('prints long data on one line, uppercase', () => {
    const data = new Array<number>(300).fill(0xcd);
    expect(tlsaText(decodeTlsa(Uint8Array.from([0, 0, 0, ...data])))).toBe(`0 0 0 ${'CD'.repeat(300)}`);
  });
});

describe('TLSA rejected', () => {
  it.each([
    ['a truncated header', [3, 1], /truncated: matching type/],
    ['no association data', [3, 1, 0], /certificate association data is empty/],
    ['a SHA-256 digest of 31 bytes', [3, 1, 1, ...sha256.slice(1)], /matching type 1 is a 256-bit digest but the data has 31 bytes/],
    ['a SHA-512 digest of 32 bytes', [3, 1, 2, ...sha256], /matching type 2 is a 512-bit digest but the data has 32 bytes/],
  ])('refuses RDATA with %s', (_, rdata, pattern) => {
    expectAppError(() => decodeTlsa(Uint8Array.from(rdata), '_443._tcp.www.example.'), WireFormatError, new RegExp(`^TLSA RDATA of _443\\._tcp\\.www\\.example\\.: .*${pattern.source}`));
  });

  it.each([
    ['missing data', '3 1 1', /certificate association data is missing/],
    ['a selector over 255', '3 256 1 00', /selector "256" is not an integer from 0 to 255/],
    ['a mnemonic (BIND reads decimals only)', 'DANE-EE 1 1 00', /certificate usage "DANE-EE"/],
    ['data that is not hex', '3 1 0 0g', /certificate association data is not hex/],
    ['an odd number of hex digits', '3 1 0 abc', /odd number of hex digits \(3\)/],
    ['a short SHA-256 digest', '3 1 1 abcd', /matching type 1 is a 256-bit digest but the data has 2 bytes/],
  ])('refuses text with %s', (_, text, pattern) => {
    expectAppError(() => parseTlsaText(text), PresentationError, new RegExp(`^TLSA text: .*${pattern.source}`));
  });
});
