import { describe, expect, it } from 'vitest';
import { expectAppError, nameWire } from '../../test/support/unit.js';
import { WireFormatError } from '../core/errors.js';
import { Rcode, RRClass, RRType } from './constants.js';
import { encodeMessage } from './encode.js';
import { decodeMessage, readHeader, type Message, type ResourceRecord } from './message.js';

function ascii(text: string): number[] {
  return Array.from(text, (c) => c.charCodeAt(0));
}

function u16(value: number): number[] {
  return [(value >>> 8) & 0xff, value & 0xff];
}

function u32(value: number): number[] {
  return [...u16(Math.floor(value / 0x10000)), ...u16(value & 0xffff)];
}

/** Hand-written packets, for the malformed ones and for compression the encoder would not write. */
class Packet {
  readonly bytes: number[] = [];

  constructor(counts: [number, number, number, number], flags = 0x8180, id = 0x1234) {
    this.bytes.push(...u16(id), ...u16(flags), ...counts.flatMap(u16));
  }

  get offset(): number {
    return this.bytes.length;
  }

  raw(...data: number[]): this {
    this.bytes.push(...data);
    return this;
  }

  question(owner: number[], type: number, klass: number = RRClass.IN): this {
    return this.raw(...owner, ...u16(type), ...u16(klass));
  }

  /** A record; RDLENGTH is the RDATA's length unless given. */
  record(owner: number[], type: number, ttl: number, rdata: number[], rdlength = rdata.length, klass: number = RRClass.IN): this {
    return this.raw(...owner, ...u16(type), ...u16(klass), ...u32(ttl), ...u16(rdlength), ...rdata);
  }

  /** An OPT pseudo-record (RFC 6891 §6.1.2). */
  opt(options: { size?: number; extRcode?: number; version?: number; flags?: number; rdata?: number[]; owner?: number[] } = {}): this {
    const rdata = options.rdata ?? [];
    return this.raw(
      ...(options.owner ?? [0]), ...u16(RRType.OPT), ...u16(options.size ?? 1232),
      options.extRcode ?? 0, options.version ?? 0, ...u16(options.flags ?? 0), ...u16(rdata.length), ...rdata,
    );
  }

  build(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

function pointer(offset: number): number[] {
  return [0xc0 | (offset >> 8), offset & 0xff];
}

function message(partial: Partial<Message>): Message {
  return {
    id: 0x1234, qr: true, opcode: 0, aa: false, tc: false, rd: true, ra: true, ad: false, cd: false, rcode: Rcode.NoError,
    questions: [], answers: [], authorities: [], additionals: [], edns: undefined,
    ...partial,
  };
}

function rr(name: string, type: number, ttl: number, rdata: number[]): ResourceRecord {
  return { name, type, class: RRClass.IN, ttl, rdata: Uint8Array.from(rdata) };
}

const soaRdata = [
  ...nameWire('ns1.example.com.'), ...nameWire('hostmaster.example.com.'),
  ...u32(2024010101), ...u32(7200), ...u32(3600), ...u32(1209600), ...u32(300),
];

const sample = message({
  id: 0xbeef,
  questions: [{ name: 'www.example.com.', type: RRType.A, class: RRClass.IN }],
  answers: [
    rr('www.example.com.', RRType.CNAME, 300, nameWire('web.example.com.')),
    rr('web.example.com.', RRType.A, 60, [192, 0, 2, 1]),
    rr('web.example.com.', RRType.AAAA, 60, [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 1]),
    rr('web.example.com.', RRType.TXT, 60, [5, ...ascii('hello')]),
  ],
  authorities: [
    rr('example.com.', RRType.NS, 3600, nameWire('ns1.example.com.')),
    rr('example.com.', RRType.SOA, 3600, soaRdata),
  ],
  additionals: [
    rr('example.com.', RRType.MX, 3600, [...u16(10), ...nameWire('mail.example.com.')]),
    rr('ns1.example.com.', RRType.A, 3600, [192, 0, 2, 53]),
  ],
});

function expectWireError(fn: () => unknown, pattern?: RegExp): void {
  expectAppError(fn, WireFormatError, pattern);
}

/** Index of `needle` inside `haystack`, or -1. */
function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

describe('decodeMessage / encodeMessage round trip (RFC 1035 §4.1)', () => {
  it('decodes what it encodes, compressed and uncompressed', () => {
    expect(decodeMessage(encodeMessage(sample))).toEqual(sample);
    expect(decodeMessage(encodeMessage(sample, { compress: false }))).toEqual(sample);
  });

  it('round-trips every header flag, the opcode and the ID', () => {
    const flags = message({ id: 0xffff, qr: true, opcode: 2, aa: true, tc: true, rd: true, ra: true, ad: true, cd: true, rcode: Rcode.Refused });
    expect(decodeMessage(encodeMessage(flags))).toEqual(flags);
    const none = message({ id: 0, qr: false, opcode: 0, rd: false, ra: false });
    const bytes = encodeMessage(none);
    expect(Array.from(bytes)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(decodeMessage(bytes)).toEqual(none);
  });

  it('places header bits where RFC 1035 §4.1.1 and RFC 4035 §3.2 put them', () => {
    const bytes = encodeMessage(message({ id: 0x0102, qr: true, opcode: 0, aa: true, rd: true, ra: true, ad: true, cd: true, rcode: 3 }));
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0x01, 0x02, 0x85, 0xb3]);
  });

  it('round-trips the root name, binary labels and a TTL of 2^31 - 1', () => {
    const m = message({
      questions: [{ name: '.', type: RRType.NS, class: RRClass.IN }],
      answers: [rr('\\000\\.\\255.example.', RRType.A, 0x7fffffff, [192, 0, 2, 2])],
    });
    expect(decodeMessage(encodeMessage(m))).toEqual(m);
  });

  it('reads a TTL with the most significant bit set as zero (RFC 2181 §8)', () => {
    const m = message({ answers: [rr('www.example.', RRType.A, 0xfffffffe, [192, 0, 2, 2])] });
    expect(decodeMessage(encodeMessage(m)).answers[0]?.ttl).toBe(0);
  });
});

describe('name compression (RFC 1035 §4.1.4)', () => {
  const simple = message({
    questions: [{ name: 'www.example.com.', type: RRType.A, class: RRClass.IN }],
    answers: [rr('www.example.com.', RRType.A, 300, [192, 0, 2, 1])],
  });

  it('replaces a repeated owner name with a 2-byte pointer to the question name', () => {
    const plain = encodeMessage(simple, { compress: false });
    const compressed = encodeMessage(simple);
    // Header 12 + question 17+4 + answer (17 or 2)+10+4.
    expect(plain.length).toBe(64);
    expect(compressed.length).toBe(49);
    expect(Array.from(compressed.subarray(33, 35))).toEqual([0xc0, 0x0c]);
    expect(decodeMessage(compressed)).toEqual(decodeMessage(plain));
  });

  it('shrinks a realistic answer and decodes it back identically', () => {
    const plain = encodeMessage(sample, { compress: false });
    const compressed = encodeMessage(sample);
    expect(compressed.length).toBeLessThan(plain.length);
    expect(decodeMessage(compressed)).toEqual(decodeMessage(plain));
  });

  it('compresses names inside RDATA of RFC 1035 types (CNAME, NS, MX, SOA)', () => {
    const m = message({
      questions: [{ name: 'www.example.com.', type: RRType.CNAME, class: RRClass.IN }],
      answers: [rr('www.example.com.', RRType.CNAME, 300, nameWire('example.com.'))],
    });
    const bytes = encodeMessage(m);
    // Answer at 33: owner pointer (2), type/class/ttl (8), RDLENGTH, then RDATA = pointer to 16.
    expect(Array.from(bytes.subarray(43, 47))).toEqual([0, 2, 0xc0, 16]);
    expect(decodeMessage(bytes).answers[0]!.rdata).toEqual(Uint8Array.from(nameWire('example.com.')));
  });

  it('uses a suffix only once it has been written, including suffixes first seen inside RDATA', () => {
    const m = message({
      answers: [
        rr('a.example.', RRType.NS, 60, nameWire('ns.other.test.')),
        rr('other.test.', RRType.A, 60, [192, 0, 2, 3]),
      ],
    });
    const bytes = encodeMessage(m);
    expect(decodeMessage(bytes)).toEqual(m);
    expect(bytes.length).toBeLessThan(encodeMessage(m, { compress: false }).length);
  });
});

describe('RDATA with compressed names (RFC 3597 §4: RFC 1035 types are decompressed)', () => {
  // Question www.example.com. at 12; example.com. starts at 16.
  function compressedAnswer(): { bytes: Uint8Array; nsNameAt: number } {
    const p = new Packet([1, 4, 0, 0]).question(nameWire('www.example.com.'), RRType.ANY);
    p.record(pointer(12), RRType.CNAME, 300, [3, ...ascii('web'), ...pointer(16)]);
    const nsRecordAt = p.offset;
    // owner pointer (2) + type/class/ttl/rdlength (10) → RDATA of the NS record.
    const nsNameAt = nsRecordAt + 12;
    p.record(pointer(16), RRType.NS, 300, [2, ...ascii('ns'), ...pointer(16)]);
    p.record(pointer(16), RRType.MX, 300, [0, 10, 2, ...ascii('mx'), ...pointer(16)]);
    p.record(pointer(16), RRType.SOA, 300, [
      ...pointer(nsNameAt), 10, ...ascii('hostmaster'), ...pointer(16),
      ...u32(1), ...u32(7200), ...u32(3600), ...u32(1209600), ...u32(300),
    ]);
    return { bytes: p.build(), nsNameAt };
  }

  it('expands the names so `rdata` is the uncompressed wire form', () => {
    const m = decodeMessage(compressedAnswer().bytes);
    expect(m.answers.map((r) => r.name)).toEqual(['www.example.com.', 'example.com.', 'example.com.', 'example.com.']);
    expect(m.answers[0]!.rdata).toEqual(Uint8Array.from(nameWire('web.example.com.')));
    expect(m.answers[1]!.rdata).toEqual(Uint8Array.from(nameWire('ns.example.com.')));
    expect(m.answers[2]!.rdata).toEqual(Uint8Array.from([0, 10, ...nameWire('mx.example.com.')]));
    expect(m.answers[3]!.rdata).toEqual(Uint8Array.from([
      ...nameWire('ns.example.com.'), ...nameWire('hostmaster.example.com.'),
      ...u32(1), ...u32(7200), ...u32(3600), ...u32(1209600), ...u32(300),
    ]));
  });

  it('returns RDATA that is a copy, not a view into the packet', () => {
    const bytes = compressedAnswer().bytes;
    const m = decodeMessage(bytes);
    bytes.fill(0xee);
    expect(m.answers[0]!.rdata).toEqual(Uint8Array.from(nameWire('web.example.com.')));
  });

  it('re-encodes the expanded form and decodes it back to the same records', () => {
    const m = decodeMessage(compressedAnswer().bytes);
    expect(decodeMessage(encodeMessage(m))).toEqual(m);
  });
});

describe('unknown and non-RFC 1035 types pass through byte-identical (RFC 3597 §4, §5)', () => {
  // IPSECKEY (RFC 4025): precedence 10, gateway type 3 (a name), algorithm 2, gateway, key.
  const ipseckey = [10, 3, 2, ...nameWire('www.example.com.'), 0x01, 0x03, 0x01, 0x00, 0x01, 0xc0, 0x0c];
  // CERT (RFC 4398): type PKIX, key tag, algorithm, then a blob that happens to look like a pointer.
  const cert = [0, 1, 0x12, 0x34, 8, 0xc0, 0x0c, 0x00, 0xff];
  const private65280 = [0xc0, 0x0c, 0x03, 0x77, 0x77, 0x77, 0x00];
  const m = message({
    questions: [{ name: 'www.example.com.', type: RRType.IPSECKEY, class: RRClass.IN }],
    answers: [
      rr('www.example.com.', RRType.IPSECKEY, 300, ipseckey),
      rr('www.example.com.', RRType.CERT, 300, cert),
      rr('www.example.com.', 65280, 300, private65280),
    ],
  });

  it('keeps their RDATA exactly when decoding, even bytes that look like pointers', () => {
    const p = new Packet([1, 3, 0, 0]).question(nameWire('www.example.com.'), RRType.IPSECKEY);
    p.record(pointer(12), RRType.IPSECKEY, 300, ipseckey);
    p.record(pointer(12), RRType.CERT, 300, cert);
    p.record(pointer(12), 65280, 300, private65280);
    const decoded = decodeMessage(p.build());
    expect(decoded.answers.map((r) => Array.from(r.rdata))).toEqual([ipseckey, cert, private65280]);
  });

  it('never compresses names inside their RDATA when encoding', () => {
    const bytes = encodeMessage(m);
    for (const rdata of [ipseckey, cert, private65280]) {
      const at = indexOfBytes(bytes, Uint8Array.from(rdata));
      expect(at).toBeGreaterThan(0);
      expect((bytes[at - 2]! << 8) | bytes[at - 1]!).toBe(rdata.length);
    }
    expect(decodeMessage(bytes)).toEqual(m);
  });

  it('re-encodes an uncompressed packet to the identical bytes', () => {
    const p = new Packet([1, 3, 0, 0]).question(nameWire('www.example.com.'), RRType.IPSECKEY);
    for (const r of m.answers) p.record(nameWire(r.name), r.type, r.ttl, Array.from(r.rdata));
    const original = p.build();
    expect(encodeMessage(decodeMessage(original), { compress: false })).toEqual(original);
  });
});

describe('strict decoding: malformed messages throw WireFormatError', () => {
  const question = nameWire('www.example.com.');

  it('rejects a message shorter than the 12-byte header', () => {
    expectWireError(() => decodeMessage(new Uint8Array(11)), /shorter than a DNS header/);
    expectWireError(() => readHeader(new Uint8Array(0)), /shorter than a DNS header/);
  });

  it('accepts a bare 12-byte header', () => {
    expect(decodeMessage(new Uint8Array(12)).questions).toEqual([]);
  });

  it('rejects counts larger than the data', () => {
    expectWireError(() => decodeMessage(new Packet([1, 0, 0, 0]).build()));
    expectWireError(() => decodeMessage(new Packet([0xffff, 0xffff, 0xffff, 0xffff]).build()), /cannot fit/);
    expectWireError(() => decodeMessage(new Packet([2, 0, 0, 0]).question(question, RRType.A).build()));
    // Enough bytes for the minimum sizes, but the records are not there.
    const p = new Packet([1, 1, 0, 0]).question(question, RRType.A).raw(...new Array<number>(11).fill(0x3f));
    expectWireError(() => decodeMessage(p.build()));
  });

  it('rejects a question cut off inside its type and class', () => {
    const p = new Packet([1, 0, 0, 0]).raw(...question, 0, 1, 0);
    expectWireError(() => decodeMessage(p.build()), /question type and class/);
  });

  it('rejects trailing bytes after the counted records', () => {
    const good = new Packet([1, 0, 0, 0]).question(question, RRType.A);
    expect(decodeMessage(good.build()).questions).toHaveLength(1);
    expectWireError(() => decodeMessage(good.raw(0).build()), /trailing/);
    expectWireError(() => decodeMessage(new Packet([0, 0, 0, 0]).question(question, RRType.A).build()), /trailing/);
  });

  it('rejects an RDLENGTH that runs past the end of the message', () => {
    const p = new Packet([1, 1, 0, 0]).question(question, RRType.A).record(pointer(12), RRType.A, 60, [192, 0, 2, 1], 5);
    expectWireError(() => decodeMessage(p.build()), /RDATA/);
  });

  it('rejects a record header cut short', () => {
    // 11 bytes pass the count check, but a pointer owner needs 2 + 10 bytes before the RDATA.
    const p = new Packet([1, 1, 0, 0]).question(question, RRType.A).raw(...pointer(12), 0, 1, 0, 1, 0, 0, 0, 60, 0);
    expectWireError(() => decodeMessage(p.build()), /record header/);
  });

  it('rejects fixed RDATA fields that overrun RDLENGTH (SOA with 19 of its 20 bytes)', () => {
    const shortSoa = [...nameWire('ns.example.'), ...nameWire('h.example.'), ...new Array<number>(19).fill(0)];
    const p = new Packet([1, 0, 1, 0]).question(question, RRType.A).record(nameWire('example.'), RRType.SOA, 60, shortSoa)
      .raw(...new Array<number>(8).fill(0));
    // The message goes on after the record, so only RDLENGTH can tell the SOA is short.
    expectWireError(() => decodeMessage(p.build()), /RDLENGTH/);
  });

  it('rejects a name in RDATA that runs past RDLENGTH', () => {
    // CNAME RDLENGTH 4, but its name is 17 bytes; a second record follows, so the bytes exist.
    const target = nameWire('web.example.com.');
    const p = new Packet([1, 2, 0, 0]).question(question, RRType.A)
      .record(pointer(12), RRType.CNAME, 60, target, 4)
      .record(pointer(12), RRType.A, 60, [192, 0, 2, 1]);
    expectWireError(() => decodeMessage(p.build()), /longer than its RDLENGTH/);
  });

  it('rejects RDATA with bytes beyond its fields (a CNAME with a trailing byte)', () => {
    const p = new Packet([1, 1, 0, 0]).question(question, RRType.A).record(pointer(12), RRType.CNAME, 60, [...nameWire('a.example.'), 0]);
    expectWireError(() => decodeMessage(p.build()), /beyond its fields/);
  });

  it('rejects an MX whose RDATA is too short for its preference and name', () => {
    const p = new Packet([1, 1, 0, 0]).question(question, RRType.MX).record(pointer(12), RRType.MX, 60, [0, 10]);
    expectWireError(() => decodeMessage(p.build()));
  });

  it('rejects a forward compression pointer in RDATA', () => {
    // The NS RDATA points at the owner of the following record.
    const p = new Packet([1, 2, 0, 0]).question(question, RRType.NS);
    const nsAt = p.offset;
    p.record(pointer(12), RRType.NS, 60, pointer(nsAt + 14));
    p.record(nameWire('ns.example.'), RRType.A, 60, [192, 0, 2, 1]);
    expectWireError(() => decodeMessage(p.build()), /backward/);
  });

  it('rejects an OPT record in the answer section (RFC 6891 §6.1.1)', () => {
    const p = new Packet([1, 1, 0, 0]).question(question, RRType.A).opt();
    expectWireError(() => decodeMessage(p.build()), /OPT record in the answer section/);
  });

  it('rejects an OPT record in the authority section (RFC 6891 §6.1.1)', () => {
    const p = new Packet([1, 0, 1, 0]).question(question, RRType.A).opt();
    expectWireError(() => decodeMessage(p.build()), /OPT record in the authority section/);
  });

  it('rejects two OPT records (RFC 6891 §6.1.1)', () => {
    const p = new Packet([1, 0, 0, 2]).question(question, RRType.A).opt().opt();
    expectWireError(() => decodeMessage(p.build()), /2 OPT records/);
  });

  it('rejects an OPT record not owned by the root (RFC 6891 §6.1.2)', () => {
    const p = new Packet([1, 0, 0, 1]).question(question, RRType.A).opt({ owner: pointer(12) });
    expectWireError(() => decodeMessage(p.build()), /instead of the root/);
  });

  it('rejects an EDNS option whose length overruns the OPT RDATA (RFC 6891 §6.1.2)', () => {
    const p = new Packet([1, 0, 0, 1]).question(question, RRType.A).opt({ rdata: [0, 10, 0, 8, 1, 2, 3, 4] });
    expectWireError(() => decodeMessage(p.build()), /EDNS option 10 runs past/);
  });

  it('rejects an EDNS option header cut short', () => {
    const p = new Packet([1, 0, 0, 1]).question(question, RRType.A).opt({ rdata: [0, 10, 0] });
    expectWireError(() => decodeMessage(p.build()), /option header/);
  });
});

describe('EDNS (RFC 6891)', () => {
  const question = nameWire('www.example.com.');

  it('decodes payload size, version, DO and options, and takes OPT out of the additional section (§6.1.3)', () => {
    const cookie = [1, 2, 3, 4, 5, 6, 7, 8];
    const p = new Packet([1, 0, 0, 2]).question(question, RRType.A)
      .record(nameWire('ns.example.'), RRType.A, 60, [192, 0, 2, 1])
      .opt({ size: 4096, version: 0, flags: 0x8000, rdata: [0, 10, 0, 8, ...cookie, 0, 12, 0, 0] });
    const m = decodeMessage(p.build());
    expect(m.edns).toEqual({
      udpPayloadSize: 4096, version: 0, dnssecOk: true,
      options: [{ code: 10, data: Uint8Array.from(cookie) }, { code: 12, data: new Uint8Array(0) }],
    });
    expect(m.additionals).toHaveLength(1);
    expect(m.additionals[0]!.type).toBe(RRType.A);
    expect(m.rcode).toBe(Rcode.NoError);
  });

  it('reads DO from the top bit of the flags only, and the version byte (§6.1.3)', () => {
    const p = new Packet([1, 0, 0, 1]).question(question, RRType.A).opt({ version: 1, flags: 0x7fff, size: 512 });
    expect(decodeMessage(p.build()).edns).toMatchObject({ udpPayloadSize: 512, version: 1, dnssecOk: false });
  });

  it('has no edns when there is no OPT record', () => {
    expect(decodeMessage(new Packet([1, 0, 0, 0]).question(question, RRType.A).build()).edns).toBeUndefined();
  });

  it('combines the extended RCODE with the header RCODE: BADVERS = 16 (§6.1.3)', () => {
    const p = new Packet([1, 0, 0, 1], 0x8180).question(question, RRType.A).opt({ extRcode: 1 });
    expect(decodeMessage(p.build()).rcode).toBe(Rcode.BadVers);
  });

  it('puts the header bits below the extended bits (ext 1, header 3 → 19)', () => {
    const p = new Packet([1, 0, 0, 1], 0x8183).question(question, RRType.A).opt({ extRcode: 1 });
    expect(decodeMessage(p.build()).rcode).toBe(19);
    const q = new Packet([1, 0, 0, 1], 0x8182).question(question, RRType.A).opt({ extRcode: 0xff });
    expect(decodeMessage(q.build()).rcode).toBe(0xff2);
  });

  it('encodes an extended RCODE into the OPT TTL and header (BADVERS)', () => {
    const m = message({
      rcode: Rcode.BadVers,
      questions: [{ name: '.', type: RRType.SOA, class: RRClass.IN }],
      edns: { udpPayloadSize: 1232, version: 0, dnssecOk: true, options: [{ code: 15, data: Uint8Array.from([0, 22]) }] },
    });
    const bytes = encodeMessage(m);
    expect(bytes[3]! & 0x0f).toBe(0);
    expect(readHeader(bytes).arcount).toBe(1);
    // OPT after header (12) + question (5): root, type 41, class 1232, ext-rcode 1, version 0, flags 0x8000.
    expect(Array.from(bytes.subarray(17, 28))).toEqual([0, 0, 41, 0x04, 0xd0, 1, 0, 0x80, 0x00, 0, 6]);
    expect(decodeMessage(bytes)).toEqual(m);
  });

  it('refuses to encode an RCODE above 15 without EDNS', () => {
    expectWireError(() => encodeMessage(message({ rcode: Rcode.BadVers })), /needs EDNS/);
  });

  it('refuses to encode an RCODE above 12 bits', () => {
    const edns = { udpPayloadSize: 1232, version: 0, dnssecOk: false, options: [] };
    expectWireError(() => encodeMessage(message({ rcode: 0x1000, edns })), /12 bits/);
  });
});
