/**
 * IPSECKEY, TLSA and CERT against BIND 9.18: named serves a zone of them, real dig prints them,
 * and oedns must print the same RDATA from the same wire bytes and read dig's text (one-line,
 * split and multi-line) back to those bytes. The IPSECKEY keys come from dnssec-keygen, whose
 * DNSKEY formats are the IPSECKEY ones (RFC 3110, RFC 6605, RFC 8080), so the keys oedns makes
 * are checked against BIND's private halves, not against oedns' own encoder.
 */
import { createECDH, createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, startAuthServer, type AuthServer } from '../../test/support/bind-lab.js';
import { frame, queryMessage, question, tcpExchange, udpQuery } from '../../test/support/oedns-harness.js';
import { decodeMessage, encodeMessage, parseType, recordText, type ResourceRecord } from '../wire/index.js';
import { certMaterial, decodeCert, decodeIpseckey, ipseckeyLine, ipseckeyPublicKey, keyRdataText, parseKeyRecordLine, tlsaLine } from './index.js';
import { RFC4025_EXAMPLES, RFC6698_EXAMPLES, testCertificate, testKeyPair, type TestCertificate } from './test-vectors.js';

const ORIGIN = 'keys.test.';
const BIND_ALGORITHMS = ['RSASHA256', 'ECDSAP256SHA256', 'ECDSAP384SHA384', 'ED25519', 'ED448'] as const;
type BindAlgorithm = (typeof BIND_ALGORITHMS)[number];

interface BindKey {
  /** The DNSKEY public key field, base64: the IPSECKEY key of the same kind. */
  readonly publicKeyB64: string;
  /** The .private file's fields (Modulus, PublicExponent, PrivateKey, …). */
  readonly privateFields: ReadonlyMap<string, string>;
}

const IPV6_GATEWAYS = ['::ffff:1.2.3.4', '::1.2.3.4', '1:0:0:1::1', '1:0:1:1:1:1:1:1', 'fe80::1:0:0:0', '::', '::1', '1::', '2001:DB8:0:0:1:0:0:1'];
const GATEWAY_NAMES = ['Gw\\.x+y.Example.com.', 'a\\"b\\(c\\)d\\;e.', '\\@at.\\$dollar.', 'sp\\032ace.', 'bin\\255\\000.', '\\\\back.', 'x/y_z*.'];
const CERT_FIELDS = ['IPKIX 0 0', '65535 65535 255', '9 1 9', 'PGP 1 NSEC3DSA', 'URI 2 ECCGOST', 'OID 3 INDIRECT', 'SPKI 4 PRIVATEOID',
  'ACPKIX 5 DH', 'IACPKIX 6 RSAMD5', 'ISPKI 7 17', 'IPGP 8 ED448', '0 9 0', 'pkix 10 ecdsa256', '253 11 RSASHA1'];

let auth: AuthServer;
let bindKeys: Map<BindAlgorithm, BindKey>;
let certificate: TestCertificate;
let madeKeys: Map<string, KeyObject>;
let nextId = 1;

async function bindKey(dir: string, algorithm: BindAlgorithm): Promise<BindKey> {
  const size = algorithm.startsWith('RSA') ? ['-b', '2048'] : [];
  const { stdout } = await execa('dnssec-keygen', ['-q', '-K', dir, '-a', algorithm, ...size, '-n', 'ZONE', ORIGIN]);
  const base = join(dir, stdout.trim());
  const keyLine = (await readFile(`${base}.key`, 'utf8')).split('\n').find((line) => line.includes('DNSKEY'))!;
  const privateText = await readFile(`${base}.private`, 'utf8');
  const privateFields = new Map(privateText.split('\n').filter((l) => l.includes(': ')).map((l) => l.split(': ', 2) as [string, string]));
  const tokens = keyLine.trim().split(/\s+/);
  return { publicKeyB64: tokens.slice(tokens.indexOf('DNSKEY') + 4).join(''), privateFields };
}

function zoneRecords(): string[] {
  const key = (algorithm: BindAlgorithm): string => bindKeys.get(algorithm)!.publicKeyB64;
  const sha = (name: string, data: Uint8Array): string => createHash(name).update(data).digest('hex');
  const pem = (name: string): string => madeKeys.get(name)!.export({ type: 'spki', format: 'pem' }) as string;
  return [
    `gw0 IPSECKEY 10 0 2 . ${key('RSASHA256')}`,
    `gw1 IPSECKEY 10 1 4 192.0.2.38 ${key('ED25519')}`,
    `gw2 IPSECKEY 20 2 3 2001:db8::38 ${key('ECDSAP256SHA256')}`,
    `gw3 IPSECKEY 30 3 3 gw.keys.test. ${key('ECDSAP384SHA384')}`,
    `gw3 IPSECKEY 40 3 4 relative ${key('ED448')}`,
    `odd IPSECKEY 255 0 200 . AQIDBA==`,
    ...RFC4025_EXAMPLES.map((example) => `rfc4025 IPSECKEY ${example.text}`),
    ...RFC6698_EXAMPLES.map((example) => `_443._tcp.rfc6698 TLSA ${example.text}`),
    ...IPV6_GATEWAYS.map((address, i) => `v6 IPSECKEY ${i} 2 0 ${address} AQ==`),
    ...GATEWAY_NAMES.map((name, i) => `names IPSECKEY ${i} 3 0 ${name} AQ==`),
    ipseckeyLine({ name: `made.${ORIGIN}`, keyPem: pem('dsa'), gateway: '192.0.2.9', precedence: 1, ttlSeconds: 600 }),
    ipseckeyLine({ name: `made.${ORIGIN}`, keyPem: pem('rsa'), gateway: 'gw.example.', precedence: 2 }),
    ipseckeyLine({ name: `made.${ORIGIN}`, keyPem: pem('ed25519'), gateway: '2001:db8::9', precedence: 3 }),
    `_443._tcp.www TLSA 3 1 1 ${sha('sha256', certificate.spkiDer)}`,
    `_25._tcp.mail TLSA 2 0 0 ${Buffer.from(certificate.der).toString('hex')}`,
    `_853._tcp.dns TLSA 1 1 2 ${sha('sha512', certificate.spkiDer)}`,
    `_1._udp.odd TLSA 255 255 255 00`,
    tlsaLine({ name: `made.${ORIGIN}`, certificate: certificate.pem, usage: 3, selector: 0, matchingType: 1, port: 5061, protocol: 'tcp', ttlSeconds: 60 }),
    `www CERT PKIX 0 ECDSAP256SHA256 ${Buffer.from(certificate.der).toString('base64')}`,
    ...CERT_FIELDS.map((fields) => `certs CERT ${fields} aHR0cHM6Ly9leGFtcGxlLnRlc3QvY2VydA==`),
  ];
}

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'oedns-records-bind-'));
  try {
    bindKeys = new Map();
    for (const algorithm of BIND_ALGORITHMS) bindKeys.set(algorithm, await bindKey(dir, algorithm));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  certificate = await testCertificate('www.keys.test');
  madeKeys = new Map(['dsa', 'rsa', 'ed25519'].map((kind) => [kind, testKeyPair(kind as 'dsa' | 'rsa' | 'ed25519').publicKey]));
  auth = await startAuthServer({ zones: [{ origin: ORIGIN, records: zoneRecords() }] });
}, 60_000);
afterAll(() => auth?.stop());

const QUERIES: ReadonlyArray<readonly [string, string]> = [
  ['gw0', 'IPSECKEY'], ['gw1', 'IPSECKEY'], ['gw2', 'IPSECKEY'], ['gw3', 'IPSECKEY'], ['odd', 'IPSECKEY'], ['v6', 'IPSECKEY'],
  ['names', 'IPSECKEY'], ['made', 'IPSECKEY'], ['rfc4025', 'IPSECKEY'], ['_443._tcp.rfc6698', 'TLSA'], ['_443._tcp.www', 'TLSA'], ['_25._tcp.mail', 'TLSA'], ['_853._tcp.dns', 'TLSA'],
  ['_1._udp.odd', 'TLSA'], ['_5061._tcp.made', 'TLSA'], ['www', 'CERT'], ['certs', 'CERT'],
];

/** The answer RRset as received on the wire (TCP when UDP is truncated). */
async function wireAnswer(name: string, type: number): Promise<ResourceRecord[]> {
  const message = queryMessage(nextId++, question(name, type), { edns: true });
  let reply = await udpQuery(auth.port, message);
  if (reply.tc) reply = decodeMessage((await tcpExchange(auth.port, frame(encodeMessage(message)), 1)).replies[0]!);
  return reply.answers.filter((record) => record.type === type);
}

/** dig's answer lines, each a whole record (multi-line records joined). */
async function digRecords(name: string, type: string, style: readonly string[]): Promise<string[]> {
  const result = await dig(auth, ['+norec', '+noall', '+answer', ...style, name, type]);
  expect(result.exitCode).toBe(0);
  const records: string[] = [];
  for (const line of result.stdout.split('\n')) {
    if (line.trim() === '') continue;
    if (/^\s/.test(line) && records.length > 0) records[records.length - 1] += `\n${line}`;
    else records.push(line);
  }
  return records;
}

const digRdata = (line: string): string => /^\S+\s+\d+\s+IN\s+[A-Z0-9]+\s+(.*)$/.exec(line)![1]!;
const hexOf = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe.each(QUERIES.map(([owner, type]) => [`${owner}.${ORIGIN}`, type]))('%s %s served by BIND', (name, typeText) => {
  const type = parseType(typeText)!;

  it('is printed by oedns exactly as dig +nosplit prints it, from the same wire bytes', async () => {
    const wire = await wireAnswer(name, type);
    const printed = (await digRecords(name, typeText, ['+nosplit'])).map(digRdata);
    expect(wire.length).toBeGreaterThan(0);
    expect(wire.map((record) => keyRdataText(type, record.rdata)).sort()).toEqual([...printed].sort());
    expect(wire.map((record) => recordText(record).split('\t').slice(4).join('\t')).sort()).toEqual([...printed].sort());
  });

  it.each([[['+nosplit']], [[]], [['+multiline']]])('reads dig %j output back to the same wire bytes', async (style) => {
    const wire = (await wireAnswer(name, type)).map((record) => hexOf(record.rdata)).sort();
    const lines = await digRecords(name, typeText, style);
    expect(lines.map((line) => hexOf(parseKeyRecordLine(line).rdata)).sort()).toEqual(wire);
  });
});

describe('keys and certificates from the served records', () => {
  const keyAt = async (owner: string, precedence: number): Promise<KeyObject> => {
    const records = (await wireAnswer(`${owner}.${ORIGIN}`, parseType('IPSECKEY')!)).map((r) => decodeIpseckey(r.rdata));
    const result = ipseckeyPublicKey(records.find((r) => r.precedence === precedence)!, `${owner}.${ORIGIN}`);
    if (result.kind !== 'key') throw new Error(`no key at ${owner}: ${result.kind}`);
    expect(createPublicKey(result.spkiPem).equals(result.keyObject)).toBe(true);
    return result.keyObject;
  };
  const field = (algorithm: BindAlgorithm, name: string): Buffer => Buffer.from(bindKeys.get(algorithm)!.privateFields.get(name)!, 'base64');
  const okpPublic = (prefix: string, seed: Buffer): KeyObject => createPublicKey(createPrivateKey({ key: Buffer.concat([Buffer.from(prefix, 'hex'), seed]), format: 'der', type: 'pkcs8' }));

  it('turns BIND\'s RSA key (RFC 3110) into the modulus and exponent of its .private file', async () => {
    const jwk = (await keyAt('gw0', 10)).export({ format: 'jwk' });
    expect(Buffer.from(jwk.n!, 'base64url')).toEqual(field('RSASHA256', 'Modulus'));
    expect(Buffer.from(jwk.e!, 'base64url')).toEqual(field('RSASHA256', 'PublicExponent'));
  });

  it.each([['gw2', 20, 'ECDSAP256SHA256', 'prime256v1'], ['gw3', 30, 'ECDSAP384SHA384', 'secp384r1']] as const)(
    'turns BIND\'s %s key into the public point of the private scalar', async (owner, precedence, algorithm, curve) => {
      const jwk = (await keyAt(owner, precedence)).export({ format: 'jwk' });
      const ecdh = createECDH(curve);
      ecdh.setPrivateKey(field(algorithm, 'PrivateKey'));
      expect(Buffer.concat([Buffer.of(4), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')])).toEqual(ecdh.getPublicKey());
    },
  );

  it('turns BIND\'s Ed25519 and Ed448 keys into the public halves of their private keys', async () => {
    expect((await keyAt('gw1', 10)).equals(okpPublic('302e020100300506032b657004220420', field('ED25519', 'PrivateKey')))).toBe(true);
    expect((await keyAt('gw3', 40)).equals(okpPublic('3047020100300506032b6571043b0439', field('ED448', 'PrivateKey')))).toBe(true);
  });

  it('gives back the keys `oedns record` wrote into the zone', async () => {
    expect((await keyAt('made', 1)).equals(madeKeys.get('dsa')!)).toBe(true);
    expect((await keyAt('made', 2)).equals(madeKeys.get('rsa')!)).toBe(true);
    expect((await keyAt('made', 3)).equals(madeKeys.get('ed25519')!)).toBe(true);
  });

  it('turns the PKIX CERT into the certificate openssl made', async () => {
    const [record] = await wireAnswer(`www.${ORIGIN}`, parseType('CERT')!);
    const result = certMaterial(decodeCert(record!.rdata), `www.${ORIGIN}`);
    expect(result.kind === 'x509' && Buffer.from(result.certificate.raw)).toEqual(Buffer.from(certificate.der));
  });
});
