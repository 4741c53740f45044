import { describe, expect, it } from 'vitest';
import type { CacheConfig } from '../config/index.js';
import { decodeSoa, Rcode, RRClass, RRType, type Message, type Question, type ResourceRecord } from '../wire/index.js';
import { nameWire, rr, soaRecord } from '../../test/support/unit.js';
import { cacheKey, MessageCache } from './message-cache.js';

/** A fixed instant; the cache never reads the clock. */
const T0 = 1_700_000_000_000;

const limits: CacheConfig = {
  maxEntries: 1000, maxBytes: 64 << 20, maxTtlSeconds: 86_400, minTtlSeconds: 0, negativeMaxTtlSeconds: 3600,
};




const soa = (ttl: number, minimumSeconds: number): ResourceRecord => soaRecord(ttl, minimumSeconds);

function question(name: string, type: number = RRType.A): Question {
  return { name, type, class: RRClass.IN };
}

function positive(q: Question, ttl = 300, extra: Partial<Message> = {}): Message {
  return {
    id: 7, qr: true, opcode: 0, aa: false, tc: false, rd: true, ra: true, ad: false, cd: false, rcode: Rcode.NoError,
    questions: [q], answers: [rr(q.name, q.type, ttl, [192, 0, 2, 1])], authorities: [], additionals: [], edns: undefined,
    ...extra,
  };
}

const www = question('www.example.com.');

/** What a client would be served from the cache at `nowMs`, or undefined on a miss. */
function read(cache: MessageCache, q: Question, cd: boolean, nowMs: number): Message | undefined {
  return cache.get(q, cd, nowMs)?.agedMessage(nowMs);
}

describe('MessageCache: storing and reading', () => {
  it('returns a stored answer and reports the TTL it will live (min TTL)', () => {
    const cache = new MessageCache(limits);
    const m = positive(www, 300, { additionals: [rr('ns.example.com.', RRType.A, 120, [192, 0, 2, 53])] });
    expect(cache.put(www, false, m, T0)).toBe(120);
    const hit = read(cache, www, false, T0);
    expect(hit?.answers).toEqual(m.answers);
    expect(cache.stats()).toMatchObject({ entries: 1, hits: 1, misses: 0 });
  });

  it('misses for a question never stored', () => {
    const cache = new MessageCache(limits);
    expect(read(cache, www, false, T0)).toBeUndefined();
    expect(cache.stats().misses).toBe(1);
  });

  it('does not keep the upstream OPT record', () => {
    const cache = new MessageCache(limits);
    cache.put(www, false, positive(www, 300, { edns: { udpPayloadSize: 4096, version: 0, dnssecOk: true, options: [] } }), T0);
    expect(read(cache, www, false, T0)?.edns).toBeUndefined();
  });

  it('looks names up case-insensitively (RFC 4343 §3)', () => {
    const cache = new MessageCache(limits);
    cache.put(question('WWW.Example.COM.'), false, positive(question('WWW.Example.COM.')), T0);
    expect(read(cache, www, false, T0)).toBeDefined();
    expect(cacheKey(question('WWW.Example.COM.'), false)).toBe(cacheKey(www, false));
  });

  it('keeps answers for different types and classes apart', () => {
    const cache = new MessageCache(limits);
    cache.put(www, false, positive(www), T0);
    expect(read(cache, question('www.example.com.', RRType.AAAA), false, T0)).toBeUndefined();
    expect(read(cache, { ...www, class: RRClass.CH }, false, T0)).toBeUndefined();
  });

  it('keeps answers for CD=1 and CD=0 apart (a CD=0 client must get only validated data, RFC 4035 §3.2.2)', () => {
    const cache = new MessageCache(limits);
    cache.put(www, true, positive(www), T0);
    expect(read(cache, www, false, T0)).toBeUndefined();
    expect(read(cache, www, true, T0)).toBeDefined();
    expect(cacheKey(www, true)).not.toBe(cacheKey(www, false));
  });

  it('replaces an earlier answer for the same question', () => {
    const cache = new MessageCache(limits);
    cache.put(www, false, positive(www, 300), T0);
    cache.put(www, false, positive(www, 60), T0 + 1000);
    expect(read(cache, www, false, T0 + 1000)?.answers[0]?.ttl).toBe(60);
    expect(cache.stats().entries).toBe(1);
  });
});

describe('MessageCache: what is not cached', () => {
  it('does not store SERVFAIL, REFUSED or a truncated answer', () => {
    const cache = new MessageCache(limits);
    expect(cache.put(www, false, positive(www, 300, { rcode: Rcode.ServFail }), T0)).toBe(0);
    expect(cache.put(www, false, positive(www, 300, { rcode: Rcode.Refused }), T0)).toBe(0);
    expect(cache.put(www, false, positive(www, 300, { tc: true }), T0)).toBe(0);
    expect(read(cache, www, false, T0)).toBeUndefined();
    expect(cache.stats().entries).toBe(0);
  });

  it('does not store an answer with TTL 0', () => {
    const cache = new MessageCache(limits);
    expect(cache.put(www, false, positive(www, 0), T0)).toBe(0);
    expect(read(cache, www, false, T0)).toBeUndefined();
  });

  it('does not store a negative answer without an SOA (RFC 2308 §5)', () => {
    const cache = new MessageCache(limits);
    expect(cache.put(www, false, positive(www, 300, { rcode: Rcode.NXDomain, answers: [] }), T0)).toBe(0);
    expect(cache.put(www, false, positive(www, 300, { answers: [] }), T0)).toBe(0);
    expect(cache.stats().entries).toBe(0);
  });
});

describe('MessageCache: negative answers (RFC 2308 §5)', () => {
  it('stores NXDOMAIN for min(SOA TTL, SOA MINIMUM)', () => {
    const cache = new MessageCache(limits);
    const nx = positive(www, 300, { rcode: Rcode.NXDomain, answers: [], authorities: [soa(3600, 300)] });
    expect(cache.put(www, false, nx, T0)).toBe(300);
    expect(read(cache, www, false, T0 + 299_999)?.rcode).toBe(Rcode.NXDomain);
    expect(read(cache, www, false, T0 + 300_000)).toBeUndefined();
  });

  it('stores NODATA for min(SOA TTL, SOA MINIMUM), capped by negative-max-ttl', () => {
    const cache = new MessageCache({ ...limits, negativeMaxTtlSeconds: 600 });
    const nodata = positive(www, 300, { answers: [], authorities: [soa(7200, 7200)] });
    expect(cache.put(www, false, nodata, T0)).toBe(600);
    expect(read(cache, www, false, T0 + 599_000)).toBeDefined();
    expect(read(cache, www, false, T0 + 600_000)).toBeUndefined();
  });

  it('stores a CNAME chain that ends in NODATA as a negative answer', () => {
    const cache = new MessageCache(limits);
    const m = positive(www, 300, {
      answers: [rr('www.example.com.', RRType.CNAME, 3600, nameWire('web.example.com.'))],
      authorities: [soa(3600, 120)],
    });
    expect(cache.put(www, false, m, T0)).toBe(120);
  });

  it('serves the SOA of a cached negative answer with the remaining negative TTL ("This TTL decrements")', () => {
    // RFC 2308 §5: the negative TTL is carried by the SOA; it "decrements in a similar manner to a
    // normal cached answer and upon reaching zero (0) signals the cached negative answer MUST NOT
    // be used again". A downstream cache must not learn a longer lifetime than this one uses.
    const cache = new MessageCache({ ...limits, negativeMaxTtlSeconds: 600 });
    const nx = positive(www, 300, { rcode: Rcode.NXDomain, answers: [], authorities: [soa(3600, 3600)] });
    expect(cache.put(www, false, nx, T0)).toBe(600);
    const later = read(cache, www, false, T0 + 100_000);
    const servedSoa = later?.authorities.find((r) => r.type === RRType.SOA);
    expect(servedSoa).toBeDefined();
    // The SOA RDATA (MINIMUM 3600) cannot change without breaking its RRSIG, so the TTL carries it.
    expect(decodeSoa(servedSoa!).minimumSeconds).toBe(3600);
    expect(servedSoa!.ttl).toBe(500);
  });
});

describe('MessageCache: time (TTLs count down from the store, RFC 1035 §3.2.1)', () => {
  it('reduces TTLs by whole elapsed seconds, rounding down', () => {
    const cache = new MessageCache(limits);
    const m = positive(www, 300, { authorities: [rr('example.com.', RRType.NS, 3600, nameWire('ns1.example.com.'))] });
    cache.put(www, false, m, T0);
    expect(read(cache, www, false, T0 + 999)?.answers[0]?.ttl).toBe(300);
    expect(read(cache, www, false, T0 + 1000)?.answers[0]?.ttl).toBe(299);
    const later = read(cache, www, false, T0 + 10_999);
    expect(later?.answers[0]?.ttl).toBe(290);
    expect(later?.authorities[0]?.ttl).toBe(3590);
  });

  it('expires an entry exactly when its TTL runs out', () => {
    const cache = new MessageCache(limits);
    cache.put(www, false, positive(www, 60), T0);
    expect(read(cache, www, false, T0 + 59_999)?.answers[0]?.ttl).toBe(1);
    expect(read(cache, www, false, T0 + 60_000)).toBeUndefined();
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0 });
  });

  it('caps stored TTLs at cache-max-ttl', () => {
    const cache = new MessageCache({ ...limits, maxTtlSeconds: 3600 });
    expect(cache.put(www, false, positive(www, 100_000), T0)).toBe(3600);
    expect(read(cache, www, false, T0)?.answers[0]?.ttl).toBe(3600);
    expect(read(cache, www, false, T0 + 3_600_000)).toBeUndefined();
  });

  it('keeps validated data no longer than its RRSIGs are valid (RFC 4035 §5.3.3)', () => {
    const cache = new MessageCache(limits);
    const security = { status: 'secure', validUntilEpoch: T0 / 1000 + 42 } as const;
    expect(cache.putByKey(cacheKey(www, false), www, positive(www, 300), T0, security)).toBe(42);
    expect(cache.get(www, false, T0)?.security).toEqual(security);
    expect(read(cache, www, false, T0 + 42_000)).toBeUndefined();
  });

  it('remembers a failed validation as a SERVFAIL for the given time', () => {
    const cache = new MessageCache(limits);
    cache.putFailure(cacheKey(www, false), www, { status: 'bogus', ede: 7, reason: 'RRSIG expired' }, T0, 60);
    expect(read(cache, www, false, T0 + 59_999)?.rcode).toBe(Rcode.ServFail);
    expect(cache.get(www, false, T0)?.security).toMatchObject({ status: 'bogus', ede: 7 });
    expect(read(cache, www, false, T0 + 60_000)).toBeUndefined();
  });

  it('does not change the message it was given', () => {
    const cache = new MessageCache(limits);
    const m = positive(www, 300);
    cache.put(www, false, m, T0);
    read(cache, www, false, T0 + 5000);
    expect(m.answers[0]?.ttl).toBe(300);
  });
});

describe('MessageCache: bounds and eviction (least recently used first)', () => {
  const names = ['a.example.', 'b.example.', 'c.example.', 'd.example.'].map((n) => question(n));

  it('evicts the least recently stored entry beyond cache-max-entries', () => {
    const cache = new MessageCache({ ...limits, maxEntries: 2 });
    for (const [i, q] of names.slice(0, 3).entries()) cache.put(q, false, positive(q), T0 + i);
    expect(read(cache, names[0]!, false, T0 + 10)).toBeUndefined();
    expect(read(cache, names[1]!, false, T0 + 10)).toBeDefined();
    expect(read(cache, names[2]!, false, T0 + 10)).toBeDefined();
    expect(cache.stats()).toMatchObject({ entries: 2, evictions: 1 });
  });

  it('keeps a recently read entry and evicts the one read least recently (LRU to the second)', () => {
    const cache = new MessageCache({ ...limits, maxEntries: 2 });
    cache.put(names[0]!, false, positive(names[0]!), T0);
    cache.put(names[1]!, false, positive(names[1]!), T0);
    expect(read(cache, names[0]!, false, T0 + 1000)).toBeDefined();
    cache.put(names[2]!, false, positive(names[2]!), T0 + 1001);
    expect(read(cache, names[0]!, false, T0 + 1002)).toBeDefined();
    expect(read(cache, names[1]!, false, T0 + 1002)).toBeUndefined();
    expect(read(cache, names[2]!, false, T0 + 1002)).toBeDefined();
  });

  it('does not reorder an entry read again within a second of its last move', () => {
    const cache = new MessageCache({ ...limits, maxEntries: 2 });
    cache.put(names[0]!, false, positive(names[0]!), T0);
    cache.put(names[1]!, false, positive(names[1]!), T0);
    expect(read(cache, names[0]!, false, T0 + 999)).toBeDefined();
    cache.put(names[2]!, false, positive(names[2]!), T0 + 999);
    expect(read(cache, names[0]!, false, T0 + 999)).toBeUndefined();
  });

  it('evicts by estimated bytes beyond cache-max-mb', () => {
    const probe = new MessageCache(limits);
    probe.put(names[0]!, false, positive(names[0]!), T0);
    const oneEntry = probe.stats().bytes;
    expect(oneEntry).toBeGreaterThan(0);
    // Same-sized entries (equal name lengths): room for two, not three.
    const cache = new MessageCache({ ...limits, maxBytes: oneEntry * 2 + oneEntry / 2 });
    for (const q of names.slice(0, 3)) cache.put(q, false, positive(q), T0);
    expect(cache.stats()).toMatchObject({ entries: 2, bytes: oneEntry * 2, evictions: 1 });
    expect(read(cache, names[0]!, false, T0)).toBeUndefined();
    expect(read(cache, names[2]!, false, T0)).toBeDefined();
  });

  it('evicts at once when reconfigured with smaller limits, keeping the most recent', () => {
    const cache = new MessageCache(limits);
    for (const q of names) cache.put(q, false, positive(q), T0);
    read(cache, names[0]!, false, T0 + 1000);
    cache.reconfigure({ ...limits, maxEntries: 2 });
    expect(cache.stats()).toMatchObject({ entries: 2, evictions: 2 });
    expect(read(cache, names[0]!, false, T0 + 1000)).toBeDefined();
    expect(read(cache, names[3]!, false, T0 + 1000)).toBeDefined();
    expect(read(cache, names[1]!, false, T0 + 1000)).toBeUndefined();
  });

  it('accounts bytes back to zero when entries leave', () => {
    const cache = new MessageCache(limits);
    cache.put(www, false, positive(www, 10), T0);
    expect(cache.stats().bytes).toBeGreaterThan(0);
    cache.clear();
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0 });
  });
});
