/**
 * Signatures made by an independent signer (BIND's dnssec-signzone, served by named) verified by
 * verifyRrset, for every algorithm BIND 9.18 signs with; DS digests against dnssec-dsfromkey.
 * Signing windows are fixed epochs, so no test reads the clock.
 */
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthServer, type AuthServer, type SigningAlgorithm } from '../../test/support/bind-lab.js';
import { frame, queryMessage, question, tcpExchange, udpQuery } from '../../test/support/oedns-harness.js';
import { decodeMessage, encodeMessage, RRType, type Message, type ResourceRecord } from '../wire/index.js';
import { DnssecAlgorithm } from './algorithms.js';
import { labelCount } from './canonical-name.js';
import { parseDnskey, parseRrsig } from './dnssec-rdata.js';
import { dsDigest, dsMatches } from './ds.js';
import { createVerifyBudget, verifyRrset } from './rrsig.js';
import { Ede } from './verdict.js';

const INCEPTION = 1_577_836_800; // 2020-01-01T00:00:00Z
const EXPIRATION = 2_208_988_800; // 2040-01-01T00:00:00Z
const NOW = 1_700_000_000;
const EXPIRED_ZONE = 'expired.test.';
const EXPIRED_WINDOW = { inception: 1_500_000_000, expiration: 1_500_864_000 } as const;

/** BIND 9.18 still signs with RSASHA1 (deprecated; RFC 8624 §3.1 keeps it MUST-validate). */
const ALGORITHMS: readonly SigningAlgorithm[] = [
  'RSASHA1', 'RSASHA256', 'RSASHA512', 'ECDSAP256SHA256', 'ECDSAP384SHA384', 'ED25519', 'ED448',
];
const zoneOf = (algorithm: string): string => `${algorithm.toLowerCase()}.test.`;

let auth: AuthServer;
let nextId = 1;

beforeAll(async () => {
  const records = ['www 300 IN A 192.0.2.1', 'www 300 IN A 192.0.2.2', '*.wild 300 IN A 192.0.2.9'];
  auth = await startAuthServer({
    zones: [
      ...ALGORITHMS.map((algorithm) => ({ origin: zoneOf(algorithm), records, sign: { algorithm, inception: INCEPTION, expiration: EXPIRATION } })),
      { origin: EXPIRED_ZONE, records, sign: { algorithm: 'ECDSAP256SHA256' as const, ...EXPIRED_WINDOW } },
    ],
  });
});
afterAll(() => auth?.stop());

/** Queries with DO set; repeats over TCP when the UDP answer is truncated. */
async function query(name: string, type: number): Promise<Message> {
  const message = queryMessage(nextId++, question(name, type), { edns: true, dnssecOk: true });
  const reply = await udpQuery(auth.port, message);
  if (!reply.tc) return reply;
  const { replies } = await tcpExchange(auth.port, frame(encodeMessage(message)), 1);
  return decodeMessage(replies[0]!);
}

interface Signed {
  readonly rrset: ResourceRecord[];
  readonly rrsigs: ResourceRecord[];
}

async function signedAnswer(name: string, type: number): Promise<Signed> {
  const { answers } = await query(name, type);
  return { rrset: answers.filter((r) => r.type === type), rrsigs: answers.filter((r) => r.type === RRType.RRSIG) };
}

const isKsk = (dnskey: ResourceRecord): boolean => parseDnskey(dnskey).secureEntryPoint;

describe.each(ALGORITHMS.map((a) => [a]))('BIND-signed zone with %s', (algorithm) => {
  const zone = zoneOf(algorithm);

  it('verifies the A RRset with the zone\'s DNSKEYs (RFC 4035 §5.3)', async () => {
    const { rrset: dnskeys } = await signedAnswer(zone, RRType.DNSKEY);
    const { rrset, rrsigs } = await signedAnswer(`www.${zone}`, RRType.A);
    expect(rrset).toHaveLength(2);
    expect(dnskeys.map((k) => parseDnskey(k).algorithm)).toEqual([DnssecAlgorithm[algorithm], DnssecAlgorithm[algorithm]]);
    const verdict = await verifyRrset(rrset, rrsigs, dnskeys, zone, NOW, createVerifyBudget());
    expect(verdict).toMatchObject({ status: 'secure', value: { expiration: EXPIRATION } });
  });

  it('verifies the DNSKEY RRset with the RRSIG of the KSK alone', async () => {
    const { rrset: dnskeys, rrsigs } = await signedAnswer(zone, RRType.DNSKEY);
    const ksk = dnskeys.find(isKsk)!;
    const kskTag = parseDnskey(ksk).keyTag;
    const kskSigs = rrsigs.filter((r) => parseRrsig(r).keyTag === kskTag);
    expect(kskSigs).toHaveLength(1);
    const verdict = await verifyRrset(dnskeys, kskSigs, [ksk], zone, NOW, createVerifyBudget());
    expect(verdict).toMatchObject({ status: 'secure', value: { keyTag: kskTag } });
  });

  it('verifies a wildcard expansion: RRSIG Labels below the owner\'s count (RFC 4035 §5.3.2)', async () => {
    const { rrset: dnskeys } = await signedAnswer(zone, RRType.DNSKEY);
    const { rrset, rrsigs } = await signedAnswer(`x.wild.${zone}`, RRType.A);
    expect(rrset[0]!.name).toBe(`x.wild.${zone}`);
    expect(parseRrsig(rrsigs[0]!).labels).toBeLessThan(labelCount(rrset[0]!.name));
    expect(await verifyRrset(rrset, rrsigs, dnskeys, zone, NOW, createVerifyBudget())).toMatchObject({ status: 'secure' });
  });

  it('is bogus when one byte of the A RDATA changes', async () => {
    const { rrset: dnskeys } = await signedAnswer(zone, RRType.DNSKEY);
    const { rrset, rrsigs } = await signedAnswer(`www.${zone}`, RRType.A);
    const rdata = rrset[0]!.rdata.slice();
    rdata[3]! ^= 0x01;
    const tampered = [{ ...rrset[0]!, rdata }, rrset[1]!];
    expect(await verifyRrset(tampered, rrsigs, dnskeys, zone, NOW, createVerifyBudget())).toMatchObject({ status: 'bogus', ede: Ede.DnssecBogus });
  });

  it('matches the DS from dnssec-dsfromkey (SHA-256) and its SHA-1 and SHA-384 digests', async () => {
    const { rrset: dnskeys } = await signedAnswer(zone, RRType.DNSKEY);
    const ksk = dnskeys.find(isKsk)!;
    const [line] = auth.ds.get(zone) ?? [];
    const [, , , tag, alg, digestType, ...digest] = line!.split(/\s+/);
    const ds = { keyTag: Number(tag), algorithm: Number(alg), digestType: Number(digestType), digest: Buffer.from(digest.join(''), 'hex') };
    expect(ds.digestType).toBe(2);
    expect(dsMatches(ds, zone, ksk)).toBe(true);
    for (const [flag, type] of [[['-1'], 1], [['-a', 'SHA-384'], 4]] as const) {
      const input = ['$TTL 300', ...(auth.dnskeys.get(zone) ?? [])].join('\n');
      const { stdout } = await execa('dnssec-dsfromkey', [...flag, '-f', '-', zone], { input });
      const hex = stdout.trim().split(/\s+/).slice(6).join('').toLowerCase();
      expect(Buffer.from(dsDigest(zone, ksk.rdata, type)!).toString('hex')).toBe(hex);
    }
  });
});

describe('BIND-signed zone outside its signing window', () => {
  it('is bogus with SignatureExpired after the expiration (RFC 4035 §5.3.1)', async () => {
    const { rrset: dnskeys } = await signedAnswer(EXPIRED_ZONE, RRType.DNSKEY);
    const { rrset, rrsigs } = await signedAnswer(`www.${EXPIRED_ZONE}`, RRType.A);
    const verdict = await verifyRrset(rrset, rrsigs, dnskeys, EXPIRED_ZONE, NOW, createVerifyBudget());
    expect(verdict).toMatchObject({ status: 'bogus', ede: Ede.SignatureExpired });
  });

  it('is bogus with SignatureNotYetValid before the inception, and secure inside the window', async () => {
    const { rrset: dnskeys } = await signedAnswer(EXPIRED_ZONE, RRType.DNSKEY);
    const { rrset, rrsigs } = await signedAnswer(`www.${EXPIRED_ZONE}`, RRType.A);
    const early = await verifyRrset(rrset, rrsigs, dnskeys, EXPIRED_ZONE, EXPIRED_WINDOW.inception - 1, createVerifyBudget());
    expect(early).toMatchObject({ status: 'bogus', ede: Ede.SignatureNotYetValid });
    const inside = await verifyRrset(rrset, rrsigs, dnskeys, EXPIRED_ZONE, EXPIRED_WINDOW.inception + 60, createVerifyBudget());
    expect(inside).toMatchObject({ status: 'secure' });
  });
});
