import { describe, expect, it } from 'vitest';
import { expectAppError } from '../../test/support/unit.js';
import { WireFormatError } from '../core/errors.js';
import { certAlgorithmText, certText, CertType, certTypeText, decodeCert, encodeCert, parseCertText } from './cert.js';
import { PresentationError } from './errors.js';

const DATA = [0x30, 0x82, 0x01, 0x0a];
const DATA_B64 = Buffer.from(DATA).toString('base64');

describe('CERT (RFC 4398 §2)', () => {
  it('lays out type, key tag, algorithm and certificate as RFC 4398 §2 says', () => {
    const rdata = Uint8Array.from([0, 1, 0x30, 0x39, 13, ...DATA]);
    const record = decodeCert(rdata);
    expect(record).toEqual({ certType: CertType.PKIX, keyTag: 12345, algorithm: 13, certificate: Uint8Array.from(DATA) });
    expect(certText(record)).toBe(`PKIX 12345 ECDSAP256SHA256 ${DATA_B64}`);
    expect(encodeCert(record)).toEqual(rdata);
  });

  it.each([
    [1, 'PKIX'], [2, 'SPKI'], [3, 'PGP'], [4, 'IPKIX'], [5, 'ISPKI'], [6, 'IPGP'], [7, 'ACPKIX'], [8, 'IACPKIX'],
    [253, 'URI'], [254, 'OID'], [0, '0'], [9, '9'], [255, '255'], [256, '256'], [65535, '65535'],
  ])('prints certificate type %i as dig does: %s', (value, text) => {
    expect(certTypeText(value)).toBe(text);
  });

  it.each([
    [0, '0'], [1, 'RSAMD5'], [2, 'DH'], [3, 'DSA'], [4, '4'], [5, 'RSASHA1'], [6, 'NSEC3DSA'], [7, 'NSEC3RSASHA1'],
    [8, 'RSASHA256'], [9, '9'], [10, 'RSASHA512'], [12, 'ECCGOST'], [13, 'ECDSAP256SHA256'], [14, 'ECDSAP384SHA384'],
    [15, 'ED25519'], [16, 'ED448'], [17, '17'], [252, 'INDIRECT'], [253, 'PRIVATEDNS'], [254, 'PRIVATEOID'], [255, '255'],
  ])('prints algorithm %i as dig does: %s', (value, text) => {
    expect(certAlgorithmText(value)).toBe(text);
  });

  it('reads mnemonics in any case, aliases and decimals (RFC 4398 §2.2)', () => {
    expect(parseCertText(`pkix 1 ecdsa256 ${DATA_B64}`)).toMatchObject({ certType: 1, keyTag: 1, algorithm: 13 });
    expect(parseCertText(`65280 0 0 ${DATA_B64}`)).toMatchObject({ certType: 65280, keyTag: 0, algorithm: 0 });
    expect(parseCertText(`IPKIX 0 0 ( ${DATA_B64.slice(0, 4)}\n ${DATA_B64.slice(4)} )`).certificate).toEqual(Uint8Array.from(DATA));
  });

  it('round-trips every value it prints', () => {
    for (const certType of [0, 1, 8, 253, 65535]) {
      for (const algorithm of [0, 6, 13, 255]) {
        const rdata = encodeCert({ certType, keyTag: 7, algorithm, certificate: Uint8Array.from(DATA) });
        expect(encodeCert(parseCertText(certText(decodeCert(rdata))))).toEqual(rdata);
      }
    }
  });
});

describe('CERT rejected', () => {
  it.each([
    ['a truncated type', [0], /truncated: type needs 2 bytes, 1 left/],
    ['a truncated key tag', [0, 1, 0], /truncated: key tag/],
    ['no algorithm', [0, 1, 0, 0], /truncated: algorithm/],
    ['an empty certificate', [0, 1, 0, 0, 8], /certificate is empty/],
  ])('refuses RDATA with %s', (_, rdata, pattern) => {
    expectAppError(() => decodeCert(Uint8Array.from(rdata), 'www.example.'), WireFormatError, new RegExp(`^CERT RDATA of www\\.example\\.: .*${pattern.source}`));
  });

  it.each([
    ['an unknown type mnemonic', `X509 0 0 ${DATA_B64}`, /type "X509" is neither a known mnemonic nor a number/],
    ['a type over 65535', `65536 0 0 ${DATA_B64}`, /type "65536" is not an integer from 0 to 65535/],
    ['an unknown algorithm mnemonic', `PKIX 0 RSA ${DATA_B64}`, /algorithm "RSA" is neither/],
    ['an algorithm over 255', `PKIX 0 256 ${DATA_B64}`, /algorithm "256" is not an integer from 0 to 255/],
    ['a key tag over 65535', `PKIX 70000 0 ${DATA_B64}`, /key tag "70000"/],
    ['no certificate', 'PKIX 0 0', /certificate is missing/],
    ['a certificate that is not base64', 'PKIX 0 0 MII!', /certificate is not base64/],
  ])('refuses text with %s', (_, text, pattern) => {
    expectAppError(() => parseCertText(text, 'www.example.'), PresentationError, new RegExp(`^CERT text of www\\.example\\.: .*${pattern.source}`));
  });
});
