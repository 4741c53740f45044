/**
 * A small PKI for the TLS tests: CAs, intermediates, server and user certificates with chosen
 * names, e-mail addresses and validity (expired ones too), signed with node-forge (RSA-2048,
 * SHA-256), plus the TLSA RDATA each (usage, selector, matching type) gives, and files that
 * `openssl s_server`, slapd and stunnel read. Keys come from node:crypto.
 */
import { createHash, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import forge from 'node-forge';

export interface Issued {
  readonly subject: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** The certificate in DER. */
  readonly der: Uint8Array;
  /** SubjectPublicKeyInfo in DER (TLSA selector 1). */
  readonly spkiDer: Uint8Array;
  readonly x509: X509Certificate;
  /** The issuer's chain above this certificate, nearest first (empty for a root or self-signed). */
  readonly chain: readonly Issued[];
  readonly forgeKey: forge.pki.rsa.PrivateKey;
  readonly forgeCert: forge.pki.Certificate;
}

export interface IssueOptions {
  /** The subject's common name. */
  readonly subject: string;
  /** subjectAltName dNSName entries. */
  readonly dns?: readonly string[];
  /** subjectAltName rfc822Name entries (user certificates). */
  readonly emails?: readonly string[];
  /** A CA certificate (basicConstraints cA, keyCertSign). */
  readonly ca?: boolean;
  /** Who signs; self-signed without. */
  readonly issuer?: Issued;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

const DAY_MS = 86_400_000;

/** Issues one certificate (a fresh RSA-2048 key) as the options say. */
export function issue(options: IssueOptions): Issued {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  // A positive serial: the first byte's top bit clear.
  const serial = randomBytes(12);
  serial[0] = serial[0]! & 0x7f;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = options.notBefore ?? new Date(Date.now() - DAY_MS);
  cert.validity.notAfter = options.notAfter ?? new Date(Date.now() + 365 * DAY_MS);
  const subject = [{ name: 'commonName', value: options.subject }];
  cert.setSubject(subject);
  cert.setIssuer(options.issuer ? options.issuer.forgeCert.subject.attributes : subject);
  const altNames = [
    ...(options.dns ?? []).map((value) => ({ type: 2, value })),
    ...(options.emails ?? []).map((value) => ({ type: 1, value })),
  ];
  cert.setExtensions([
    { name: 'basicConstraints', cA: options.ca === true, critical: true },
    options.ca
      ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }
      : { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    ...(options.ca ? [] : [{ name: 'extKeyUsage', serverAuth: true, clientAuth: true }]),
    ...(altNames.length > 0 ? [{ name: 'subjectAltName', altNames }] : []),
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(options.issuer?.forgeKey ?? forgeKey, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  const x509 = new X509Certificate(certPem);
  return {
    subject: options.subject, certPem, keyPem, der: new Uint8Array(x509.raw),
    spkiDer: new Uint8Array(x509.publicKey.export({ type: 'spki', format: 'der' })),
    x509, chain: options.issuer ? [options.issuer, ...options.issuer.chain] : [], forgeKey, forgeCert: cert,
  };
}

/** Certificate association data for a selector and matching type (RFC 6698 §2.1.2, §2.1.3). */
export function association(cert: Issued, selector: 0 | 1, matchingType: 0 | 1 | 2): Uint8Array {
  const selected = selector === 0 ? cert.der : cert.spkiDer;
  if (matchingType === 0) return selected;
  return new Uint8Array(createHash(matchingType === 1 ? 'sha256' : 'sha512').update(selected).digest());
}

/** TLSA RDATA in presentation form: `3 1 1 ABCD…`. */
export function tlsaText(cert: Issued, usage: number, selector: 0 | 1, matchingType: 0 | 1 | 2): string {
  return `${usage} ${selector} ${matchingType} ${Buffer.from(association(cert, selector, matchingType)).toString('hex').toUpperCase()}`;
}

export interface PkiFiles {
  /** The certificate alone. */
  readonly cert: string;
  readonly key: string;
  /** The certificate followed by its chain below the root (what a server sends). */
  readonly fullchain: string;
  /** The chain above the certificate alone (openssl s_server -cert_chain). */
  readonly chain: string;
}

/** Writes NAME.crt, NAME.key, NAME.fullchain.pem and NAME.chain.pem into dir. */
export async function writePki(dir: string, name: string, cert: Issued, options: { includeRoot?: boolean } = {}): Promise<PkiFiles> {
  const above = options.includeRoot ? cert.chain : cert.chain.filter((c) => c.chain.length > 0);
  const files = {
    cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`),
    fullchain: join(dir, `${name}.fullchain.pem`), chain: join(dir, `${name}.chain.pem`),
  };
  await writeFile(files.cert, cert.certPem);
  await writeFile(files.key, cert.keyPem, { mode: 0o600 });
  await writeFile(files.fullchain, [cert, ...above].map((c) => c.certPem).join(''));
  await writeFile(files.chain, above.map((c) => c.certPem).join(''));
  return files;
}

/** A CA file (PEM bundle) trusting the given roots. */
export async function writeCaFile(path: string, roots: readonly Issued[]): Promise<string> {
  await writeFile(path, roots.map((c) => c.certPem).join(''));
  return path;
}
