/**
 * The keys lab: the signed lab hierarchy (signed-lab.ts) with one zone of hosts that publish
 * IPSECKEY, TLSA and CERT records, for the keys pipeline (issue 4) and the IPsec tests after it.
 * Keys and the certificate are made at test time (node:crypto, openssl); nothing is checked in.
 *
 * keys.test. (ECDSAP256SHA256, NSEC, DS in test.), every record TTL 300:
 *   alice   A, AAAA; IPSECKEY 10, no gateway, Ed25519; _443._tcp TLSA 3 1 1 and CERT PKIX of a
 *           self-signed certificate for alice's own Ed25519 key (SAN: the name and both addresses)
 *   bob     A, AAAA; three IPSECKEYs with one RSA-2048 key, written highest precedence first:
 *           10 gateway 192.0.2.20 (its A), 20 gateway 2001:db8::20 (its AAAA), 30 gateway gw.keys.test.
 *   carol   A (secure); IPSECKEY 10, no gateway, Ed25519, whose RRSIG is altered after signing (bogus)
 *   www     CNAME alice.keys.test.
 *   plain   A only
 *   broken  A; IPSECKEY 10, no gateway, algorithm 2 (RSA) whose exponent length runs past the key:
 *           correctly signed, so secure in DNS, but unusable (RFC 3110 §2)
 *   gw      A: the gateway bob's third IPSECKEY names
 * insecure.test. (unsigned; test. proves it has no DS):
 *   dave    A; IPSECKEY 10, no gateway, Ed25519 (insecure)
 *
 * Set OEDNS_KEEP_LAB=1 to keep the lab's directory (zones, named.log).
 */
import { createHash, generateKeyPair, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { execa } from 'execa';
import { AppError } from '../../src/core/errors.js';
import { tamperRrsig } from './bind-lab.js';
import { startSignedLab, type SignedLab, type SignedLabOptions } from './signed-lab.js';

export class KeysLabError extends AppError {
  readonly code = 'ERR_KEYS_LAB';
}

export const KEYS_ZONE = 'keys.test.';
export const INSECURE_ZONE = 'insecure.test.';
export const KEYS_TTL_SECONDS = 300;

/** The lab's hosts and the addresses each serves (none other than these). */
export const KEYS_LAB_HOSTS = {
  alice: { name: 'alice.keys.test.', ipv4: '192.0.2.10', ipv6: '2001:db8::10' },
  bob: { name: 'bob.keys.test.', ipv4: '192.0.2.20', ipv6: '2001:db8::20' },
  carol: { name: 'carol.keys.test.', ipv4: '192.0.2.30' },
  plain: { name: 'plain.keys.test.', ipv4: '192.0.2.40' },
  broken: { name: 'broken.keys.test.', ipv4: '192.0.2.50' },
  gw: { name: 'gw.keys.test.', ipv4: '192.0.2.254' },
  /** Its only IPSECKEY names gw's address as gateway (alice's key): tunnel mode or nothing. */
  remote: { name: 'remote.keys.test.', ipv4: '192.0.2.70' },
  dave: { name: 'dave.insecure.test.', ipv4: '192.0.2.60' },
} as const;

/** www.keys.test. is a CNAME to alice, a host with keys. */
export const KEYS_LAB_ALIAS = { name: 'www.keys.test.', target: KEYS_LAB_HOSTS.alice.name } as const;

export interface KeysLabKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** PKCS #8 PEM, for the IPsec tests' side of the tunnel. */
  readonly privateKeyPem: string;
  /** SubjectPublicKeyInfo PEM: what the pipeline must make of the IPSECKEY record. */
  readonly spkiPem: string;
}

export interface KeysLabCertificate {
  /** Self-signed by openssl for alice's Ed25519 key. */
  readonly pem: string;
  readonly der: Uint8Array;
  /** DER SubjectPublicKeyInfo as openssl extracts it; TLSA 3 1 1 is its SHA-256. */
  readonly spkiDer: Uint8Array;
}

/** One served record: owner and RDATA as `dig +nosplit` prints them. */
export interface KeysLabRecord {
  readonly owner: string;
  readonly rdata: string;
}

export interface KeysLabExpected {
  /** IPSECKEY RDATA of each owner, lowest precedence first; carol's is served but bogus. */
  readonly ipseckey: {
    readonly alice: readonly KeysLabRecord[];
    readonly bob: readonly KeysLabRecord[];
    readonly carol: readonly KeysLabRecord[];
    readonly broken: readonly KeysLabRecord[];
    readonly dave: readonly KeysLabRecord[];
    readonly remote: readonly KeysLabRecord[];
  };
  /** _443._tcp.alice.keys.test. TLSA 3 1 1 (SHA-256 of the certificate's SPKI). */
  readonly tlsa: KeysLabRecord;
  /** alice.keys.test. CERT PKIX 0 ED25519 (the certificate's DER). */
  readonly cert: KeysLabRecord;
}

export interface KeysLab {
  readonly lab: SignedLab;
  /** The lab root's DS (lab.anchorFile): Unbound's trust-anchor-file, oedns's --trust-anchor. */
  readonly anchorFile: string;
  readonly keys: {
    readonly alice: KeysLabKeyPair;
    readonly bob: KeysLabKeyPair;
    readonly carol: KeysLabKeyPair;
    readonly dave: KeysLabKeyPair;
  };
  readonly aliceCertificate: KeysLabCertificate;
  readonly expected: KeysLabExpected;
  stop(): Promise<void>;
}

/** How named serves the lab; recursionAcrossOwnZones defaults to true (a recursive upstream). */
export type KeysLabOptions = Pick<SignedLabOptions, 'recursionAcrossOwnZones' | 'canonicalRrsetOrder' | 'ednsUdpSize' | 'startTimeoutMs'>;

const SIGN = { algorithm: 'ECDSAP256SHA256' } as const;
const RSA_MODULUS_BITS = 2048;
const CERT_VALIDITY_DAYS = 30;
/** RFC 3110 §2 form claiming a 200-byte exponent in a 68-byte key: no room for it, nor a modulus. */
const MALFORMED_RSA_KEY = Uint8Array.from([200, 0x01, 0x00, 0x01, ...new Array<number>(64).fill(0xab)]);
/** IANA IPSECKEY algorithms (RFC 4025 §2.4, RFC 9373) used here. */
const Algorithm = { Rsa: 2, EdDsa: 4 } as const;
/** RFC 4398 §2.1: certificate type PKIX; the algorithm field takes DNSSEC numbers (ED25519, RFC 8080). */
const Cert = { Pkix: 1, Ed25519: 15 } as const;
const TOOL_TIMEOUT_MS = 15_000;

const generateKeyPairAsync = promisify(generateKeyPair);
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const b64url = (text: string | undefined): Buffer => Buffer.from(text ?? '', 'base64url');

/** Makes the keys and the certificate, signs the zones, tampers carol's RRSIG and starts named. */
export async function startKeysLab(options: KeysLabOptions = {}): Promise<KeysLab> {
  const [alice, bob, carol, dave] = await Promise.all([
    keyPair('ed25519'), keyPair('rsa'), keyPair('ed25519'), keyPair('ed25519'),
  ]);
  const aliceCertificate = await selfSignedCertificate(alice, KEYS_LAB_HOSTS.alice);
  const expected = expectedRecords({ alice, bob, carol, dave }, aliceCertificate);
  const certDerB64 = b64(aliceCertificate.der);
  const lab = await startSignedLab({
    recursionAcrossOwnZones: true,
    ...options,
    sign: SIGN,
    zones: [
      { origin: KEYS_ZONE, sign: SIGN, records: keysZoneRecords(expected, certDerB64) },
      { origin: INSECURE_ZONE, records: insecureZoneRecords(expected) },
    ],
    editZones: (prepared) => tamperRrsig(prepared, KEYS_ZONE, KEYS_LAB_HOSTS.carol.name, 'IPSECKEY'),
  });
  return { lab, anchorFile: lab.anchorFile, keys: { alice, bob, carol, dave }, aliceCertificate, expected, stop: lab.stop };
}

async function keyPair(type: 'ed25519' | 'rsa'): Promise<KeysLabKeyPair> {
  const { privateKey, publicKey } = type === 'rsa'
    ? await generateKeyPairAsync('rsa', { modulusLength: RSA_MODULUS_BITS })
    : await generateKeyPairAsync('ed25519');
  return {
    privateKey, publicKey,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    spkiPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** openssl req -x509 for the host's own key, so IPSECKEY, TLSA and CERT all name one key. */
async function selfSignedCertificate(
  key: KeysLabKeyPair,
  host: { readonly name: string; readonly ipv4: string; readonly ipv6: string },
): Promise<KeysLabCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'oedns-keys-lab-'));
  const run = (args: readonly string[]) => execa('openssl', args, { encoding: 'buffer', stripFinalNewline: false, timeout: TOOL_TIMEOUT_MS });
  try {
    const [keyFile, certFile, pubFile] = ['key.pem', 'cert.pem', 'pub.pem'].map((name) => join(dir, name)) as [string, string, string];
    await writeFile(keyFile, key.privateKeyPem, { mode: 0o600 });
    const dnsName = host.name.slice(0, -1);
    await run(['req', '-x509', '-key', keyFile, '-subj', `/CN=${dnsName}`, '-days', String(CERT_VALIDITY_DAYS),
      '-addext', `subjectAltName=DNS:${dnsName},IP:${host.ipv4},IP:${host.ipv6}`, '-out', certFile]);
    const der = (await run(['x509', '-in', certFile, '-outform', 'DER'])).stdout;
    await run(['x509', '-in', certFile, '-noout', '-pubkey', '-out', pubFile]);
    const spkiDer = (await run(['pkey', '-pubin', '-in', pubFile, '-outform', 'DER'])).stdout;
    return { pem: await readFile(certFile, 'utf8'), der: new Uint8Array(der), spkiDer: new Uint8Array(spkiDer) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** RFC 8080 §3 (RFC 9373 §3.1): an Ed25519 IPSECKEY key is the 32 raw public key bytes. */
function ed25519Field(key: KeysLabKeyPair): Uint8Array {
  return b64url(key.publicKey.export({ format: 'jwk' }).x);
}

/** RFC 3110 §2: exponent length (one byte, exponents up to 255 bytes) | exponent | modulus. */
function rsaField(key: KeysLabKeyPair): Uint8Array {
  const jwk = key.publicKey.export({ format: 'jwk' });
  const exponent = b64url(jwk.e);
  return Uint8Array.from([exponent.length, ...exponent, ...b64url(jwk.n)]);
}

function expectedRecords(keys: KeysLab['keys'], certificate: KeysLabCertificate): KeysLabExpected {
  const { alice, bob, carol, broken, dave } = KEYS_LAB_HOSTS;
  const ed = (owner: string, key: KeysLabKeyPair): KeysLabRecord =>
    ({ owner, rdata: `10 0 ${Algorithm.EdDsa} . ${b64(ed25519Field(key))}` });
  const bobKey = b64(rsaField(keys.bob));
  return {
    ipseckey: {
      alice: [ed(alice.name, keys.alice)],
      bob: [
        { owner: bob.name, rdata: `10 1 ${Algorithm.Rsa} ${bob.ipv4} ${bobKey}` },
        { owner: bob.name, rdata: `20 2 ${Algorithm.Rsa} ${bob.ipv6} ${bobKey}` },
        { owner: bob.name, rdata: `30 3 ${Algorithm.Rsa} ${KEYS_LAB_HOSTS.gw.name} ${bobKey}` },
      ],
      carol: [ed(carol.name, keys.carol)],
      broken: [{ owner: broken.name, rdata: `10 0 ${Algorithm.Rsa} . ${b64(MALFORMED_RSA_KEY)}` }],
      dave: [ed(dave.name, keys.dave)],
      remote: [{ owner: KEYS_LAB_HOSTS.remote.name, rdata: `10 1 ${Algorithm.EdDsa} ${KEYS_LAB_HOSTS.gw.ipv4} ${b64(ed25519Field(keys.alice))}` }],
    },
    tlsa: {
      owner: `_443._tcp.${alice.name}`,
      rdata: `3 1 1 ${createHash('sha256').update(certificate.spkiDer).digest('hex').toUpperCase()}`,
    },
    // dig prints type 1 and algorithm 15 by their mnemonics; the zone gives them as numbers.
    cert: { owner: alice.name, rdata: `PKIX 0 ED25519 ${b64(certificate.der)}` },
  };
}

const line = (record: KeysLabRecord, type: string, rdata = record.rdata): string =>
  `${record.owner} ${KEYS_TTL_SECONDS} IN ${type} ${rdata}`;

function keysZoneRecords(expected: KeysLabExpected, certDerB64: string): string[] {
  const { alice, bob, carol, plain, broken, gw } = KEYS_LAB_HOSTS;
  const address = (host: { readonly name: string; readonly ipv4: string; readonly ipv6?: string }): string[] => [
    `${host.name} ${KEYS_TTL_SECONDS} IN A ${host.ipv4}`,
    ...(host.ipv6 === undefined ? [] : [`${host.name} ${KEYS_TTL_SECONDS} IN AAAA ${host.ipv6}`]),
  ];
  return [
    ...address(alice), ...expected.ipseckey.alice.map((r) => line(r, 'IPSECKEY')),
    line(expected.tlsa, 'TLSA'), line(expected.cert, 'CERT', `${Cert.Pkix} 0 ${Cert.Ed25519} ${certDerB64}`),
    // Highest precedence value first: an order nobody should rely on.
    ...address(bob), ...[...expected.ipseckey.bob].reverse().map((r) => line(r, 'IPSECKEY')),
    ...address(carol), ...expected.ipseckey.carol.map((r) => line(r, 'IPSECKEY')),
    `${KEYS_LAB_ALIAS.name} ${KEYS_TTL_SECONDS} IN CNAME ${KEYS_LAB_ALIAS.target}`,
    ...address(plain),
    ...address(broken), ...expected.ipseckey.broken.map((r) => line(r, 'IPSECKEY')),
    ...address(gw),
    ...address(KEYS_LAB_HOSTS.remote), ...expected.ipseckey.remote.map((r) => line(r, 'IPSECKEY')),
  ];
}

function insecureZoneRecords(expected: KeysLabExpected): string[] {
  const { dave } = KEYS_LAB_HOSTS;
  return [`${dave.name} ${KEYS_TTL_SECONDS} IN A ${dave.ipv4}`, ...expected.ipseckey.dave.map((r) => line(r, 'IPSECKEY'))];
}

