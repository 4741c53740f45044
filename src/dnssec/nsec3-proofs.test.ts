import { describe, expect, it } from 'vitest';
import { RRType, type ResourceRecord } from '../wire/index.js';
import { denialRecord, RFC5155_ZONE, rfc5155Nsec3, withNsec3Flags } from './denial-vectors.js';
import { createHashBudget } from './nsec3.js';
import { proveNoDsNsec3, proveNodataNsec3, proveNxdomainNsec3, proveWildcardAnswerNsec3 } from './nsec3-proofs.js';
import { Ede } from './verdict.js';

const zone = RFC5155_ZONE;
const budget = () => createHashBudget();

/** Appendix A marks every NSEC3 Opt-Out; the same records without it show the secure outcome. */
function withoutOptOut(records: readonly ResourceRecord[]): ResourceRecord[] {
  return records.map((rr) => withNsec3Flags(rr, 0));
}

/** Each record of a proof is needed: without any one of them the proof is bogus. */
function expectEachNeeded(records: readonly ResourceRecord[], prove: (subset: ResourceRecord[]) => { status: string }): void {
  for (const dropped of records) {
    expect(prove(records.filter((rr) => rr !== dropped)), `without ${dropped.name}`).toMatchObject({ status: 'bogus' });
  }
}

describe('RFC 5155 Appendix B.1: name error a.c.x.w.example', () => {
  const proof = rfc5155Nsec3('0p9m', 'b4um', '35mt');

  it('proves the closest encloser x.w.example; the opt-out next closer span keeps it insecure (§8.4, §9.2)', () => {
    expect(proveNxdomainNsec3('a.c.x.w.example.', proof, zone, budget())).toEqual({
      status: 'insecure',
      value: { closestEncloser: 'x.w.example.', optOut: true, insecureBecause: 'opt-out' },
      reason: expect.stringMatching(/c\.x\.w\.example\. lies in an opt-out span/),
    });
  });

  it('is secure with the same records without Opt-Out', () => {
    expect(proveNxdomainNsec3('a.c.x.w.example.', withoutOptOut(proof), zone, budget())).toEqual({
      status: 'secure', value: { closestEncloser: 'x.w.example.', optOut: false },
    });
  });

  it('needs all three NSEC3s: next closer covered, closest encloser matched, wildcard covered', () => {
    expectEachNeeded(proof, (subset) => proveNxdomainNsec3('a.c.x.w.example.', subset, zone, budget()));
    expect(proveNxdomainNsec3('a.c.x.w.example.', rfc5155Nsec3('b4um', '35mt'), zone, budget()))
      .toMatchObject({ ede: Ede.NsecMissing, reason: expect.stringMatching(/next closer name c\.x\.w\.example\./) });
    expect(proveNxdomainNsec3('a.c.x.w.example.', rfc5155Nsec3('0p9m', 'b4um'), zone, budget()))
      .toMatchObject({ ede: Ede.NsecMissing, reason: expect.stringMatching(/wildcard \*\.x\.w\.example\./) });
  });

  it('is bogus for a name that an NSEC3 matches', () => {
    expect(proveNxdomainNsec3('x.w.example.', proof, zone, budget())).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/exists/) });
  });

  it('spends exactly one hash per name: a.c.x.w, c.x.w, x.w and *.x.w', () => {
    const shared = createHashBudget(10);
    proveNxdomainNsec3('a.c.x.w.example.', proof, zone, shared);
    expect(shared.hashesLeft).toBe(6);
  });
});

describe('RFC 5155 Appendix B.2: no data ns1.example MX', () => {
  const proof = rfc5155Nsec3('2t7b');

  it('proves it with the NSEC3 matching QNAME, MX and CNAME clear (§8.5)', () => {
    expect(proveNodataNsec3('ns1.example.', RRType.MX, proof, zone, budget())).toEqual({
      status: 'secure', value: { closestEncloser: 'ns1.example.', optOut: false },
    });
  });

  it('is bogus for a type the NSEC3 lists, and without it', () => {
    expect(proveNodataNsec3('ns1.example.', RRType.A, proof, zone, budget())).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/lists type 1/) });
    expect(proveNodataNsec3('ns1.example.', RRType.MX, rfc5155Nsec3('0p9m'), zone, budget())).toMatchObject({ status: 'bogus' });
  });

  it('is bogus when the matching NSEC3 lists CNAME (RFC 6840 §4.3)', () => {
    const cname = denialRecord('2t7b4g4vsa5smi47k61mv5bv1a22bojr.example. NSEC3 1 0 12 aabbccdd 2vptu5timamqttgl4luu9kg21e0aor3s CNAME RRSIG');
    expect(proveNodataNsec3('ns1.example.', RRType.MX, [cname], zone, budget())).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/CNAME/) });
  });
});

describe('RFC 5155 Appendix B.2.1: no data for the empty non-terminal y.w.example', () => {
  it('proves it with the matching NSEC3 that has no types', () => {
    expect(proveNodataNsec3('y.w.example.', RRType.A, rfc5155Nsec3('ji6n'), zone, budget())).toMatchObject({ status: 'secure' });
  });
});

describe('RFC 5155 Appendix B.3: referral to the opt-out unsigned zone c.example', () => {
  const proof = rfc5155Nsec3('35mt', '0p9m');

  it('proves c.example insecure: closest provable encloser example, next closer covered by Opt-Out (§8.9)', () => {
    expect(proveNoDsNsec3('c.example.', proof, zone, budget())).toMatchObject({
      status: 'insecure', value: { closestEncloser: 'example.', optOut: true, insecureBecause: 'opt-out' },
    });
  });

  it('answers the DS query for c.example the same way (§8.6)', () => {
    expect(proveNodataNsec3('c.example.', RRType.DS, proof, zone, budget())).toMatchObject({
      status: 'insecure', value: { optOut: true, insecureBecause: 'opt-out' },
    });
  });

  it('is bogus without Opt-Out on the covering NSEC3, and without either record', () => {
    expect(proveNoDsNsec3('c.example.', withoutOptOut(proof), zone, budget())).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/no Opt-Out/) });
    expect(proveNodataNsec3('c.example.', RRType.DS, withoutOptOut(proof), zone, budget())).toMatchObject({ status: 'bogus' });
    expectEachNeeded(proof, (subset) => proveNoDsNsec3('c.example.', subset, zone, budget()));
  });

  it('proves an insecure delegation with the matching NSEC3: NS, no DS, no SOA', () => {
    const unsigned = denialRecord('4g6p9u5gvfshp30pqecj98b3maqbn1ck.example. NSEC3 1 0 12 aabbccdd 4g6p9u5gvfshp30pqecj98b3maqbn1cl NS');
    expect(proveNoDsNsec3('c.example.', [unsigned], zone, budget())).toEqual({ status: 'secure', value: { closestEncloser: 'c.example.', optOut: false } });
  });

  it('is bogus when the NSEC3 at the name lists DS (a.example) or is the apex', () => {
    expect(proveNoDsNsec3('a.example.', rfc5155Nsec3('35mt'), zone, budget())).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/lists DS/) });
    expect(proveNoDsNsec3('example.', rfc5155Nsec3('0p9m'), zone, budget())).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/SOA/) });
    expect(proveNodataNsec3('example.', RRType.DS, rfc5155Nsec3('0p9m'), zone, budget())).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/child apex/) });
  });
});

describe('RFC 5155 Appendix B.4: wildcard expansion a.z.w.example MX from *.w.example', () => {
  const proof = rfc5155Nsec3('q04j');

  it('proves the next closer name z.w.example covered (§8.8); insecure through Opt-Out, secure without', () => {
    expect(proveWildcardAnswerNsec3('a.z.w.example.', 2, proof, zone, budget())).toMatchObject({
      status: 'insecure', value: { closestEncloser: 'w.example.', optOut: true },
    });
    expect(proveWildcardAnswerNsec3('a.z.w.example.', 2, withoutOptOut(proof), zone, budget())).toEqual({
      status: 'secure', value: { closestEncloser: 'w.example.', optOut: false },
    });
  });

  it('is bogus without the covering NSEC3 or with a Labels count that names no wildcard', () => {
    expect(proveWildcardAnswerNsec3('a.z.w.example.', 2, rfc5155Nsec3('0p9m'), zone, budget())).toMatchObject({ status: 'bogus', ede: Ede.NsecMissing });
    expect(proveWildcardAnswerNsec3('a.z.w.example.', 4, proof, zone, budget())).toMatchObject({ status: 'bogus' });
    expect(proveWildcardAnswerNsec3('a.z.w.example.', 0, proof, zone, budget())).toMatchObject({ status: 'bogus' });
  });
});

describe('RFC 5155 Appendix B.5: wildcard no data a.z.w.example AAAA', () => {
  const proof = rfc5155Nsec3('k8ud', 'q04j', 'r53b');

  it('proves closest encloser w.example and the matching *.w.example without AAAA or CNAME (§8.7)', () => {
    expect(proveNodataNsec3('a.z.w.example.', RRType.AAAA, proof, zone, budget())).toMatchObject({
      status: 'insecure', value: { closestEncloser: 'w.example.', optOut: true },
    });
    expect(proveNodataNsec3('a.z.w.example.', RRType.AAAA, withoutOptOut(proof), zone, budget())).toEqual({
      status: 'secure', value: { closestEncloser: 'w.example.', optOut: false },
    });
  });

  it('is bogus for MX, which the wildcard has, and without any one of the three records', () => {
    expect(proveNodataNsec3('a.z.w.example.', RRType.MX, proof, zone, budget())).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/\*\.w\.example\. lists type 15/) });
    expectEachNeeded(withoutOptOut(proof), (subset) => proveNodataNsec3('a.z.w.example.', RRType.AAAA, subset, zone, budget()));
  });
});

describe('closest encloser checks (§8.3, RFC 6840 §4.1)', () => {
  it('does not let a parent-side NSEC3 with DS be a closest encloser, nor a DNAME', () => {
    // a.example is a signed delegation (35mt: NS DS RRSIG); `cover` covers nearly every hash.
    const cover = denialRecord('00000000000000000000000000000000.example. NSEC3 1 0 12 aabbccdd vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv');
    const signed = proveNxdomainNsec3('x.a.example.', [...withoutOptOut(rfc5155Nsec3('35mt')), cover], zone, budget());
    expect(signed).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/signed delegation/) });
    const dname = denialRecord('b4um86eghhds6nea196smvmlo4ors995.example. NSEC3 1 0 12 aabbccdd gjeqe526plbf1g8mklp59enfd789njgi DNAME RRSIG');
    expect(proveNxdomainNsec3('a.x.w.example.', [dname, cover], zone, budget())).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/DNAME/) });
  });

  it('says insecure for a name below an insecure delegation, except for DS', () => {
    const unsigned = denialRecord('4g6p9u5gvfshp30pqecj98b3maqbn1ck.example. NSEC3 1 0 12 aabbccdd 4g6p9u5gvfshp30pqecj98b3maqbn1cl NS');
    expect(proveNodataNsec3('www.c.example.', RRType.A, [unsigned], zone, budget())).toMatchObject({
      status: 'insecure', value: { insecureBecause: 'insecure-delegation' },
    });
    expect(proveNodataNsec3('www.c.example.', RRType.DS, [unsigned], zone, budget())).toMatchObject({ status: 'bogus' });
    expect(proveNodataNsec3('c.example.', RRType.A, [unsigned], zone, budget())).toMatchObject({ status: 'insecure' });
  });

  it('is bogus when no NSEC3 matches any ancestor, or qname is outside the zone', () => {
    expect(proveNxdomainNsec3('a.c.x.w.example.', rfc5155Nsec3('35mt'), zone, budget())).toMatchObject({ status: 'bogus', ede: Ede.NsecMissing });
    expect(proveNxdomainNsec3('a.other.', rfc5155Nsec3('0p9m'), zone, budget())).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/not in zone/) });
  });
});

describe('NSEC3 sets a validator refuses (RFC 5155 §8.1, §8.2)', () => {
  it('ignores unknown hash algorithms: only such records leave the proof bogus', () => {
    const unknown = rfc5155Nsec3('2t7b').map((rr) => ({ ...rr, rdata: Uint8Array.from([7, ...rr.rdata.subarray(1)]) }));
    expect(proveNodataNsec3('ns1.example.', RRType.MX, unknown, zone, budget())).toMatchObject({
      status: 'bogus', ede: Ede.NsecMissing, reason: expect.stringMatching(/unknown hash algorithm 7/),
    });
  });

  it('is bogus for records with different parameters', () => {
    const other = denialRecord('2t7b4g4vsa5smi47k61mv5bv1a22bojr.example. NSEC3 1 1 11 aabbccdd 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG');
    expect(proveNodataNsec3('ns1.example.', RRType.MX, [...rfc5155Nsec3('0p9m'), other], zone, budget())).toMatchObject({
      status: 'bogus', reason: expect.stringMatching(/different hash parameters/),
    });
  });
});

describe('limits (RFC 9276 §3.2, CVE-2023-50868)', () => {
  const line = (iterations: number) =>
    `0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. NSEC3 1 0 ${iterations} - 2t7b4g4vsa5smi47k61mv5bv1a22bojr NS SOA`;

  it('treats 151 iterations as insecure, in every proof, without hashing anything', () => {
    const records = [denialRecord(line(151))];
    const shared = createHashBudget(5);
    for (const verdict of [
      proveNxdomainNsec3('nope.example.', records, zone, shared),
      proveNodataNsec3('example.', RRType.A, records, zone, shared),
      proveWildcardAnswerNsec3('a.b.example.', 1, records, zone, shared),
      proveNoDsNsec3('c.example.', records, zone, shared),
    ]) {
      expect(verdict).toMatchObject({ status: 'insecure', value: { insecureBecause: 'iterations' }, reason: expect.stringMatching(/151 iterations, above 150/) });
    }
    expect(shared.hashesLeft).toBe(5);
  });

  it('still validates 150 iterations', () => {
    expect(proveNodataNsec3('example.', RRType.A, [denialRecord(line(150))], zone, budget())).toMatchObject({ status: 'bogus' });
  });

  it('stops after N hashes: a budget of 3 ends the B.1 proof, which needs 4, at exactly 3', () => {
    const shared = createHashBudget(3);
    expect(proveNxdomainNsec3('a.c.x.w.example.', rfc5155Nsec3('0p9m', 'b4um', '35mt'), zone, shared)).toMatchObject({
      status: 'bogus', reason: expect.stringMatching(/hash budget/),
    });
    expect(shared.hashesLeft).toBe(0);
  });

  it('shares one budget across the proofs of an answer', () => {
    const shared = createHashBudget(5);
    expect(proveNodataNsec3('ns1.example.', RRType.MX, rfc5155Nsec3('2t7b'), zone, shared)).toMatchObject({ status: 'secure' });
    expect(shared.hashesLeft).toBe(4);
    expect(proveNxdomainNsec3('a.c.x.w.example.', rfc5155Nsec3('0p9m', 'b4um', '35mt'), zone, shared)).toMatchObject({ status: 'insecure' });
    expect(shared.hashesLeft).toBe(0);
    expect(proveNodataNsec3('y.w.example.', RRType.A, rfc5155Nsec3('ji6n'), zone, shared)).toMatchObject({ reason: expect.stringMatching(/hash budget/) });
  });
});
