import { beforeAll, describe, expect, it } from 'vitest';
import { expectAppError } from '../../test/support/unit.js';
import { CertType, type CertRdata } from './cert.js';
import { certMaterial } from './cert-material.js';
import { KeyFormatError } from './errors.js';
import { testCertificate, type TestCertificate } from './test-vectors.js';

const OWNER = 'www.example.test.';
const cert = (certType: number, certificate: Uint8Array | number[]): CertRdata =>
  ({ certType, keyTag: 0, algorithm: 0, certificate: Uint8Array.from(certificate) });

let made: TestCertificate;
beforeAll(async () => {
  made = await testCertificate('www.example.test');
});

describe('CERT material', () => {
  it('turns a PKIX CERT into an X509Certificate (RFC 4398 §2.1)', () => {
    const result = certMaterial(cert(CertType.PKIX, made.der), OWNER);
    if (result.kind !== 'x509') throw new Error(`expected a certificate, got ${result.kind}`);
    expect(result.certificate.subject).toBe('CN=www.example.test');
    expect(Buffer.from(result.certificate.raw)).toEqual(Buffer.from(made.der));
  });

  it.each([
    [CertType.SPKI, /SPKI certificates \(RFC 2693 S-expressions\) are not supported/],
    [CertType.PGP, /OpenPGP/],
    [CertType.IPKIX, /URL of an X\.509 certificate, which oedns does not fetch/],
    [CertType.URI, /private URI/],
    [9, /certificate type 9 is not assigned/],
  ])('reports type %i as unsupported without throwing', (certType, reason) => {
    const result = certMaterial(cert(certType, [1, 2, 3]), OWNER);
    expect(result).toMatchObject({ kind: 'unsupported', certType });
    expect(result.kind === 'unsupported' && result.reason).toMatch(reason);
  });

  it.each<[string, () => Uint8Array, RegExp]>([
    ['a PEM certificate instead of DER', () => new Uint8Array(Buffer.from(made.pem)), /the certificate is not DER/],
    ['DER that is not a certificate', () => Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x05]), /the certificate cannot be parsed/],
    ['a truncated certificate', () => made.der.subarray(0, made.der.length - 10), /the certificate cannot be parsed/],
    ['bytes after the certificate', () => Uint8Array.from([...made.der, 0, 0, 0]), /3 bytes follow the certificate/],
  ])('refuses %s, naming the record', (_, data, pattern) => {
    expectAppError(() => certMaterial(cert(CertType.PKIX, data()), OWNER), KeyFormatError, new RegExp(`^CERT PKIX of www\\.example\\.test\\.: ${pattern.source}`));
  });
});
