import { describe, expect, it } from 'vitest';
import { WireFormatError } from '../core/errors.js';
import { RRType } from '../wire/index.js';
import { expectAppError } from '../../test/support/unit.js';
import { denialRecord, denialRecords } from './denial-vectors.js';
import { ancestorName, presentationLabels, wildcardOf } from './canonical-name.js';
import {
  nsecCovers, nsecMatches, parseNsecRdata, proveNoDsNsec, proveNodataNsec, proveNxdomainNsec, proveWildcardAnswerNsec,
} from './nsec.js';
import { Ede } from './verdict.js';

/** The NSEC chain of the example zone of RFC 4035 Appendix A (b.example is an unsigned delegation). */
const CHAIN = {
  apex: 'example. NSEC a.example. NS SOA MX RRSIG NSEC DNSKEY',
  a: 'a.example. NSEC ai.example. NS DS RRSIG NSEC',
  ai: 'ai.example. NSEC b.example. A HINFO AAAA RRSIG NSEC',
  b: 'b.example. NSEC ns1.example. NS RRSIG NSEC',
  ns1: 'ns1.example. NSEC ns2.example. A RRSIG NSEC',
  ns2: 'ns2.example. NSEC *.w.example. A RRSIG NSEC',
  wild: '*.w.example. NSEC x.w.example. MX RRSIG NSEC',
  xw: 'x.w.example. NSEC x.y.w.example. MX RRSIG NSEC',
  xyw: 'x.y.w.example. NSEC xx.example. MX RRSIG NSEC',
  xx: 'xx.example. NSEC example. A HINFO AAAA RRSIG NSEC',
} as const;

function nsecs(...keys: Array<keyof typeof CHAIN>) {
  return denialRecords(keys.map((key) => CHAIN[key]));
}

describe('NSEC RDATA (RFC 4034 §4.1)', () => {
  it('reads the next domain name and the type bit map', () => {
    const { rdata } = denialRecord(CHAIN.ai);
    const parsed = parseNsecRdata(rdata);
    expect(parsed.nextDomainName).toBe('b.example.');
    expect(parsed.typeBitmap.types).toEqual([RRType.A, RRType.HINFO, RRType.AAAA, RRType.RRSIG, RRType.NSEC]);
  });

  it('rejects a compressed or truncated next name and a bad bit map', () => {
    expectAppError(() => parseNsecRdata(Uint8Array.from([1, 0x61, 0xc0, 0])), WireFormatError, /NSEC Next Domain Name/);
    expectAppError(() => parseNsecRdata(Uint8Array.from([3, 0x61])), WireFormatError, /NSEC Next Domain Name/);
    expectAppError(() => parseNsecRdata(Uint8Array.from([0, 0, 0])), WireFormatError, /length 0/);
  });
});

describe('names', () => {
  it('splits presentation names on unescaped dots only', () => {
    expect(presentationLabels('a\\.b.c\\046d.example.')).toEqual(['a\\.b', 'c\\046d', 'example']);
    expect(presentationLabels('.')).toEqual([]);
    expect(ancestorName('x.y.w.example.', 2)).toBe('w.example.');
    expect(ancestorName('x.y.w.example.', 0)).toBe('.');
    expect(wildcardOf('w.example.')).toBe('*.w.example.');
    expect(wildcardOf('.')).toBe('*.');
  });
});

describe('covering and matching (RFC 4034 §6.1)', () => {
  it('covers names strictly between owner and next in canonical order', () => {
    expect(nsecCovers('b.example.', 'ns1.example.', 'ml.example.')).toBe(true);
    expect(nsecCovers('b.example.', 'ns1.example.', 'x.b.example.')).toBe(true);
    expect(nsecCovers('b.example.', 'ns1.example.', 'b.example.')).toBe(false);
    expect(nsecCovers('b.example.', 'ns1.example.', 'ns1.example.')).toBe(false);
    expect(nsecCovers('b.example.', 'ns1.example.', 'NS2.example.')).toBe(false);
    expect(nsecCovers('b.example.', 'ns1.example.', 'A.example.')).toBe(false);
  });

  it('wraps the last NSEC round to the apex, inside the zone only (RFC 4034 §4.1.1)', () => {
    expect(nsecCovers('xx.example.', 'example.', 'z.example.')).toBe(true);
    expect(nsecCovers('xx.example.', 'example.', 'a.xx.example.')).toBe(true);
    expect(nsecCovers('xx.example.', 'example.', 'zz.other.')).toBe(false);
    expect(nsecCovers('xx.example.', 'example.', 'example.')).toBe(false);
    expect(nsecCovers('xx.example.', 'example.', 'a.example.')).toBe(false);
  });

  it('lets the only NSEC of a zone cover every other name in it', () => {
    expect(nsecCovers('example.', 'example.', 'anything.example.')).toBe(true);
    expect(nsecCovers('example.', 'example.', 'example.')).toBe(false);
    expect(nsecCovers('example.', 'example.', 'example.org.')).toBe(false);
  });

  it('matches owner names case-insensitively', () => {
    expect(nsecMatches('NS1.Example.', 'ns1.example.')).toBe(true);
    expect(nsecMatches('ns1.example.', 'ns2.example.')).toBe(false);
  });
});

describe('NXDOMAIN (RFC 4035 §5.4)', () => {
  it('proves ml.example with the covering NSEC and the one denying *.example (RFC 4035 B.2)', () => {
    expect(proveNxdomainNsec('ml.example.', nsecs('b', 'apex'), 'example.')).toEqual({
      status: 'secure', value: { closestEncloser: 'example.', optOut: false },
    });
  });

  it('needs the wildcard denial too', () => {
    const verdict = proveNxdomainNsec('ml.example.', nsecs('b'), 'example.');
    expect(verdict).toMatchObject({ status: 'bogus', ede: Ede.NsecMissing });
    expect(verdict).toMatchObject({ reason: expect.stringMatching(/wildcard \*\.example\./) });
  });

  it('is bogus without an NSEC covering qname, or with one matching it', () => {
    expect(proveNxdomainNsec('ml.example.', nsecs('apex'), 'example.')).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/ml\.example/) });
    expect(proveNxdomainNsec('ns1.example.', nsecs('ns1', 'apex'), 'example.')).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/exists/) });
    expect(proveNxdomainNsec('ml.other.', nsecs('b', 'apex'), 'example.')).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/not in zone/) });
  });

  it('finds the closest encloser below the apex: *.w.example exists, so a.q.w.example is no NXDOMAIN', () => {
    const verdict = proveNxdomainNsec('a.q.w.example.', nsecs('wild', 'ns2'), 'example.');
    expect(verdict).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/wildcard \*\.w\.example\./) });
  });

  it('does not let an NSEC with NS and no SOA deny names below the cut (RFC 6840 §4.1)', () => {
    const verdict = proveNxdomainNsec('x.b.example.', nsecs('b', 'apex'), 'example.');
    expect(verdict).toMatchObject({ status: 'bogus', ede: Ede.NsecMissing });
  });

  it('does not let an NSEC with DNAME deny names below it (RFC 6840 §4.1)', () => {
    const dname = denialRecords(['d.example. NSEC e.example. DNAME RRSIG NSEC', CHAIN.apex]);
    expect(proveNxdomainNsec('x.d.example.', dname, 'example.')).toMatchObject({ status: 'bogus' });
  });

  it('does not take an empty non-terminal for a missing name', () => {
    // y.w.example has no NSEC of its own but x.y.w.example exists below it.
    expect(proveNxdomainNsec('y.w.example.', nsecs('xw', 'wild'), 'example.')).toMatchObject({ status: 'bogus' });
  });
});

describe('NODATA (RFC 4035 §5.4, RFC 6840 §4.3)', () => {
  it('proves ns1.example MX with the matching NSEC (RFC 4035 B.3)', () => {
    expect(proveNodataNsec('ns1.example.', RRType.MX, nsecs('ns1'))).toEqual({
      status: 'secure', value: { closestEncloser: 'ns1.example.', optOut: false },
    });
  });

  it('is bogus when the matching NSEC lists the type or a CNAME', () => {
    expect(proveNodataNsec('ns1.example.', RRType.A, nsecs('ns1'))).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/lists type 1/) });
    const cname = denialRecords(['c.example. NSEC d.example. CNAME RRSIG NSEC']);
    expect(proveNodataNsec('c.example.', RRType.A, cname)).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/CNAME/) });
  });

  it('proves an empty non-terminal from the NSEC before it whose next name is below it', () => {
    expect(proveNodataNsec('y.w.example.', RRType.A, nsecs('xw'))).toMatchObject({ status: 'secure' });
  });

  it('proves a wildcard NODATA: qname absent and *.w.example without the type (RFC 4035 B.7)', () => {
    expect(proveNodataNsec('a.z.w.example.', RRType.AAAA, nsecs('xyw', 'wild'))).toEqual({
      status: 'secure', value: { closestEncloser: 'w.example.', optOut: false },
    });
    expect(proveNodataNsec('a.z.w.example.', RRType.MX, nsecs('xyw', 'wild'))).toMatchObject({ status: 'bogus' });
    expect(proveNodataNsec('a.z.w.example.', RRType.AAAA, nsecs('xyw'))).toMatchObject({ status: 'bogus', ede: Ede.NsecMissing });
    expect(proveNodataNsec('a.z.w.example.', RRType.AAAA, nsecs('wild'))).toMatchObject({ status: 'bogus', ede: Ede.NsecMissing });
  });

  it('does not let the parent-side NSEC deny types at the cut: insecure if unsigned, bogus if signed (RFC 6840 §4.1)', () => {
    expect(proveNodataNsec('b.example.', RRType.A, nsecs('b'))).toMatchObject({
      status: 'insecure', value: { insecureBecause: 'insecure-delegation' },
    });
    expect(proveNodataNsec('a.example.', RRType.A, nsecs('a'))).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/signed delegation/) });
  });

  it('denies DS with the parent-side NSEC but not with the child apex one (RFC 4035 §5.2)', () => {
    expect(proveNodataNsec('b.example.', RRType.DS, nsecs('b'))).toMatchObject({ status: 'secure' });
    expect(proveNodataNsec('example.', RRType.DS, nsecs('apex'))).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/child apex/) });
    expect(proveNodataNsec('a.example.', RRType.DS, nsecs('a'))).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/lists type 43/) });
  });
});

describe('wildcard answers (RFC 4035 §5.3.4)', () => {
  it('proves a.z.w.example was synthesised from *.w.example (RRSIG Labels 2, RFC 4035 B.6)', () => {
    expect(proveWildcardAnswerNsec('a.z.w.example.', 2, nsecs('xyw'))).toEqual({
      status: 'secure', value: { closestEncloser: 'w.example.', optOut: false },
    });
  });

  it('is bogus when the next closer name is not denied, or for a Labels count that is no expansion', () => {
    expect(proveWildcardAnswerNsec('a.z.w.example.', 2, nsecs('ns2'))).toMatchObject({ status: 'bogus', ede: Ede.NsecMissing });
    // Labels 1 claims *.example.; but w.example exists (x.w.example is below it), so z.w.example is no next closer.
    expect(proveWildcardAnswerNsec('a.z.w.example.', 1, nsecs('xyw'))).toMatchObject({ status: 'bogus' });
    expect(proveWildcardAnswerNsec('a.z.w.example.', 4, nsecs('xyw'))).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/no wildcard/) });
  });
});

describe('insecure delegations (RFC 4035 §5.2, RFC 6840 §4.4)', () => {
  it('proves b.example unsigned with the parent NSEC: NS, no DS, no SOA (RFC 4035 B.5)', () => {
    expect(proveNoDsNsec('b.example.', nsecs('b'))).toEqual({ status: 'secure', value: { closestEncloser: 'b.example.', optOut: false } });
  });

  it('is bogus for DS present, the child apex NSEC, no NS, or no matching NSEC', () => {
    expect(proveNoDsNsec('a.example.', nsecs('a'))).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/lists DS/) });
    expect(proveNoDsNsec('example.', nsecs('apex'))).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/SOA/) });
    expect(proveNoDsNsec('ns1.example.', nsecs('ns1'))).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/no NS/) });
    expect(proveNoDsNsec('b.example.', nsecs('ai'))).toMatchObject({ status: 'bogus', ede: Ede.NsecMissing });
  });
});
