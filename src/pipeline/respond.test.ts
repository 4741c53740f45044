import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, Rcode, RRClass, RRType, type Edns, type Message, type Question, type ResourceRecord } from '../wire/index.js';
import { answerFor, encodeForTransport, errorFor, udpLimit, type ClientQuery } from './respond.js';

function rr(name: string, type: number, ttl: number, rdata: number[]): ResourceRecord {
  return { name, type, class: RRClass.IN, ttl, rdata: Uint8Array.from(rdata) };
}

function a(name: string, last = 1): ResourceRecord {
  return rr(name, RRType.A, 300, [192, 0, 2, last]);
}

// SOA RDATA: MNAME "ns.", RNAME "h.", then the five 32-bit fields (all zero here).
const soa = rr('example.com.', RRType.SOA, 300, [2, 0x6e, 0x73, 0, 1, 0x68, 0, ...new Array<number>(20).fill(0)]);
// 40 bytes of opaque RRSIG/NSEC/NSEC3 RDATA are enough here: nothing decodes them.
const rrsig = (name: string): ResourceRecord => rr(name, RRType.RRSIG, 300, new Array<number>(40).fill(1));
const nsec = rr('www.example.com.', RRType.NSEC, 300, [0, 0, 6, 0x40, 0, 0, 0, 0, 3]);
const nsec3 = rr('abc.example.com.', RRType.NSEC3, 300, [1, 0, 0, 1, 0, 0, 0]);

const dnssecEdns: Edns = { udpPayloadSize: 4096, version: 0, dnssecOk: true, options: [{ code: 10, data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]) }] };
const plainEdns: Edns = { udpPayloadSize: 1232, version: 0, dnssecOk: false, options: [] };

function client(partial: Partial<ClientQuery> = {}): ClientQuery {
  return {
    id: 0x4242, opcode: 0, rd: true, ad: false, cd: false,
    question: { name: 'wWw.ExAmple.com.', type: RRType.A, class: RRClass.IN },
    edns: undefined,
    ...partial,
  };
}

function upstream(partial: Partial<Message> = {}): Message {
  return {
    id: 0x9999, qr: true, opcode: 0, aa: true, tc: false, rd: true, ra: true, ad: true, cd: false, rcode: Rcode.NoError,
    questions: [{ name: 'www.example.com.', type: RRType.A, class: RRClass.IN }],
    answers: [a('www.example.com.')], authorities: [], additionals: [],
    edns: { udpPayloadSize: 4096, version: 0, dnssecOk: true, options: [] },
    ...partial,
  };
}

describe('answerFor: header', () => {
  it('copies the client\'s ID, opcode, RD, CD and question (with its case, RFC 5452 §9.1 / 0x20)', () => {
    const q = client({ rd: false, cd: true });
    const m = answerFor(q, upstream());
    expect(m).toMatchObject({ id: 0x4242, opcode: 0, rd: false, cd: true, qr: true });
    expect(m.questions).toEqual([q.question]);
  });

  it('sets RA and clears AA, AD and TC (RFC 1035 §4.1.1; AD until validation, RFC 4035 §3.2.3)', () => {
    const m = answerFor(client(), upstream({ aa: true, ad: true, ra: false, tc: true }));
    expect(m).toMatchObject({ ra: true, aa: false, ad: false, tc: false });
  });

  it('passes the upstream RCODE through', () => {
    expect(answerFor(client(), upstream({ rcode: Rcode.NXDomain })).rcode).toBe(Rcode.NXDomain);
  });
});

describe('answerFor: EDNS (RFC 6891 §7)', () => {
  it('adds no OPT record when the client sent none', () => {
    expect(answerFor(client(), upstream()).edns).toBeUndefined();
  });

  it('answers an EDNS client with its own OPT: 1232 bytes, version 0, no upstream options', () => {
    const m = answerFor(client({ edns: dnssecEdns }), upstream({ edns: { ...dnssecEdns, udpPayloadSize: 512 } }));
    expect(m.edns).toEqual({ udpPayloadSize: 1232, version: 0, dnssecOk: true, options: [] });
  });

  it('copies the DO bit of the query (RFC 3225 §3)', () => {
    expect(answerFor(client({ edns: plainEdns }), upstream()).edns?.dnssecOk).toBe(false);
    expect(answerFor(client({ edns: dnssecEdns }), upstream()).edns?.dnssecOk).toBe(true);
  });

  it('turns an extended RCODE into SERVFAIL for a client without EDNS', () => {
    expect(answerFor(client(), upstream({ rcode: Rcode.BadVers })).rcode).toBe(Rcode.ServFail);
    expect(() => encodeMessage(answerFor(client(), upstream({ rcode: Rcode.BadVers })))).not.toThrow();
  });

  it('keeps an extended RCODE for an EDNS client', () => {
    expect(answerFor(client({ edns: plainEdns }), upstream({ rcode: Rcode.BadVers })).rcode).toBe(Rcode.BadVers);
  });
});

describe('answerFor: DNSSEC records and the DO bit (RFC 3225 §3, RFC 4035 §3.2.1)', () => {
  const signed = upstream({
    answers: [a('www.example.com.'), rrsig('www.example.com.')],
    authorities: [soa, rrsig('example.com.'), nsec, nsec3],
    additionals: [a('ns.example.com.'), rrsig('ns.example.com.')],
  });

  it('strips RRSIG, NSEC and NSEC3 from every section without DO', () => {
    for (const edns of [undefined, plainEdns]) {
      const m = answerFor(client({ edns }), signed);
      expect(m.answers.map((r) => r.type)).toEqual([RRType.A]);
      expect(m.authorities.map((r) => r.type)).toEqual([RRType.SOA]);
      expect(m.additionals.map((r) => r.type)).toEqual([RRType.A]);
    }
  });

  it('keeps them with DO', () => {
    const m = answerFor(client({ edns: dnssecEdns }), signed);
    expect(m.answers).toEqual(signed.answers);
    expect(m.authorities).toEqual(signed.authorities);
    expect(m.additionals).toEqual(signed.additionals);
  });

  it('keeps RRSIGs without DO when RRSIG is what was asked for, and only those', () => {
    const q = client({ question: { name: 'www.example.com.', type: RRType.RRSIG, class: RRClass.IN } });
    const m = answerFor(q, upstream({ answers: [rrsig('www.example.com.')], authorities: [nsec] }));
    expect(m.answers.map((r) => r.type)).toEqual([RRType.RRSIG]);
    expect(m.authorities).toEqual([]);
  });

  it('keeps NSEC without DO when NSEC was asked for', () => {
    const q = client({ question: { name: 'www.example.com.', type: RRType.NSEC, class: RRClass.IN } });
    const m = answerFor(q, upstream({ answers: [nsec, rrsig('www.example.com.')] }));
    expect(m.answers.map((r) => r.type)).toEqual([RRType.NSEC]);
  });

  it('leaves DNSKEY and DS alone: they are ordinary data when asked for', () => {
    const q = client({ question: { name: 'example.com.', type: RRType.DNSKEY, class: RRClass.IN } });
    const dnskey = rr('example.com.', RRType.DNSKEY, 300, [1, 1, 3, 13, 9, 9]);
    expect(answerFor(q, upstream({ answers: [dnskey, rrsig('example.com.')] })).answers).toEqual([dnskey]);
  });
});

describe('errorFor', () => {
  it('answers with the header\'s ID, opcode, RD and CD, and no question when none could be read', () => {
    const m = errorFor({ id: 7, opcode: 5, rd: true, cd: true }, Rcode.NotImp);
    expect(m).toMatchObject({ id: 7, opcode: 5, rd: true, cd: true, qr: true, ra: true, aa: false, rcode: Rcode.NotImp });
    expect(m.questions).toEqual([]);
    expect(m.edns).toBeUndefined();
  });

  it('can carry BADVERS to an EDNS client (RFC 6891 §6.1.3)', () => {
    const q: Question = { name: 'example.com.', type: RRType.A, class: RRClass.IN };
    const m = errorFor({ id: 7, opcode: 0, rd: true, cd: false }, Rcode.BadVers, q, { ...plainEdns, version: 1 });
    const decoded = decodeMessage(encodeMessage(m));
    expect(decoded.rcode).toBe(Rcode.BadVers);
    expect(decoded.edns?.version).toBe(0);
  });
});

describe('udpLimit (RFC 6891 §6.2.5)', () => {
  it('is 512 bytes without EDNS (RFC 1035 §4.2.1)', () => {
    expect(udpLimit(undefined)).toBe(512);
  });

  it('takes the client\'s size up to 1232', () => {
    expect(udpLimit({ ...plainEdns, udpPayloadSize: 1000 })).toBe(1000);
    expect(udpLimit({ ...plainEdns, udpPayloadSize: 1232 })).toBe(1232);
    expect(udpLimit({ ...plainEdns, udpPayloadSize: 4096 })).toBe(1232);
    expect(udpLimit({ ...plainEdns, udpPayloadSize: 65535 })).toBe(1232);
  });

  it('treats sizes below 512 as 512 ("Values lower than 512 MUST be treated as equal to 512")', () => {
    expect(udpLimit({ ...plainEdns, udpPayloadSize: 0 })).toBe(512);
    expect(udpLimit({ ...plainEdns, udpPayloadSize: 100 })).toBe(512);
    expect(udpLimit({ ...plainEdns, udpPayloadSize: 511 })).toBe(512);
  });
});

describe('encodeForTransport (RFC 2181 §9, RFC 1035 §4.2.1)', () => {
  const question: Question = { name: 'www.example.com.', type: RRType.A, class: RRClass.IN };
  function reply(answerCount: number, additionalCount: number, edns?: Edns): Message {
    return {
      id: 1, qr: true, opcode: 0, aa: false, tc: false, rd: true, ra: true, ad: false, cd: false, rcode: Rcode.NoError,
      questions: [question],
      answers: Array.from({ length: answerCount }, (_, i) => a('www.example.com.', i)),
      authorities: [],
      additionals: Array.from({ length: additionalCount }, (_, i) => a(`ns${i}.example.com.`, i)),
      edns,
    };
  }

  it('sends the whole message when it fits, or when there is no limit (TCP)', () => {
    const m = reply(3, 3);
    expect(encodeForTransport(m, 512)).toEqual(encodeMessage(m));
    const big = reply(100, 100);
    expect(encodeForTransport(big, undefined)).toEqual(encodeMessage(big));
  });

  it('drops the additional section first, without setting TC', () => {
    const m = reply(10, 30, plainEdns);
    expect(encodeMessage(m).length).toBeGreaterThan(512);
    const bytes = encodeForTransport(m, 512);
    expect(bytes.length).toBeLessThanOrEqual(512);
    const decoded = decodeMessage(bytes);
    expect(decoded.tc).toBe(false);
    expect(decoded.answers).toHaveLength(10);
    expect(decoded.additionals).toEqual([]);
    expect(decoded.edns).toEqual(plainEdns);
  });

  it('sends TC=1 with only the question when the answer itself does not fit', () => {
    const m = reply(40, 5, plainEdns);
    const bytes = encodeForTransport(m, 512);
    expect(bytes.length).toBeLessThanOrEqual(512);
    const decoded = decodeMessage(bytes);
    expect(decoded.tc).toBe(true);
    expect(decoded.id).toBe(1);
    expect(decoded.questions).toEqual([question]);
    expect(decoded.answers).toEqual([]);
    expect(decoded.authorities).toEqual([]);
    expect(decoded.additionals).toEqual([]);
    // RFC 6891 §7: the OPT record stays in a truncated answer.
    expect(decoded.edns).toEqual(plainEdns);
  });

  it('uses the whole limit: a message of exactly the limit is sent as is', () => {
    const m = reply(10, 0);
    const full = encodeMessage(m);
    expect(encodeForTransport(m, full.length)).toEqual(full);
    expect(decodeMessage(encodeForTransport(m, full.length - 1)).tc).toBe(true);
  });
});
