/**
 * Test fixture: NSEC and NSEC3 records written in presentation form, and the example zone of
 * RFC 5155 Appendix A with the responses of Appendix B. Used only by tests.
 *
 * Appendix A's NSEC3 records and the hashes below were taken from the RFC as reproduced in
 * Unbound's testdata/val_nsec3_b*.rpl (0p9m…, 2t7b…, 35mt…, b4um…, ji6n…, k8ud…, q04j…, r53b…) and
 * BIND's nsec3hash test (every H(name)); the four records no Appendix B response shows (2vpt…,
 * gjeq…, kohar…, t644…) follow from the chain order and the zone's data (x.y.w MX; ai and xx
 * A HINFO AAAA; 2t7b4g4vsa5smi47k61mv5bv1a22bojr.example A). nsec3.test.ts checks the chain.
 */
import { WireFormatError } from '../core/errors.js';
import { parseType, RRClass, RRType, type ResourceRecord } from '../wire/index.js';
import { nameToLabels } from '../wire/name.js';
import { base32HexDecode } from './nsec3.js';
import { encodeTypeBitmap } from './type-bitmap.js';

const TTL_SECONDS = 3600;

function nameWire(name: string): number[] {
  const out: number[] = [];
  for (const label of nameToLabels(name)) out.push(label.length, ...label);
  out.push(0);
  return out;
}

function hexBytes(hex: string): number[] {
  if (hex === '-') return [];
  if (!/^([0-9a-f]{2})+$/i.test(hex)) throw new WireFormatError(`fixture: bad hex "${hex}"`);
  return (hex.match(/../g) ?? []).map((pair) => parseInt(pair, 16));
}

function typeBitmap(mnemonics: readonly string[]): number[] {
  return [...encodeTypeBitmap(mnemonics.map((text) => {
    const type = parseType(text);
    if (type === undefined) throw new WireFormatError(`fixture: unknown type ${text}`);
    return type;
  }))];
}

/** One record: `<owner> [ttl] [IN] NSEC <next> <types…>` or `… NSEC3 <alg> <flags> <iter> <salt|-> <hash> <types…>`. */
export function denialRecord(line: string): ResourceRecord {
  const tokens = line.replace(/[()]/g, ' ').trim().split(/\s+/);
  const owner = tokens.shift()!;
  while (tokens[0] !== undefined && /^(\d+|IN)$/i.test(tokens[0])) tokens.shift();
  const type = tokens.shift()?.toUpperCase();
  if (type === 'NSEC') {
    const [next = '', ...types] = tokens;
    return record(owner, RRType.NSEC, [...nameWire(next), ...typeBitmap(types)]);
  }
  if (type === 'NSEC3') {
    const [alg = '', flags = '', iterations = '', salt = '', hash = '', ...types] = tokens;
    const saltBytes = hexBytes(salt);
    const hashBytes = [...base32HexDecode(hash)];
    const iter = Number(iterations);
    return record(owner, RRType.NSEC3, [Number(alg), Number(flags), iter >> 8, iter & 0xff,
      saltBytes.length, ...saltBytes, hashBytes.length, ...hashBytes, ...typeBitmap(types)]);
  }
  throw new WireFormatError(`fixture: not an NSEC or NSEC3 line: ${line}`);
}

function record(name: string, type: number, rdata: number[]): ResourceRecord {
  return { name, type, class: RRClass.IN, ttl: TTL_SECONDS, rdata: Uint8Array.from(rdata) };
}

export function denialRecords(lines: readonly string[]): ResourceRecord[] {
  return lines.map(denialRecord);
}

/** The same NSEC3 record with other flags (byte 1 of the RDATA), e.g. 0 to drop Opt-Out. */
export function withNsec3Flags(rr: ResourceRecord, flags: number): ResourceRecord {
  const rdata = Uint8Array.from(rr.rdata);
  rdata[1] = flags;
  return { ...rr, rdata };
}

export const RFC5155_ZONE = 'example.';
export const RFC5155_SALT = Uint8Array.from([0xaa, 0xbb, 0xcc, 0xdd]);
export const RFC5155_ITERATIONS = 12;

/** RFC 5155 Appendix A: H(name) for the example zone; Appendix B's comments for the rest. */
export const RFC5155_HASHES: ReadonlyArray<readonly [string, string]> = [
  ['example.', '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom'],
  ['a.example.', '35mthgpgcu1qg68fab165klnsnk3dpvl'],
  ['ai.example.', 'gjeqe526plbf1g8mklp59enfd789njgi'],
  ['ns1.example.', '2t7b4g4vsa5smi47k61mv5bv1a22bojr'],
  ['ns2.example.', 'q04jkcevqvmu85r014c7dkba38o0ji5r'],
  ['w.example.', 'k8udemvp1j2f7eg6jebps17vp3n8i58h'],
  ['*.w.example.', 'r53bq7cc2uvmubfu5ocmm6pers9tk9en'],
  ['x.w.example.', 'b4um86eghhds6nea196smvmlo4ors995'],
  ['y.w.example.', 'ji6neoaepv8b5o6k4ev33abha8ht9fgc'],
  ['x.y.w.example.', '2vptu5timamqttgl4luu9kg21e0aor3s'],
  ['xx.example.', 't644ebqk9bibcna874givr6joj62mlhv'],
  ['2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.', 'kohar7mbb8dc2ce8a9qvl8hon4k53uhi'],
  ['c.x.w.example.', '0va5bpr2ou0vk0lbqeeljri88laipsfh'],
  ['*.x.w.example.', '92pqneegtaue7pjatc3l3qnk738c6v5m'],
  ['c.example.', '4g6p9u5gvfshp30pqecj98b3maqbn1ck'],
  ['z.w.example.', 'qlu7gtfaeh0ek0c05ksfhdpbcgglbe03'],
];

/** RFC 5155 Appendix A: the NSEC3 chain of the example zone, in hash order (all with Opt-Out). */
export const RFC5155_NSEC3: Readonly<Record<string, string>> = {
  '0p9m': '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. NSEC3 1 1 12 aabbccdd ( 2t7b4g4vsa5smi47k61mv5bv1a22bojr MX DNSKEY NS SOA NSEC3PARAM RRSIG )',
  '2t7b': '2t7b4g4vsa5smi47k61mv5bv1a22bojr.example. NSEC3 1 1 12 aabbccdd ( 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG )',
  '2vpt': '2vptu5timamqttgl4luu9kg21e0aor3s.example. NSEC3 1 1 12 aabbccdd ( 35mthgpgcu1qg68fab165klnsnk3dpvl MX RRSIG )',
  '35mt': '35mthgpgcu1qg68fab165klnsnk3dpvl.example. NSEC3 1 1 12 aabbccdd ( b4um86eghhds6nea196smvmlo4ors995 NS DS RRSIG )',
  'b4um': 'b4um86eghhds6nea196smvmlo4ors995.example. NSEC3 1 1 12 aabbccdd ( gjeqe526plbf1g8mklp59enfd789njgi MX RRSIG )',
  'gjeq': 'gjeqe526plbf1g8mklp59enfd789njgi.example. NSEC3 1 1 12 aabbccdd ( ji6neoaepv8b5o6k4ev33abha8ht9fgc A HINFO AAAA RRSIG )',
  'ji6n': 'ji6neoaepv8b5o6k4ev33abha8ht9fgc.example. NSEC3 1 1 12 aabbccdd ( k8udemvp1j2f7eg6jebps17vp3n8i58h )',
  'k8ud': 'k8udemvp1j2f7eg6jebps17vp3n8i58h.example. NSEC3 1 1 12 aabbccdd ( kohar7mbb8dc2ce8a9qvl8hon4k53uhi )',
  'koha': 'kohar7mbb8dc2ce8a9qvl8hon4k53uhi.example. NSEC3 1 1 12 aabbccdd ( q04jkcevqvmu85r014c7dkba38o0ji5r A RRSIG )',
  'q04j': 'q04jkcevqvmu85r014c7dkba38o0ji5r.example. NSEC3 1 1 12 aabbccdd ( r53bq7cc2uvmubfu5ocmm6pers9tk9en A RRSIG )',
  'r53b': 'r53bq7cc2uvmubfu5ocmm6pers9tk9en.example. NSEC3 1 1 12 aabbccdd ( t644ebqk9bibcna874givr6joj62mlhv MX RRSIG )',
  't644': 't644ebqk9bibcna874givr6joj62mlhv.example. NSEC3 1 1 12 aabbccdd ( 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom A HINFO AAAA RRSIG )',
};

/** The NSEC3 records of Appendix A named by the first four characters of their owner hash. */
export function rfc5155Nsec3(...keys: readonly string[]): ResourceRecord[] {
  return keys.map((key) => {
    const line = RFC5155_NSEC3[key];
    if (line === undefined) throw new WireFormatError(`fixture: no RFC 5155 NSEC3 ${key}`);
    return denialRecord(line);
  });
}
