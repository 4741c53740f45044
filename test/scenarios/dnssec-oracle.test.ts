/**
 * Unbound as the oracle for oedns's validation verdicts (STYLE §9): one BIND-served lab hierarchy,
 * both validators forwarding to it with the same lab root trust anchor, and for every query in
 * the table real `dig +dnssec` to each. They must agree on the rcode, the AD flag (RFC 4035
 * §3.2.3) and the answer records of the queried type (TTLs and RRSIGs aside); two SERVFAILs
 * agree whatever else they carry. Each case also states the verdict it is meant to exercise,
 * checked against Unbound, so that a broken lab cannot pass by both sides failing alike.
 *
 * Set OEDNS_KEEP_LAB=1 to keep the BIND and Unbound directories (zones, named.log, unbound.log
 * with val-log-level 2 reasons).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig } from '../support/bind-lab.js';
import type { Harness } from '../support/oedns-harness.js';
import { startSignedLab, startValidatingOedns, type SignedLab } from '../support/signed-lab.js';
import { startUnbound, type Unbound } from '../support/unbound.js';

const DAY = 86_400;
const sign = { algorithm: 'ECDSAP256SHA256' as const };
/** A DS for badds.test. that no DNSKEY of that zone matches (RFC 4035 §5.2: the zone is bogus). */
const WRONG_DS = `badds.test. 300 IN DS 12345 13 2 ${'5A'.repeat(32)}`;

let auth: SignedLab;
let h: Harness;
let unbound: Unbound;

beforeAll(async () => {
  auth = await startSignedLab({
    recursionAcrossOwnZones: true,
    sign,
    tldRecords: [WRONG_DS],
    zones: [
      {
        origin: 'example.test.', sign,
        records: [
          'www 300 IN A 192.0.2.10', 'www 300 IN AAAA 2001:db8::10', 'alias 300 IN CNAME www',
          'cross 300 IN CNAME www.nsec3.test.', 'tounsigned 300 IN CNAME host.unsigned.test.',
          'dangling 300 IN CNAME nothing.nsec3.test.', '*.wild 300 IN A 192.0.2.11',
        ],
      },
      {
        origin: 'nsec3.test.', sign: { ...sign, nsec3: { iterations: 0 } },
        records: ['www 300 IN A 192.0.2.30', '*.wild 300 IN A 192.0.2.31', 'dn 300 IN DNAME example.test.'],
      },
      { origin: 'optout.test.', sign: { ...sign, nsec3: { iterations: 0, optOut: true } }, records: ['www 300 IN A 192.0.2.70'] },
      { origin: 'insecure.optout.test.', records: ['host 300 IN A 192.0.2.71'] },
      { origin: 'secure.optout.test.', sign, records: ['host 300 IN A 192.0.2.72'] },
      { origin: 'unsigned.test.', records: ['host 300 IN A 192.0.2.40'] },
      { origin: 'island.test.', sign, dsInParent: false, records: ['host 300 IN A 192.0.2.50'] },
      // Far enough outside the window that Unbound's clock-skew allowance (at most a day) cannot reach.
      { origin: 'expired.test.', sign: { ...sign, inception: `now-${100 * DAY}`, expiration: `now-${7 * DAY}` }, records: ['host 300 IN A 192.0.2.60'] },
      { origin: 'future.test.', sign: { ...sign, inception: `now+${7 * DAY}`, expiration: `now+${60 * DAY}` }, records: ['host 300 IN A 192.0.2.61'] },
      { origin: 'badds.test.', sign, dsInParent: false, records: ['host 300 IN A 192.0.2.62'] },
      { origin: 'ed.test.', sign: { algorithm: 'ED25519' }, records: ['host 300 IN A 192.0.2.80'] },
      { origin: 'rsa.test.', sign: { algorithm: 'RSASHA256' }, records: ['host 300 IN A 192.0.2.81'] },
      { origin: 'p384.test.', sign: { algorithm: 'ECDSAP384SHA384' }, records: ['host 300 IN A 192.0.2.82'] },
    ],
  });
  const upstream = { address: auth.address, port: auth.port };
  [h, unbound] = await Promise.all([
    startValidatingOedns(auth),
    startUnbound({ forwardTo: upstream, trustAnchorFile: auth.anchorFile }),
  ]);
}, 120_000);

afterAll(async () => {
  await h?.stop();
  await unbound?.stop();
  await auth?.stop();
});

/** What a case is meant to exercise: the rcode and, unless SERVFAIL, whether the data is secure. */
type Expected = 'NOERROR secure' | 'NOERROR insecure' | 'NXDOMAIN secure' | 'NXDOMAIN insecure' | 'SERVFAIL';

interface Case {
  readonly label: string;
  readonly name: string;
  readonly type: string;
  readonly expected: Expected;
}

const c = (label: string, name: string, type: string, expected: Expected): Case => ({ label, name, type, expected });

const CASES: readonly Case[] = [
  // Secure NSEC zone (RFC 4035 §5.3, §5.4)
  c('NSEC zone: A', 'www.example.test.', 'A', 'NOERROR secure'),
  c('NSEC zone: AAAA', 'www.example.test.', 'AAAA', 'NOERROR secure'),
  c('NSEC zone: CNAME within the zone', 'alias.example.test.', 'A', 'NOERROR secure'),
  c('NSEC zone: the CNAME itself', 'alias.example.test.', 'CNAME', 'NOERROR secure'),
  c('NSEC zone: CNAME into an NSEC3 zone', 'cross.example.test.', 'A', 'NOERROR secure'),
  c('NSEC zone: CNAME into an unsigned zone', 'tounsigned.example.test.', 'A', 'NOERROR insecure'),
  c('NSEC zone: CNAME to a name that does not exist', 'dangling.example.test.', 'A', 'NXDOMAIN secure'),
  c('NSEC zone: wildcard answer', 'x.wild.example.test.', 'A', 'NOERROR secure'),
  c('NSEC zone: NXDOMAIN', 'nothing.example.test.', 'A', 'NXDOMAIN secure'),
  c('NSEC zone: NODATA', 'www.example.test.', 'MX', 'NOERROR secure'),
  c('NSEC zone: wildcard NODATA', 'x.wild.example.test.', 'TXT', 'NOERROR secure'),
  c('NSEC zone: NXDOMAIN two labels below the apex', 'a.b.example.test.', 'A', 'NXDOMAIN secure'),
  c('NSEC zone: DS at the delegation from test.', 'example.test.', 'DS', 'NOERROR secure'),
  c('NSEC zone: DNSKEY', 'example.test.', 'DNSKEY', 'NOERROR secure'),
  c('NSEC zone: SOA', 'example.test.', 'SOA', 'NOERROR secure'),
  // Root and TLD
  c('root: DNSKEY', '.', 'DNSKEY', 'NOERROR secure'),
  c('TLD: NXDOMAIN', 'nothing.test.', 'A', 'NXDOMAIN secure'),
  c('TLD: NODATA at the apex', 'test.', 'TXT', 'NOERROR secure'),
  // NSEC3, no salt, 0 iterations (RFC 5155 §8, RFC 9276)
  c('NSEC3 zone: A', 'www.nsec3.test.', 'A', 'NOERROR secure'),
  c('NSEC3 zone: NXDOMAIN', 'nothing.nsec3.test.', 'A', 'NXDOMAIN secure'),
  c('NSEC3 zone: NODATA', 'www.nsec3.test.', 'TXT', 'NOERROR secure'),
  c('NSEC3 zone: wildcard answer', 'x.wild.nsec3.test.', 'A', 'NOERROR secure'),
  c('NSEC3 zone: wildcard NODATA', 'x.wild.nsec3.test.', 'TXT', 'NOERROR secure'),
  c('NSEC3 zone: DNSKEY', 'nsec3.test.', 'DNSKEY', 'NOERROR secure'),
  c('NSEC3 zone: DNAME itself', 'dn.nsec3.test.', 'DNAME', 'NOERROR secure'),
  c('NSEC3 zone: DNAME into the NSEC zone (RFC 6672)', 'www.dn.nsec3.test.', 'A', 'NOERROR secure'),
  c('NSEC3 zone: DNAME to a name that does not exist', 'nothing.dn.nsec3.test.', 'A', 'NXDOMAIN secure'),
  // NSEC3 opt-out (RFC 5155 §6, §8.6, §9.2)
  c('opt-out zone: A', 'www.optout.test.', 'A', 'NOERROR secure'),
  c('opt-out zone: unsigned delegation inside it', 'host.insecure.optout.test.', 'A', 'NOERROR insecure'),
  c('opt-out zone: DS of the unsigned delegation', 'insecure.optout.test.', 'DS', 'NOERROR insecure'),
  c('opt-out zone: signed delegation inside it', 'host.secure.optout.test.', 'A', 'NOERROR secure'),
  c('opt-out zone: NXDOMAIN in an opt-out span', 'nothing.optout.test.', 'A', 'NXDOMAIN insecure'),
  // Insecure delegations (RFC 4035 §5.2)
  c('unsigned delegation: A', 'host.unsigned.test.', 'A', 'NOERROR insecure'),
  c('unsigned delegation: NXDOMAIN', 'nothing.unsigned.test.', 'A', 'NXDOMAIN insecure'),
  c('unsigned delegation: DS proven absent by NSEC', 'unsigned.test.', 'DS', 'NOERROR secure'),
  c('island of security: A', 'host.island.test.', 'A', 'NOERROR insecure'),
  c('island of security: DNSKEY', 'island.test.', 'DNSKEY', 'NOERROR insecure'),
  // Bogus (RFC 4035 §5.3.1, §5.2)
  c('expired signatures: A', 'host.expired.test.', 'A', 'SERVFAIL'),
  c('expired signatures: DNSKEY', 'expired.test.', 'DNSKEY', 'SERVFAIL'),
  c('signatures not yet valid: A', 'host.future.test.', 'A', 'SERVFAIL'),
  c('DS matching no DNSKEY: A', 'host.badds.test.', 'A', 'SERVFAIL'),
  c('DS matching no DNSKEY: the DS itself, signed by test.', 'badds.test.', 'DS', 'NOERROR secure'),
  // Algorithms (RFC 8080, RFC 5702, RFC 6605)
  c('ED25519 zone: A', 'host.ed.test.', 'A', 'NOERROR secure'),
  c('ED25519 zone: NXDOMAIN', 'nothing.ed.test.', 'A', 'NXDOMAIN secure'),
  c('RSASHA256 zone: A', 'host.rsa.test.', 'A', 'NOERROR secure'),
  c('RSASHA256 zone: NXDOMAIN', 'nothing.rsa.test.', 'A', 'NXDOMAIN secure'),
  c('ECDSAP384SHA384 zone: A', 'host.p384.test.', 'A', 'NOERROR secure'),
  c('ECDSAP384SHA384 zone: NXDOMAIN', 'nothing.p384.test.', 'A', 'NXDOMAIN secure'),
];

interface Outcome {
  readonly rcode: string;
  readonly ad: boolean;
  /** Answer records of the queried type as 'owner TYPE rdata', sorted; TTL and class dropped. */
  readonly records: readonly string[];
}

async function ask(server: { address: string; port: number }, name: string, type: string): Promise<Outcome> {
  const r = await dig(server, ['+dnssec', '+time=5', '+tries=1', name, type]);
  expect(r.exitCode, `dig ${name} ${type}: ${r.stderr}`).toBe(0);
  return parseDig(r.stdout, type);
}

function parseDig(stdout: string, type: string): Outcome {
  const rcode = /status: ([A-Z]+)/.exec(stdout)?.[1] ?? 'NONE';
  const flags = /flags: ([a-z ]*);/.exec(stdout)?.[1]?.split(' ') ?? [];
  const answer = /;; ANSWER SECTION:\n([\s\S]*?)(?:\n\n|$)/.exec(stdout)?.[1] ?? '';
  const records = answer
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[3] === type)
    .map(([owner = '', , , rrtype = '', ...rdata]) => `${owner.toLowerCase()} ${rrtype} ${rdata.join(' ')}`)
    .sort();
  return { rcode, ad: flags.includes('ad'), records };
}

function verdict(outcome: Outcome): string {
  return outcome.rcode === 'SERVFAIL' ? 'SERVFAIL' : `${outcome.rcode} ${outcome.ad ? 'secure' : 'insecure'}`;
}

/** Two SERVFAILs agree regardless of what else they carry. */
function comparable(outcome: Outcome): Outcome {
  return outcome.rcode === 'SERVFAIL' ? { rcode: 'SERVFAIL', ad: false, records: [] } : outcome;
}

describe('oedns agrees with Unbound on the lab hierarchy', () => {
  it.each(CASES)('$label ($name $type)', async ({ name, type, expected }) => {
    const [ours, oracle] = [await ask(h, name, type), await ask(unbound, name, type)];
    expect(verdict(oracle), 'Unbound: the lab case exercises what it claims').toBe(expected);
    expect(comparable(ours), `oedns vs Unbound for ${name} ${type}`).toEqual(comparable(oracle));
  });
});
