import { describe, expect, it } from 'vitest';
import { expectAppError, nameWire, rr, u32 } from '../../test/support/unit.js';
import { WireFormatError } from '../core/errors.js';
import { RRType } from '../wire/index.js';
import { canonicalRdata, canonicalRrsetRdata, signedData, signedOwnerWire } from './canonical-rrset.js';

const bytes = (values: number[]): Uint8Array => Uint8Array.from(values);
const text = (values: Uint8Array): string => Buffer.from(values).toString('latin1');
const cs = (s: string): number[] => [s.length, ...Buffer.from(s, 'latin1')];

describe('canonicalRdata (RFC 4034 §6.2 item 3, RFC 6840 §5.1, RFC 3597 §7)', () => {
  it('lowercases the exchange of an MX and keeps its preference', () => {
    const out = canonicalRdata(RRType.MX, bytes([0, 10, ...nameWire('Mail.EXAMPLE.com.')]));
    expect([...out]).toEqual([0, 10, ...nameWire('mail.example.com.')]);
  });

  it('lowercases both SOA names and leaves the five counters alone', () => {
    const counters = [...u32(0x41424344), ...u32(2), ...u32(3), ...u32(4), ...u32(0x5a5a5a5a)];
    const out = canonicalRdata(RRType.SOA, bytes([...nameWire('NS.Example.'), ...nameWire('Host\\.Master.Example.'), ...counters]));
    expect([...out]).toEqual([...nameWire('ns.example.'), ...nameWire('host\\.master.example.'), ...counters]);
  });

  it('lowercases the target of SRV and the replacement of NAPTR but not NAPTR strings', () => {
    expect([...canonicalRdata(RRType.SRV, bytes([0, 1, 0, 2, 0, 3, ...nameWire('Target.Example.')]))])
      .toEqual([0, 1, 0, 2, 0, 3, ...nameWire('target.example.')]);
    const naptr = [0, 100, 0, 10, ...cs('U'), ...cs('E2U+SIP'), ...cs('!^.*$!sip:X@Example!'), ...nameWire('Repl.Example.')];
    const expected = [0, 100, 0, 10, ...cs('U'), ...cs('E2U+SIP'), ...cs('!^.*$!sip:X@Example!'), ...nameWire('repl.example.')];
    expect([...canonicalRdata(35, bytes(naptr))]).toEqual(expected);
  });

  it('lowercases the Signer\'s Name of an RRSIG and leaves the signature bytes as they are (RFC 6840 §5.1)', () => {
    const fixed = [0, 1, 13, 2, ...u32(60), ...u32(2), ...u32(1), 0, 7];
    const out = canonicalRdata(RRType.RRSIG, bytes([...fixed, ...nameWire('EXAMPLE.'), 0x41, 0x5a]));
    expect([...out]).toEqual([...fixed, ...nameWire('example.'), 0x41, 0x5a]);
  });

  it('lowercases the prefix name of an A6 after its variable-length suffix (RFC 2874 §3.1)', () => {
    const out = canonicalRdata(38, bytes([64, 1, 2, 3, 4, 5, 6, 7, 0x41, ...nameWire('Prefix.Example.')]));
    expect([...out]).toEqual([64, 1, 2, 3, 4, 5, 6, 7, 0x41, ...nameWire('prefix.example.')]);
    expect([...canonicalRdata(38, bytes([0, ...new Array<number>(16).fill(0x41)]))]).toEqual([0, ...new Array<number>(16).fill(0x41)]);
  });

  it('keeps the case of the NSEC Next Domain Name (RFC 6840 §5.1)', () => {
    const rdata = bytes([...nameWire('Next.Example.'), 0, 1, 0x40]);
    expect(canonicalRdata(RRType.NSEC, rdata)).toEqual(rdata);
  });

  it('keeps TXT, HINFO, unknown types and later name-bearing types byte for byte (RFC 3597 §7)', () => {
    const upper = bytes([...cs('ABC'), ...cs('Def')]);
    expect(canonicalRdata(RRType.TXT, upper)).toBe(upper);
    expect(canonicalRdata(RRType.HINFO, upper)).toBe(upper);
    expect(canonicalRdata(65280, upper)).toBe(upper);
    const ipseckey = bytes([10, 3, 2, ...nameWire('GW.Example.'), 1, 2, 3]);
    expect(canonicalRdata(RRType.IPSECKEY, ipseckey)).toBe(ipseckey);
  });

  it('throws ERR_WIRE_FORMAT when RDATA does not fit its layout', () => {
    expectAppError(() => canonicalRdata(RRType.MX, bytes([0, 10, 4, 0x4d])), WireFormatError, /runs past the RDATA/);
    expectAppError(() => canonicalRdata(RRType.CNAME, bytes([...nameWire('a.'), 9])), WireFormatError, /1 bytes beyond its fields/);
    expectAppError(() => canonicalRdata(RRType.NS, bytes([0xc0, 12])), WireFormatError, /compressed/);
    expectAppError(() => canonicalRdata(RRType.SOA, bytes([...nameWire('a.'), ...nameWire('b.'), 1, 2])), WireFormatError, /shorter than its fields/);
    expectAppError(() => canonicalRdata(38, bytes([129])), WireFormatError, /prefix length/);
  });
});

describe('canonicalRrsetRdata (RFC 4034 §6.3)', () => {
  it('sorts RDATA as unsigned octet strings, a missing octet before a zero octet', () => {
    const set = [[1, 0], [1], [0, 255], [1, 0, 0]].map((d) => rr('x.example.', 65280, 60, d));
    expect(canonicalRrsetRdata(set).map((d) => [...d])).toEqual([[0, 255], [1], [1, 0], [1, 0, 0]]);
  });

  it('sorts by the canonical (lowercased) form and keeps one of RRs that differ only in case', () => {
    const set = [
      rr('example.', RRType.NS, 60, nameWire('b.example.')),
      rr('example.', RRType.NS, 60, nameWire('A.example.')),
      rr('example.', RRType.NS, 60, nameWire('a.EXAMPLE.')),
    ];
    expect(canonicalRrsetRdata(set).map(text)).toEqual([text(bytes(nameWire('a.example.'))), text(bytes(nameWire('b.example.')))]);
  });
});

describe('signedOwnerWire (RFC 4034 §3.1.8.1)', () => {
  it('is the lowercased owner when Labels equals the owner\'s label count', () => {
    expect([...signedOwnerWire('WWW.Example.COM.', 3)]).toEqual(nameWire('www.example.com.'));
  });

  it('is "*." and the rightmost Labels labels for a wildcard expansion', () => {
    expect([...signedOwnerWire('a.B.wild.Example.', 2)]).toEqual(nameWire('*.wild.example.'));
    expect([...signedOwnerWire('x.example.', 0)]).toEqual(nameWire('*.'));
  });

  it('keeps a literal wildcard owner, whose * the Labels field does not count (RFC 4034 §3.1.3)', () => {
    expect([...signedOwnerWire('*.Example.', 1)]).toEqual(nameWire('*.example.'));
  });
});

describe('signedData (RFC 4034 §3.1.8.1)', () => {
  const fixed = [0, RRType.A, 13, 2, ...u32(3600), ...u32(2000), ...u32(1000), 0x12, 0x34];
  const rrsig = rr('WWW.example.', RRType.RRSIG, 300, [...fixed, ...nameWire('EXAMPLE.'), 9, 9, 9]);

  it('is the RRSIG RDATA without signature, then each RR with the Original TTL, in canonical order', () => {
    const set = [rr('WWW.example.', RRType.A, 300, [192, 0, 2, 2]), rr('www.example.', RRType.A, 299, [192, 0, 2, 1])];
    const rrHead = [...nameWire('www.example.'), 0, 1, 0, 1, ...u32(3600), 0, 4];
    expect([...signedData(rrsig, set)]).toEqual([
      ...fixed, ...nameWire('example.'),
      ...rrHead, 192, 0, 2, 1,
      ...rrHead, 192, 0, 2, 2,
    ]);
  });

  it('throws when there is no RR to sign', () => {
    expectAppError(() => signedData(rrsig, []), WireFormatError, /no records/);
  });
});
