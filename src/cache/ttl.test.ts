import { describe, expect, it } from 'vitest';
import type { CacheConfig } from '../config/index.js';
import { Rcode, RRClass, RRType, type Message, type Question, type ResourceRecord } from '../wire/index.js';
import { nameWire, rr, soaRecord } from '../../test/support/unit.js';
import { cacheTtlSeconds, classifyAnswer } from './ttl.js';

const limits: CacheConfig = {
  maxEntries: 1000, maxBytes: 1 << 20, maxTtlSeconds: 86_400, minTtlSeconds: 0, negativeMaxTtlSeconds: 3600,
};




const a = (name: string, ttl: number): ResourceRecord => rr(name, RRType.A, ttl, [192, 0, 2, 1]);
const cname = (name: string, target: string, ttl: number): ResourceRecord => rr(name, RRType.CNAME, ttl, nameWire(target));
const soa = (ttl: number, minimumSeconds: number): ResourceRecord => soaRecord(ttl, minimumSeconds);

const q: Question = { name: 'www.example.com.', type: RRType.A, class: RRClass.IN };

function answer(partial: Partial<Message>): Message {
  return {
    id: 1, qr: true, opcode: 0, aa: false, tc: false, rd: true, ra: true, ad: false, cd: false, rcode: Rcode.NoError,
    questions: [q], answers: [], authorities: [], additionals: [], edns: undefined,
    ...partial,
  };
}

describe('classifyAnswer (RFC 2308 §1, §2)', () => {
  it('calls an answer with the asked type positive', () => {
    expect(classifyAnswer(answer({ answers: [a('www.example.com.', 300)] }), q)).toBe('positive');
  });

  it('matches the owner case-insensitively', () => {
    expect(classifyAnswer(answer({ answers: [a('WWW.Example.COM.', 300)] }), q)).toBe('positive');
  });

  it('follows a CNAME chain to the data (positive)', () => {
    const m = answer({ answers: [cname('www.example.com.', 'web.example.net.', 300), a('web.example.net.', 60)] });
    expect(classifyAnswer(m, q)).toBe('positive');
  });

  it('calls a CNAME chain that ends without data of the asked type NODATA (RFC 2308 §2.2)', () => {
    const m = answer({
      answers: [cname('www.example.com.', 'web.example.net.', 300), cname('web.example.net.', 'end.example.org.', 300)],
      authorities: [soa(300, 60)],
    });
    expect(classifyAnswer(m, q)).toBe('nodata');
  });

  it('calls a CNAME answer to a CNAME question positive', () => {
    const cq: Question = { ...q, type: RRType.CNAME };
    expect(classifyAnswer(answer({ answers: [cname('www.example.com.', 'web.example.net.', 300)] }), cq)).toBe('positive');
  });

  it('calls NOERROR with an empty answer section NODATA (RFC 2308 §2.2)', () => {
    expect(classifyAnswer(answer({ authorities: [soa(300, 60)] }), q)).toBe('nodata');
  });

  it('calls NXDOMAIN nxdomain, with or without a CNAME chain (RFC 2308 §2.1)', () => {
    expect(classifyAnswer(answer({ rcode: Rcode.NXDomain }), q)).toBe('nxdomain');
    const chained = answer({ rcode: Rcode.NXDomain, answers: [cname('www.example.com.', 'gone.example.net.', 300)] });
    expect(classifyAnswer(chained, q)).toBe('nxdomain');
  });

  it('calls SERVFAIL, REFUSED, FORMERR and NOTIMP uncacheable', () => {
    for (const rcode of [Rcode.ServFail, Rcode.Refused, Rcode.FormErr, Rcode.NotImp]) {
      expect(classifyAnswer(answer({ rcode, answers: [a('www.example.com.', 300)] }), q)).toBe('uncacheable');
    }
  });

  it('calls a truncated answer uncacheable', () => {
    expect(classifyAnswer(answer({ tc: true, answers: [a('www.example.com.', 300)] }), q)).toBe('uncacheable');
  });
});

describe('cacheTtlSeconds: positive answers (RFC 1035 §3.2.1, RFC 2181 §5.2)', () => {
  it('uses the smallest TTL in the message', () => {
    const m = answer({
      answers: [cname('www.example.com.', 'web.example.net.', 300), a('web.example.net.', 120)],
      authorities: [rr('example.net.', RRType.NS, 90, nameWire('ns.example.net.'))],
      additionals: [a('ns.example.net.', 600)],
    });
    expect(cacheTtlSeconds(m, q, limits)).toBe(90);
  });

  it('does not cache a TTL of 0', () => {
    expect(cacheTtlSeconds(answer({ answers: [a('www.example.com.', 0)] }), q, limits)).toBe(0);
  });

  it('raises a small TTL to cache-min-ttl and caps a large one at cache-max-ttl', () => {
    expect(cacheTtlSeconds(answer({ answers: [a('www.example.com.', 5)] }), q, { ...limits, minTtlSeconds: 30 })).toBe(30);
    expect(cacheTtlSeconds(answer({ answers: [a('www.example.com.', 100_000)] }), q, limits)).toBe(86_400);
  });

  it('treats a TTL with the most significant bit set as zero (RFC 2181 §8)', () => {
    expect(cacheTtlSeconds(answer({ answers: [a('www.example.com.', 0x80000000)] }), q, limits)).toBe(0);
  });

  it('does not cache SERVFAIL, REFUSED or a truncated answer', () => {
    expect(cacheTtlSeconds(answer({ rcode: Rcode.ServFail }), q, limits)).toBe(0);
    expect(cacheTtlSeconds(answer({ rcode: Rcode.Refused, authorities: [soa(300, 300)] }), q, limits)).toBe(0);
    expect(cacheTtlSeconds(answer({ tc: true, answers: [a('www.example.com.', 300)] }), q, limits)).toBe(0);
  });
});

describe('cacheTtlSeconds: negative answers (RFC 2308 §5)', () => {
  it('caches NXDOMAIN for the SOA MINIMUM when it is below the SOA TTL', () => {
    expect(cacheTtlSeconds(answer({ rcode: Rcode.NXDomain, authorities: [soa(3600, 300)] }), q, limits)).toBe(300);
  });

  it('caches NXDOMAIN for the SOA TTL when it is below the MINIMUM', () => {
    expect(cacheTtlSeconds(answer({ rcode: Rcode.NXDomain, authorities: [soa(120, 900)] }), q, limits)).toBe(120);
  });

  it('caches NODATA for min(SOA TTL, SOA MINIMUM)', () => {
    expect(cacheTtlSeconds(answer({ authorities: [soa(600, 450)] }), q, limits)).toBe(450);
    expect(cacheTtlSeconds(answer({ authorities: [soa(200, 450)] }), q, limits)).toBe(200);
  });

  it('caps negative TTLs at negative-max-ttl', () => {
    const m = answer({ rcode: Rcode.NXDomain, authorities: [soa(86_400, 86_400)] });
    expect(cacheTtlSeconds(m, q, limits)).toBe(3600);
    expect(cacheTtlSeconds(m, q, { ...limits, negativeMaxTtlSeconds: 600 })).toBe(600);
    expect(cacheTtlSeconds(m, q, { ...limits, negativeMaxTtlSeconds: 0 })).toBe(0);
  });

  it('does not raise a negative TTL to cache-min-ttl', () => {
    const m = answer({ rcode: Rcode.NXDomain, authorities: [soa(60, 60)] });
    expect(cacheTtlSeconds(m, q, { ...limits, minTtlSeconds: 300 })).toBe(60);
  });

  it('does not cache NXDOMAIN or NODATA without an SOA ("SHOULD NOT be cached")', () => {
    expect(cacheTtlSeconds(answer({ rcode: Rcode.NXDomain }), q, limits)).toBe(0);
    const referral = answer({ authorities: [rr('example.com.', RRType.NS, 3600, nameWire('ns1.example.com.'))] });
    expect(cacheTtlSeconds(referral, q, limits)).toBe(0);
  });

  it('does not cache a negative answer whose SOA says 0', () => {
    expect(cacheTtlSeconds(answer({ rcode: Rcode.NXDomain, authorities: [soa(0, 300)] }), q, limits)).toBe(0);
    expect(cacheTtlSeconds(answer({ authorities: [soa(300, 0)] }), q, limits)).toBe(0);
  });

  it('does not cache a negative answer with an undecodable SOA', () => {
    const broken = rr('example.com.', RRType.SOA, 300, [1, 0x61]);
    expect(cacheTtlSeconds(answer({ rcode: Rcode.NXDomain, authorities: [broken] }), q, limits)).toBe(0);
  });

  it('caches a CNAME chain ending in NODATA no longer than the chain or the SOA allows', () => {
    const m = answer({ answers: [cname('www.example.com.', 'web.example.net.', 40)], authorities: [soa(300, 300)] });
    expect(classifyAnswer(m, q)).toBe('nodata');
    expect(cacheTtlSeconds(m, q, limits)).toBe(40);
  });
});
