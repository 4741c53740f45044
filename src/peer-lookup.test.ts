import { describe, expect, it } from 'vitest';
import { lookUpIkePeer, type HandleQuery } from './peer-lookup.js';
import { decodeMessage, encodeMessage, RRClass, RRType, type Message, type ResourceRecord } from './wire/index.js';

/** A pipeline stand-in answering every question with `records` (A/AAAA rdata), AD as given. */
function answering(records: readonly Uint8Array[], options: { ad?: boolean; rcode?: number } = {}): { handle: HandleQuery; asked: Message[] } {
  const asked: Message[] = [];
  const handle: HandleQuery = (bytes) => {
    const query = decodeMessage(bytes);
    asked.push(query);
    const q = query.questions[0]!;
    const answers: ResourceRecord[] = records.map((rdata) => ({ name: q.name, type: q.type, class: RRClass.IN, ttl: 300, rdata }));
    return encodeMessage({ ...query, qr: true, ra: true, ad: options.ad ?? true, rcode: options.rcode ?? 0, answers });
  };
  return { handle, asked };
}

const v4 = (text: string): Uint8Array => Uint8Array.from(text.split('.').map(Number));
const v6 = (...tail: number[]): Uint8Array => Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array(12 - tail.length).fill(0), ...tail]);
const signal = AbortSignal.timeout(5_000);

describe('lookUpIkePeer', () => {
  it('asks the pipeline for the address family of the peer, with DO, and accepts a secure answer holding the peer address', async () => {
    const { handle, asked } = answering([v4('192.0.2.9'), v4('192.0.2.10')]);
    expect(await lookUpIkePeer(handle, { identity: 'alice.lab.example', address: '192.0.2.10' }, signal)).toMatch(/^looked up/);
    expect(asked[0]?.questions[0]).toMatchObject({ name: 'alice.lab.example.', type: RRType.A });
    expect(asked[0]?.edns?.dnssecOk).toBe(true);
    const six = answering([v6(0, 0x10)]);
    expect(await lookUpIkePeer(six.handle, { identity: 'alice.lab.example', address: '2001:db8:0::10' }, signal)).toMatch(/^looked up/);
    expect(six.asked[0]?.questions[0]?.type).toBe(RRType.AAAA);
  });

  it('says why an answer does not vouch for the peer: insecure, an error, another address', async () => {
    const peer = { identity: 'alice.lab.example', address: '192.0.2.10' };
    expect(await lookUpIkePeer(answering([v4('192.0.2.10')], { ad: false }).handle, peer, signal)).toMatch(/not DNSSEC-secure/);
    expect(await lookUpIkePeer(answering([], { rcode: 2 }).handle, peer, signal)).toMatch(/rcode 2/);
    expect(await lookUpIkePeer(answering([v4('192.0.2.99')]).handle, peer, signal)).toMatch(/192\.0\.2\.10 is not among the addresses of alice\.lab\.example \(192\.0\.2\.99\)/);
  });
});
