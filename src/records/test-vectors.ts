/**
 * Fixtures for the records/ tests: the RFC examples, and keys and certificates made at test time
 * (node:crypto and openssl), so no key material is checked in.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

/** RFC 4025 §3.3: the RSA key (exponent 3, 255-bit modulus) of every example. */
export const RFC4025_KEY_B64 = 'AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==';

/** RFC 4025 §3.3, one record each, as printed there (multi-line, uppercase IPv6). */
export const RFC4025_EXAMPLES = [
  { text: `( 10 1 2\n    192.0.2.38\n    ${RFC4025_KEY_B64} )`, dig: `10 1 2 192.0.2.38 ${RFC4025_KEY_B64}` },
  { text: `( 10 0 2\n    .\n    ${RFC4025_KEY_B64} )`, dig: `10 0 2 . ${RFC4025_KEY_B64}` },
  { text: `( 10 1 2\n    192.0.2.3\n    ${RFC4025_KEY_B64} )`, dig: `10 1 2 192.0.2.3 ${RFC4025_KEY_B64}` },
  { text: `( 10 3 2\n    mygateway.example.com.\n    ${RFC4025_KEY_B64} )`, dig: `10 3 2 mygateway.example.com. ${RFC4025_KEY_B64}` },
  { text: `( 10 2 2\n    2001:0DB8:0:8002::2000:1\n    ${RFC4025_KEY_B64} )`, dig: `10 2 2 2001:db8:0:8002::2000:1 ${RFC4025_KEY_B64}` },
] as const;

/** RFC 6698 §2.3: the first two examples (the third is abbreviated in the RFC). */
export const RFC6698_EXAMPLES = [
  {
    text: '( 0 0 1 d2abde240d7cd3ee6b4b28c54df034b9\n      7983a1d16e8a410e4561cb106618e971 )',
    dig: '0 0 1 D2ABDE240D7CD3EE6B4B28C54DF034B97983A1D16E8A410E4561CB106618E971',
  },
  {
    text: '( 1 1 2 92003ba34942dc74152e2f2c408d29ec\n      a5a520e7f2e06bb944f4dca346baf63c\n      1b177615d466f6c4b71c216a50292bd5\n      8c9ebdd2f74e38fe51ffd48c43326cbc )',
    dig: '1 1 2 92003BA34942DC74152E2F2C408D29ECA5A520E7F2E06BB944F4DCA346BAF63C1B177615D466F6C4B71C216A50292BD58C9EBDD2F74E38FE51FFD48C43326CBC',
  },
] as const;

export type TestKeyKind = 'rsa' | 'dsa' | 'ecdsa-p256' | 'ecdsa-p384' | 'ed25519' | 'ed448';

/** A fresh key pair of each kind IPSECKEY carries. */
export function testKeyPair(kind: TestKeyKind): { publicKey: KeyObject; privateKey: KeyObject } {
  switch (kind) {
    case 'rsa':
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
    case 'dsa':
      return generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 });
    case 'ecdsa-p256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'ecdsa-p384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' });
    case 'ed25519':
      return generateKeyPairSync('ed25519');
    case 'ed448':
      return generateKeyPairSync('ed448');
  }
}

export interface TestCertificate {
  readonly pem: string;
  readonly der: Uint8Array;
  /** DER SubjectPublicKeyInfo as openssl extracts it, the independent reference for selector 1. */
  readonly spkiDer: Uint8Array;
}

/** DER on stdout: bytes as they are (execa would strip a final 0x0A, one DER in 256 ends in one). */
const BINARY = { encoding: 'buffer', stripFinalNewline: false } as const;

/** A self-signed certificate for `commonName` made by openssl, with openssl's view of its SPKI. */
export async function testCertificate(commonName: string): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'oedns-records-'));
  try {
    const cert = join(dir, 'cert.pem');
    await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-subj', `/CN=${commonName}`, '-days', '30', '-keyout', join(dir, 'key.pem'), '-out', cert]);
    const der = (await execa('openssl', ['x509', '-in', cert, '-outform', 'DER'], BINARY)).stdout;
    const pub = (await execa('openssl', ['x509', '-in', cert, '-noout', '-pubkey'])).stdout;
    const spkiDer = (await execa('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: pub, ...BINARY })).stdout;
    return { pem: await readFile(cert, 'utf8'), der: new Uint8Array(der), spkiDer: new Uint8Array(spkiDer) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
