/**
 * The denial proofs against answers of a real signer and server: BIND's dnssec-signzone signs three
 * zones (NSEC; NSEC3 without salt or extra iterations; NSEC3 with opt-out and an unsigned
 * delegation) and named serves them. Each NSEC/NSEC3 set named puts in the authority section must
 * prove the denial, and each must stop proving it when any one of its records is taken away.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rcode, RRType, type Message, type ResourceRecord } from '../wire/index.js';
import { startAuthServer, type AuthServer, type ZoneSpec } from '../../test/support/bind-lab.js';
import { queryMessage, question, udpQuery } from '../../test/support/oedns-harness.js';
import { proveNoDsNsec, proveNodataNsec, proveNxdomainNsec, proveWildcardAnswerNsec, type DenialProof } from './nsec.js';
import { base32HexEncode, createHashBudget, nsec3Hash } from './nsec3.js';
import { proveNoDsNsec3, proveNodataNsec3, proveNxdomainNsec3, proveWildcardAnswerNsec3 } from './nsec3-proofs.js';
import type { Verdict } from './verdict.js';

const RECORDS = [
  'www 300 IN A 192.0.2.1',
  'sub.deep 300 IN A 192.0.2.2',
  '*.wild 300 IN A 192.0.2.3',
  'unsigned 300 IN NS ns.unsigned',
  'ns.unsigned 300 IN A 192.0.2.53',
];

const ZONES: readonly ZoneSpec[] = [
  { origin: 'nsec.test.', records: RECORDS, sign: {} },
  { origin: 'nsec3.test.', records: RECORDS, sign: { nsec3: { iterations: 0 } } },
  { origin: 'optout.test.', records: RECORDS, sign: { nsec3: { iterations: 0, optOut: true } } },
];

type Status = Verdict<DenialProof>['status'];

interface Prover {
  readonly type: number;
  nxdomain(qname: string, records: ResourceRecord[], zone: string): Verdict<DenialProof>;
  nodata(qname: string, qtype: number, records: ResourceRecord[], zone: string): Verdict<DenialProof>;
  wildcard(qname: string, labels: number, records: ResourceRecord[], zone: string): Verdict<DenialProof>;
  noDs(name: string, records: ResourceRecord[], zone: string): Verdict<DenialProof>;
}

const NSEC: Prover = {
  type: RRType.NSEC,
  nxdomain: (qname, records, zone) => proveNxdomainNsec(qname, records, zone),
  nodata: (qname, qtype, records) => proveNodataNsec(qname, qtype, records),
  wildcard: (qname, labels, records) => proveWildcardAnswerNsec(qname, labels, records),
  noDs: (name, records) => proveNoDsNsec(name, records),
};

const NSEC3: Prover = {
  type: RRType.NSEC3,
  nxdomain: (qname, records, zone) => proveNxdomainNsec3(qname, records, zone, createHashBudget()),
  nodata: (qname, qtype, records, zone) => proveNodataNsec3(qname, qtype, records, zone, createHashBudget()),
  wildcard: (qname, labels, records, zone) => proveWildcardAnswerNsec3(qname, labels, records, zone, createHashBudget()),
  noDs: (name, records, zone) => proveNoDsNsec3(name, records, zone, createHashBudget()),
};

let server: AuthServer;
let nextId = 1;

async function ask(name: string, type: number): Promise<Message> {
  return udpQuery(server.port, queryMessage(nextId++, question(name, type), { edns: true, dnssecOk: true }));
}

function denialSet(reply: Message, type: number): ResourceRecord[] {
  return reply.authorities.filter((rr) => rr.type === type);
}

/** RRSIG Labels (RFC 4034 §3.1.3) of the signature over the answer's `type` RRset. */
function rrsigLabels(reply: Message, type: number): number {
  const sig = reply.answers.find((rr) => rr.type === RRType.RRSIG && ((rr.rdata[0]! << 8) | rr.rdata[1]!) === type);
  if (!sig) throw new Error(`no RRSIG over type ${type} in the answer`);
  return sig.rdata[3]!;
}

/**
 * The proof holds on the whole set, and fails with a reason once any one record is missing; except
 * a record `spare` names, whose loss still leaves `spareStatus` (an opt-out span's insecure).
 */
function expectProof(
  records: ResourceRecord[],
  prove: (subset: ResourceRecord[]) => Verdict<DenialProof>,
  status: Status,
  spare: (rr: ResourceRecord) => boolean = () => false,
): void {
  expect(records.length).toBeGreaterThan(0);
  expect(prove(records)).toMatchObject({ status });
  for (const dropped of records) {
    const verdict = prove(records.filter((rr) => rr !== dropped));
    const expected = spare(dropped) ? 'insecure' : 'bogus';
    expect(verdict, `without ${dropped.name}`).toMatchObject({ status: expected, reason: expect.any(String) });
  }
}

/** Whether an NSEC3 (no salt, no extra iterations) is the one at `name`. */
function isNsec3Of(rr: ResourceRecord, name: string): boolean {
  const hash = base32HexEncode(nsec3Hash(name, new Uint8Array(0), 0));
  return rr.type === RRType.NSEC3 && rr.name.toLowerCase().startsWith(`${hash}.`);
}

beforeAll(async () => {
  server = await startAuthServer({ zones: ZONES });
});
afterAll(() => server?.stop());

describe.each([
  { zone: 'nsec.test.', prover: NSEC, optOut: false },
  { zone: 'nsec3.test.', prover: NSEC3, optOut: false },
  { zone: 'optout.test.', prover: NSEC3, optOut: true },
])('denial proofs from BIND for $zone', ({ zone, prover, optOut }) => {
  // RFC 5155 §9.2: a proof resting on an opt-out span (next closer name covered) earns no AD bit.
  const spanned: Status = optOut ? 'insecure' : 'secure';

  it('proves NXDOMAIN for a name that does not exist', async () => {
    const reply = await ask(`nope.${zone}`, RRType.A);
    expect(reply.rcode).toBe(Rcode.NXDomain);
    expectProof(denialSet(reply, prover.type), (set) => prover.nxdomain(`nope.${zone}`, set, zone), spanned);
  });

  it('proves NODATA for a type missing at an existing name', async () => {
    const reply = await ask(`www.${zone}`, RRType.TXT);
    expect(reply.rcode).toBe(Rcode.NoError);
    expect(reply.answers).toHaveLength(0);
    expectProof(denialSet(reply, prover.type), (set) => prover.nodata(`www.${zone}`, RRType.TXT, set, zone), 'secure');
  });

  it('proves NODATA for an empty non-terminal', async () => {
    const reply = await ask(`deep.${zone}`, RRType.A);
    expect(reply.rcode).toBe(Rcode.NoError);
    expectProof(denialSet(reply, prover.type), (set) => prover.nodata(`deep.${zone}`, RRType.A, set, zone), 'secure');
  });

  it('proves that a wildcard-expanded name does not exist itself', async () => {
    const qname = `x.wild.${zone}`;
    const reply = await ask(qname, RRType.A);
    expect(reply.answers.some((rr) => rr.type === RRType.A)).toBe(true);
    const labels = rrsigLabels(reply, RRType.A);
    expect(labels).toBe(3);
    expectProof(denialSet(reply, prover.type), (set) => prover.wildcard(qname, labels, set, zone), spanned);
  });

  it('proves a wildcard NODATA', async () => {
    const qname = `x.wild.${zone}`;
    const reply = await ask(qname, RRType.TXT);
    expect(reply.rcode).toBe(Rcode.NoError);
    expect(reply.answers).toHaveLength(0);
    // In an opt-out zone the covered next closer name alone already makes the answer insecure
    // (RFC 5155 §8.6 for DS; an empty non-terminal above unsigned delegations for other types).
    const spare = (rr: ResourceRecord) => optOut && isNsec3Of(rr, `*.wild.${zone}`);
    expectProof(denialSet(reply, prover.type), (set) => prover.nodata(qname, RRType.TXT, set, zone), spanned, spare);
  });

  it('proves the unsigned delegation insecure from the DS NODATA', async () => {
    const delegation = `unsigned.${zone}`;
    const reply = await ask(delegation, RRType.DS);
    expect(reply.rcode).toBe(Rcode.NoError);
    expect(reply.answers).toHaveLength(0);
    const set = denialSet(reply, prover.type);
    expectProof(set, (subset) => prover.noDs(delegation, subset, zone), optOut ? 'insecure' : 'secure');
    expect(prover.nodata(delegation, RRType.DS, set, zone)).toMatchObject({ status: optOut ? 'insecure' : 'secure' });
  });
});
