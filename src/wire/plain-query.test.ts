import { describe, expect, it } from 'vitest';
import { WireFormatError } from '../core/errors.js';
import { RRClass, RRType } from './constants.js';
import { encodeMessage } from './encode.js';
import { decodeMessage, type Message } from './message.js';
import { nameKey } from './name.js';
import { readPlainQuery } from './plain-query.js';

function query(name: string, type: number, edns?: { dnssecOk: boolean; udpPayloadSize: number }): Message {
  return {
    id: 0x4242, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, ad: false, cd: true, rcode: 0,
    questions: [{ name, type, class: RRClass.IN }], answers: [], authorities: [], additionals: [],
    edns: edns ? { version: 0, options: [], ...edns } : undefined,
  };
}

/** A small deterministic PRNG (mulberry32), so the fuzz cases are the same on every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('readPlainQuery', () => {
  it('reads ID, flags, type, class and a lowercased name key equal to nameKey()', () => {
    const q = readPlainQuery(encodeMessage(query('WwW.Example.ORG.', RRType.AAAA)));
    expect(q).toMatchObject({ id: 0x4242, rd: true, cd: true, type: RRType.AAAA, class: RRClass.IN, edns: false });
    expect(q?.nameKey).toBe(nameKey('www.example.org.'));
  });

  it('reads the EDNS payload size and DO bit', () => {
    const q = readPlainQuery(encodeMessage(query('a.test.', RRType.A, { dnssecOk: true, udpPayloadSize: 4096 })));
    expect(q).toMatchObject({ edns: true, dnssecOk: true, udpPayloadSize: 4096 });
  });

  it('keeps names that differ in non-ASCII bytes apart (RFC 4343 §3: only ASCII folds)', () => {
    expect(nameKey('\\192.test.')).not.toBe(nameKey('\\224.test.'));
    const q = readPlainQuery(encodeMessage(query('\\192.test.', RRType.A)));
    expect(q?.nameKey).toBe(nameKey('\\192.test.'));
  });

  it('leaves everything else to the strict decoder', () => {
    const plain = encodeMessage(query('a.test.', RRType.A));
    const cases: Uint8Array[] = [
      encodeMessage({ ...query('a.test.', RRType.A), qr: true }),
      encodeMessage({ ...query('a.test.', RRType.A), opcode: 5 }),
      encodeMessage(query('example.test.', RRType.AXFR)),
      encodeMessage({ ...query('a.test.', RRType.A), edns: { version: 1, dnssecOk: false, udpPayloadSize: 1232, options: [] } }),
      Uint8Array.from([...plain, 0]),
      plain.subarray(0, plain.length - 1),
      Uint8Array.from([...plain.subarray(0, 12), 0xc0, 0x00, 0, 1, 0, 1]),
    ];
    for (const bytes of cases) expect(readPlainQuery(bytes)).toBeUndefined();
  });

  it('agrees with decodeMessage on every mutated query it accepts, and decodeMessage throws only WireFormatError', () => {
    const random = prng(20261123);
    const seeds = [
      encodeMessage(query('www.example.org.', RRType.A)),
      encodeMessage(query('x.y.', RRType.TXT, { dnssecOk: true, udpPayloadSize: 1232 })),
    ];
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const bytes = Uint8Array.from(seeds[i % 2]!);
      const flips = 1 + Math.floor(random() * 3);
      for (let f = 0; f < flips; f++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      const length = random() < 0.1 ? Math.floor(random() * bytes.length) : bytes.length;
      const sample = bytes.subarray(0, length);
      let decoded: Message | undefined;
      try {
        decoded = decodeMessage(sample);
      } catch (error) {
        expect(error).toBeInstanceOf(WireFormatError);
      }
      const plain = readPlainQuery(sample);
      if (!plain) continue;
      accepted += 1;
      expect(decoded).toBeDefined();
      const q = decoded!.questions[0]!;
      expect(plain).toMatchObject({ id: decoded!.id, rd: decoded!.rd, cd: decoded!.cd, type: q.type, class: q.class, edns: decoded!.edns !== undefined });
      expect(plain.nameKey).toBe(nameKey(q.name));
      if (decoded!.edns) expect(plain.dnssecOk).toBe(decoded!.edns.dnssecOk);
    }
    expect(accepted).toBeGreaterThan(1000);
  });
});
