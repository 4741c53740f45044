/**
 * The keys lab serves what keys-lab.ts claims: real `dig +dnssec` to the lab's named for what is
 * served, and to Unbound (trusting only the lab root) for the verdicts (STYLE §9). The key bytes
 * in the records are checked against the private keys and certificate the fixture hands out,
 * by hand (RFC 3110, RFC 8080) and with openssl's view of the certificate.
 */
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipseckeyPublicKey, KeyFormatError, parseIpseckeyText } from '../../src/records/index.js';
import { dig } from './bind-lab.js';
import { KEYS_LAB_ALIAS, KEYS_LAB_HOSTS, KEYS_TTL_SECONDS, startKeysLab, type KeysLab, type KeysLabRecord } from './keys-lab.js';
import { startUnbound, type Unbound } from './unbound.js';

let lab: KeysLab;
let unbound: Unbound;

beforeAll(async () => {
  lab = await startKeysLab();
  unbound = await startUnbound({ forwardTo: lab.lab, trustAnchorFile: lab.anchorFile });
}, 60_000);

afterAll(async () => {
  await unbound?.stop();
  await lab?.stop();
});

interface Answer {
  readonly owner: string;
  readonly ttlSeconds: number;
  readonly type: string;
  readonly rdata: string;
}

interface Reply {
  readonly rcode: string;
  readonly ad: boolean;
  readonly aa: boolean;
  readonly answers: readonly Answer[];
}

async function ask(server: { readonly address: string; readonly port: number }, name: string, type: string, extra: readonly string[] = []): Promise<Reply> {
  const r = await dig(server, ['+dnssec', '+nosplit', '+time=5', '+tries=1', ...extra, name, type]);
  expect(r.exitCode, `dig ${name} ${type}: ${r.stderr}`).toBe(0);
  const flags = /flags: ([a-z ]*);/.exec(r.stdout)?.[1]?.split(' ') ?? [];
  const section = /;; ANSWER SECTION:\n([\s\S]*?)(?:\n\n|$)/.exec(r.stdout)?.[1] ?? '';
  const answers = section.split('\n').filter((l) => l.trim() !== '').map((l) => {
    const [owner = '', ttl = '', , rrtype = '', ...rdata] = l.trim().split(/\s+/);
    return { owner: owner.toLowerCase(), ttlSeconds: Number(ttl), type: rrtype, rdata: rdata.join(' ') };
  });
  return { rcode: /status: ([A-Z]+)/.exec(r.stdout)?.[1] ?? 'NONE', ad: flags.includes('ad'), aa: flags.includes('aa'), answers };
}

/** Through Unbound, the validating oracle. */
const validated = (name: string, type: string): Promise<Reply> => ask(unbound, name, type);
/** From named itself, authoritative, no recursion. */
const served = (name: string, type: string): Promise<Reply> => ask(lab.lab, name, type, ['+norec']);

const records = (reply: Reply, type: string): KeysLabRecord[] =>
  reply.answers.filter((a) => a.type === type).map(({ owner, rdata }) => ({ owner, rdata })).sort(byRdata);
const byRdata = (a: KeysLabRecord, b: KeysLabRecord): number => a.rdata.localeCompare(b.rdata);
const sorted = (list: readonly KeysLabRecord[]): KeysLabRecord[] => [...list].sort(byRdata);
const keyBytes = (rdata: string): Buffer => Buffer.from(rdata.split(' ').at(-1) ?? '', 'base64');

function expectSecure(reply: Reply): void {
  expect(reply.rcode).toBe('NOERROR');
  expect(reply.ad).toBe(true);
}

describe('keys.test.: hosts with keys, validated secure by Unbound', () => {
  const { alice, bob, gw } = KEYS_LAB_HOSTS;

  it.each([
    [alice.name, 'A', alice.ipv4], [alice.name, 'AAAA', alice.ipv6],
    [bob.name, 'A', bob.ipv4], [bob.name, 'AAAA', bob.ipv6], [gw.name, 'A', gw.ipv4],
  ])('%s %s is %s, secure', async (name, type, address) => {
    const reply = await validated(name, type);
    expectSecure(reply);
    expect(records(reply, type)).toEqual([{ owner: name, rdata: address }]);
  });

  it('serves alice\'s IPSECKEY, TLSA and CERT as expected, each secure', async () => {
    const [ipseckey, tlsa, cert] = await Promise.all([
      validated(alice.name, 'IPSECKEY'), validated(lab.expected.tlsa.owner, 'TLSA'), validated(alice.name, 'CERT'),
    ]);
    for (const reply of [ipseckey, tlsa, cert]) expectSecure(reply);
    expect(records(ipseckey, 'IPSECKEY')).toEqual(lab.expected.ipseckey.alice);
    expect(records(tlsa, 'TLSA')).toEqual([lab.expected.tlsa]);
    expect(records(cert, 'CERT')).toEqual([lab.expected.cert]);
    expect(ipseckey.answers.find((a) => a.type === 'IPSECKEY')?.ttlSeconds).toBe(KEYS_TTL_SECONDS);
  });

  it('serves bob\'s three IPSECKEYs (gateway types 1, 2, 3), secure, expected lowest precedence first', async () => {
    const reply = await validated(bob.name, 'IPSECKEY');
    expectSecure(reply);
    expect(records(reply, 'IPSECKEY')).toEqual(sorted(lab.expected.ipseckey.bob));
    const fields = lab.expected.ipseckey.bob.map((r) => r.rdata.split(' ').slice(0, 4).join(' '));
    expect(fields).toEqual([`10 1 2 ${bob.ipv4}`, `20 2 2 ${bob.ipv6}`, `30 3 2 ${gw.name}`]);
  });
});

describe('the served keys are the fixture\'s keys', () => {
  it('alice\'s IPSECKEY is the raw Ed25519 public key of her private key (RFC 8080 §3)', () => {
    const [record] = lab.expected.ipseckey.alice;
    const publicKey = createPublicKey(createPrivateKey(lab.keys.alice.privateKeyPem));
    expect(keyBytes(record!.rdata)).toEqual(Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url'));
    expect(publicKey.export({ type: 'spki', format: 'pem' })).toBe(lab.keys.alice.spkiPem);
  });

  it('bob\'s IPSECKEYs hold the exponent and modulus of his RSA-2048 private key (RFC 3110 §2)', () => {
    const jwk = createPublicKey(createPrivateKey(lab.keys.bob.privateKeyPem)).export({ format: 'jwk' });
    for (const { rdata } of lab.expected.ipseckey.bob) {
      const key = keyBytes(rdata);
      const exponentLength = key[0]!;
      expect(key.subarray(1, 1 + exponentLength)).toEqual(Buffer.from(jwk.e!, 'base64url'));
      expect(key.subarray(1 + exponentLength)).toEqual(Buffer.from(jwk.n!, 'base64url'));
      expect(key.length - 1 - exponentLength).toBe(256);
    }
  });

  it('records/ makes the expected SPKI PEMs of alice\'s and bob\'s records', () => {
    const spki = (record: KeysLabRecord): string => {
      const key = ipseckeyPublicKey(parseIpseckeyText(record.rdata, '.', record.owner), record.owner);
      return key.kind === 'key' ? key.spkiPem : key.kind;
    };
    expect(lab.expected.ipseckey.alice.map(spki)).toEqual([lab.keys.alice.spkiPem]);
    expect(lab.expected.ipseckey.bob.map(spki)).toEqual(lab.expected.ipseckey.bob.map(() => lab.keys.bob.spkiPem));
  });

  it('the TLSA and CERT name alice\'s certificate, which is for her own key and names', () => {
    const cert = new X509Certificate(lab.aliceCertificate.pem);
    expect(Buffer.from(cert.raw)).toEqual(Buffer.from(lab.aliceCertificate.der));
    expect(keyBytes(lab.expected.cert.rdata)).toEqual(cert.raw);
    expect(cert.publicKey.equals(lab.keys.alice.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(lab.keys.alice.privateKeyPem))).toBe(true);
    expect(cert.subjectAltName).toBe('DNS:alice.keys.test, IP Address:192.0.2.10, IP Address:2001:DB8:0:0:0:0:0:10');
    const spkiDer = cert.publicKey.export({ type: 'spki', format: 'der' });
    expect(Buffer.from(lab.aliceCertificate.spkiDer)).toEqual(spkiDer);
    expect(lab.expected.tlsa.rdata).toBe(`3 1 1 ${createHash('sha256').update(spkiDer).digest('hex').toUpperCase()}`);
  });
});

describe('carol.keys.test.: secure A, bogus IPSECKEY', () => {
  const { carol } = KEYS_LAB_HOSTS;

  it('has a secure A', async () => {
    const reply = await validated(carol.name, 'A');
    expectSecure(reply);
    expect(records(reply, 'A')).toEqual([{ owner: carol.name, rdata: carol.ipv4 }]);
  });

  it('has its IPSECKEY served with one RRSIG by named, and SERVFAIL from Unbound for a bad signature', async () => {
    const direct = await served(carol.name, 'IPSECKEY');
    expect(direct.aa).toBe(true);
    expect(records(direct, 'IPSECKEY')).toEqual(lab.expected.ipseckey.carol);
    expect(direct.answers.filter((a) => a.type === 'RRSIG' && a.rdata.startsWith('IPSECKEY '))).toHaveLength(1);
    const reply = await validated(carol.name, 'IPSECKEY');
    expect(reply.rcode).toBe('SERVFAIL');
    expect(reply.answers).toEqual([]);
    expect(await unbound.log()).toMatch(/validation failure <carol\.keys\.test\. IPSECKEY IN>: signature crypto failed/);
  });
});

describe('www.keys.test.: a CNAME to alice', () => {
  it.each([['A', KEYS_LAB_HOSTS.alice.ipv4], ['IPSECKEY', undefined]])('%s follows to alice, secure', async (type, address) => {
    const reply = await validated(KEYS_LAB_ALIAS.name, type);
    expectSecure(reply);
    expect(records(reply, 'CNAME')).toEqual([{ owner: KEYS_LAB_ALIAS.name, rdata: KEYS_LAB_ALIAS.target }]);
    const expected = address === undefined ? lab.expected.ipseckey.alice : [{ owner: KEYS_LAB_ALIAS.target, rdata: address }];
    expect(records(reply, type)).toEqual(expected);
  });
});

describe('plain.keys.test.: no keys', () => {
  const { plain } = KEYS_LAB_HOSTS;

  it('has a secure A and a secure NODATA for IPSECKEY and CERT', async () => {
    const a = await validated(plain.name, 'A');
    expectSecure(a);
    expect(records(a, 'A')).toEqual([{ owner: plain.name, rdata: plain.ipv4 }]);
    for (const type of ['IPSECKEY', 'CERT']) {
      const reply = await validated(plain.name, type);
      expectSecure(reply);
      expect(records(reply, type)).toEqual([]);
    }
    const tlsa = await validated(`_443._tcp.${plain.name}`, 'TLSA');
    expect([tlsa.rcode, tlsa.ad]).toEqual(['NXDOMAIN', true]);
  });
});

describe('broken.keys.test.: a secure IPSECKEY whose key is malformed', () => {
  const { broken } = KEYS_LAB_HOSTS;

  it('is secure in DNS', async () => {
    const reply = await validated(broken.name, 'IPSECKEY');
    expectSecure(reply);
    expect(records(reply, 'IPSECKEY')).toEqual(lab.expected.ipseckey.broken);
    expectSecure(await validated(broken.name, 'A'));
  });

  it('holds an RSA key whose exponent length runs past the key (RFC 3110 §2), which records/ refuses', () => {
    const [record] = lab.expected.ipseckey.broken;
    expect(record!.rdata).toMatch(/^10 0 2 \. /);
    const key = keyBytes(record!.rdata);
    expect(key[0]!).toBeGreaterThan(0);
    expect(1 + key[0]!).toBeGreaterThanOrEqual(key.length);
    expect(() => ipseckeyPublicKey(parseIpseckeyText(record!.rdata, '.', broken.name), broken.name)).toThrow(KeyFormatError);
  });
});

describe('dave.insecure.test.: keys in an unsigned zone', () => {
  const { dave } = KEYS_LAB_HOSTS;

  it('has an insecure A and an insecure IPSECKEY (NOERROR, no AD)', async () => {
    const a = await validated(dave.name, 'A');
    expect([a.rcode, a.ad]).toEqual(['NOERROR', false]);
    expect(records(a, 'A')).toEqual([{ owner: dave.name, rdata: dave.ipv4 }]);
    const reply = await validated(dave.name, 'IPSECKEY');
    expect([reply.rcode, reply.ad]).toEqual(['NOERROR', false]);
    expect(records(reply, 'IPSECKEY')).toEqual(lab.expected.ipseckey.dave);
  });

  it('is insecure because test. proves insecure.test. has no DS', async () => {
    const reply = await validated('insecure.test.', 'DS');
    expectSecure(reply);
    expect(records(reply, 'DS')).toEqual([]);
  });
});
