import { beforeAll, describe, expect, it } from 'vitest';
import { issue, tlsaText, type Issued } from '../../test/support/pki.js';
import { parseTlsaText, type TlsaRdata } from '../records/index.js';
import { ALL_USAGES, matchesCert, recordLabel, usability } from './association.js';

let ca: Issued;
let leaf: Issued;

beforeAll(() => {
  ca = issue({ subject: 'Association CA', ca: true });
  leaf = issue({ subject: 'www.example.test', dns: ['www.example.test'], issuer: ca });
});

function record(text: string): TlsaRdata {
  return parseTlsaText(text);
}

describe('matchesCert (RFC 6698 §2.1.2, §2.1.3)', () => {
  for (const selector of [0, 1] as const) {
    for (const matchingType of [0, 1, 2] as const) {
      it(`matches selector ${selector}, matching type ${matchingType} against its own certificate only`, () => {
        const own = record(tlsaText(leaf, 3, selector, matchingType));
        expect(matchesCert(own, leaf.x509)).toBe(true);
        expect(matchesCert(own, ca.x509)).toBe(false);
      });
    }
  }

  it('tells the certificate from its public key: a 3 0 1 digest does not match as 3 1 1', () => {
    const certDigest = record(tlsaText(leaf, 3, 0, 1));
    expect(matchesCert({ ...certDigest, selector: 1 }, leaf.x509)).toBe(false);
  });
});

describe('usability (RFC 7671 §4.1)', () => {
  const unusableBecause = (rdata: TlsaRdata, usages = ALL_USAGES): string => {
    const checked = usability(rdata, usages);
    expect(checked.usable).toBe(false);
    return checked.usable ? '' : checked.reason;
  };

  it('accepts the four usages, two selectors and three matching types', () => {
    for (const usage of [0, 1, 2, 3]) {
      expect(usability(record(tlsaText(leaf, usage, 1, 1)), ALL_USAGES).usable).toBe(true);
    }
  });

  it('refuses unknown usages, selectors and matching types, private use (255) included', () => {
    expect(unusableBecause(record('4 1 1 ' + 'AB'.repeat(32)))).toMatch(/usage 4 is not supported/);
    expect(unusableBecause(record('255 1 1 ' + 'AB'.repeat(32)))).toMatch(/usage 255 is not supported/);
    expect(unusableBecause(record('3 2 1 ' + 'AB'.repeat(32)))).toMatch(/selector 2 is not supported/);
    expect(unusableBecause(record('3 1 3 ' + 'AB'.repeat(8)))).toMatch(/matching type 3 is not supported/);
  });

  it('refuses a usage the caller does not accept (SMTP takes only 2 and 3, RFC 7672 §3.1.3)', () => {
    expect(unusableBecause(record(tlsaText(leaf, 1, 1, 1)), [2, 3])).toMatch(/usage 1 is not accepted here/);
    expect(usability(record(tlsaText(leaf, 3, 1, 1)), [2, 3]).usable).toBe(true);
  });

  it('refuses Full(0) data that is not a DER certificate or SubjectPublicKeyInfo, as OpenSSL does', () => {
    expect(unusableBecause(record('2 0 0 3003020100'))).toMatch(/not a DER certificate/);
    expect(unusableBecause(record('2 1 0 3003020100'))).toMatch(/not a DER SubjectPublicKeyInfo/);
  });

  it('decodes Full(0) data into the certificate or key a DANE-TA anchor needs', () => {
    const cert = usability(record(tlsaText(ca, 2, 0, 0)), ALL_USAGES);
    const key = usability(record(tlsaText(ca, 2, 1, 0)), ALL_USAGES);
    expect(cert.usable && cert.value.fullCert?.subject).toBe('CN=Association CA');
    expect(key.usable && key.value.fullKey?.asymmetricKeyType).toBe('rsa');
  });

  it('names records by their parameters and the start of their data', () => {
    expect(recordLabel(record('3 1 1 ' + '0C72AC70B745'.padEnd(64, '0')))).toBe('3 1 1 0C72AC70B745…');
    expect(recordLabel(record('3 1 0 ABCD'))).toBe('3 1 0 ABCD');
  });
});
