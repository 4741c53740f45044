/**
 * DNS messages (RFC 1035 §4.1) read strictly and written with name compression.
 *
 * oedns frames messages itself and keeps every record's RDATA as bytes (`rdata`: the wire form it
 * arrived in, with any compressed names expanded), so the validator can build the canonical form
 * from what was received and unknown types (IPSECKEY, CERT) pass through untouched. Typed access
 * to RDATA fields goes through @leichtgewicht/dns-packet (see rdata.ts).
 */
import { WireFormatError } from '../core/errors.js';
import { HEADER_BYTES, RRType } from './constants.js';
import { readName, readNameWire } from './name.js';
import { readLayout } from './rdata-layout.js';

export interface Question {
  readonly name: string;
  readonly type: number;
  readonly class: number;
}

export interface ResourceRecord {
  readonly name: string;
  readonly type: number;
  readonly class: number;
  readonly ttl: number;
  /** RDATA as received, compressed names expanded: the input of canonical form (RFC 4034 §6.2). */
  readonly rdata: Uint8Array;
}

export interface EdnsOption {
  readonly code: number;
  readonly data: Uint8Array;
}

/** RFC 6891 §6.1.3: the OPT pseudo-record, taken out of the additional section. */
export interface Edns {
  readonly udpPayloadSize: number;
  readonly version: number;
  readonly dnssecOk: boolean;
  readonly options: readonly EdnsOption[];
}

export interface Header {
  readonly id: number;
  readonly qr: boolean;
  readonly opcode: number;
  readonly aa: boolean;
  readonly tc: boolean;
  readonly rd: boolean;
  readonly ra: boolean;
  readonly ad: boolean;
  readonly cd: boolean;
  /** Full RCODE: the header's 4 bits plus, with EDNS, the OPT record's 8 upper bits. */
  readonly rcode: number;
}

export interface Message extends Header {
  readonly questions: readonly Question[];
  readonly answers: readonly ResourceRecord[];
  readonly authorities: readonly ResourceRecord[];
  readonly additionals: readonly ResourceRecord[];
  readonly edns?: Edns | undefined;
}

export interface RawHeader extends Header {
  readonly qdcount: number;
  readonly ancount: number;
  readonly nscount: number;
  readonly arcount: number;
}

/** The 12-byte header alone, for the cases where the body cannot be trusted (FORMERR, NOTIMP). */
export function readHeader(bytes: Uint8Array): RawHeader {
  if (bytes.length < HEADER_BYTES) throw new WireFormatError(`message of ${bytes.length} bytes is shorter than a DNS header`);
  const flags = (bytes[2]! << 8) | bytes[3]!;
  return {
    id: (bytes[0]! << 8) | bytes[1]!,
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    ad: (flags & 0x0020) !== 0,
    cd: (flags & 0x0010) !== 0,
    rcode: flags & 0xf,
    qdcount: (bytes[4]! << 8) | bytes[5]!,
    ancount: (bytes[6]! << 8) | bytes[7]!,
    nscount: (bytes[8]! << 8) | bytes[9]!,
    arcount: (bytes[10]! << 8) | bytes[11]!,
  };
}

class Reader {
  offset = HEADER_BYTES;
  constructor(readonly bytes: Uint8Array) {}

  need(count: number, what: string): void {
    if (this.offset + count > this.bytes.length) {
      throw new WireFormatError(`${what} at offset ${this.offset} runs past the end of the ${this.bytes.length}-byte message`);
    }
  }

  u16(): number {
    const value = (this.bytes[this.offset]! << 8) | this.bytes[this.offset + 1]!;
    this.offset += 2;
    return value;
  }

  u32(): number {
    const b = this.bytes;
    const value = b[this.offset]! * 0x1000000 + ((b[this.offset + 1]! << 16) | (b[this.offset + 2]! << 8) | b[this.offset + 3]!);
    this.offset += 4;
    return value;
  }

  name(): string {
    const decoded = readName(this.bytes, this.offset);
    this.offset += decoded.length;
    return decoded.name;
  }
}

/** Smallest possible sizes, so a count that cannot fit is refused before any work. */
const MIN_QUESTION_BYTES = 5;
const MIN_RECORD_BYTES = 11;

/**
 * Reads a whole message. Throws WireFormatError for anything malformed: counts that do not match
 * the bytes (too many or trailing data), bad names, RDATA overruns, a misplaced or repeated OPT.
 */
export function decodeMessage(input: Uint8Array): Message {
  // A Buffer's slice() is a view; as a plain Uint8Array every RDATA below is an owned copy.
  const bytes = Buffer.isBuffer(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : input;
  const header = readHeader(bytes);
  const reader = new Reader(bytes);
  const body = bytes.length - HEADER_BYTES;
  if (header.qdcount * MIN_QUESTION_BYTES + (header.ancount + header.nscount + header.arcount) * MIN_RECORD_BYTES > body) {
    throw new WireFormatError(`section counts (${header.qdcount}/${header.ancount}/${header.nscount}/${header.arcount}) cannot fit in ${body} bytes`);
  }
  const questions: Question[] = [];
  for (let i = 0; i < header.qdcount; i++) {
    const name = reader.name();
    reader.need(4, 'question type and class');
    questions.push({ name, type: reader.u16(), class: reader.u16() });
  }
  const answers = readRecords(reader, header.ancount, 'answer');
  const authorities = readRecords(reader, header.nscount, 'authority');
  const additionalsWithOpt = readRecords(reader, header.arcount, 'additional');
  if (reader.offset !== bytes.length) {
    throw new WireFormatError(`${bytes.length - reader.offset} bytes of trailing data after the counted records`);
  }
  const { edns, extendedRcode, additionals } = takeOpt(additionalsWithOpt);
  // An explicit literal: object rest/spread here is the slowest part of a hot path.
  return {
    id: header.id, qr: header.qr, opcode: header.opcode, aa: header.aa, tc: header.tc, rd: header.rd, ra: header.ra,
    ad: header.ad, cd: header.cd, rcode: (extendedRcode << 4) | header.rcode,
    questions, answers, authorities, additionals, edns,
  };
}


function readRecords(reader: Reader, count: number, section: string): ResourceRecord[] {
  const records: ResourceRecord[] = [];
  for (let i = 0; i < count; i++) {
    const name = reader.name();
    reader.need(10, `${section} record header`);
    const type = reader.u16();
    const klass = reader.u16();
    // RFC 2181 §8: a TTL with the most significant bit set is treated as zero (OPT uses the
    // field for flags and keeps it as is).
    const rawTtl = reader.u32();
    const ttl = type !== RRType.OPT && rawTtl > 0x7fffffff ? 0 : rawTtl;
    const rdlength = reader.u16();
    reader.need(rdlength, `${section} RDATA of ${name}`);
    const start = reader.offset;
    reader.offset += rdlength;
    if (type === RRType.OPT && section !== 'additional') throw new WireFormatError(`OPT record in the ${section} section`);
    records.push({ name, type, class: klass, ttl, rdata: expandRdata(reader.bytes, start, rdlength, type, name) });
  }
  return records;
}

/** RDATA bytes with compressed names expanded; an owned copy, never a view into the packet. */
function expandRdata(bytes: Uint8Array, start: number, rdlength: number, type: number, owner: string): Uint8Array {
  const layout = readLayout(type);
  if (!layout) return bytes.slice(start, start + rdlength);
  const end = start + rdlength;
  const parts: Uint8Array[] = [];
  let offset = start;
  for (const part of layout) {
    if (part === 'name') {
      const decoded = readNameWire(bytes, offset);
      offset += decoded.length;
      parts.push(decoded.wire);
    } else {
      const count = part === 'rest' ? end - offset : part;
      parts.push(bytes.subarray(offset, offset + count));
      offset += count;
    }
    if (offset > end) throw new WireFormatError(`RDATA of ${owner} (type ${type}) is longer than its RDLENGTH ${rdlength}`);
  }
  if (offset !== end) throw new WireFormatError(`RDATA of ${owner} (type ${type}) has ${end - offset} bytes beyond its fields`);
  const total = parts.reduce((sum, p) => sum + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function takeOpt(records: ResourceRecord[]): { edns: Edns | undefined; extendedRcode: number; additionals: ResourceRecord[] } {
  const opts = records.filter((r) => r.type === RRType.OPT);
  if (opts.length === 0) return { edns: undefined, extendedRcode: 0, additionals: records };
  // RFC 6891 §6.1.1: more than one OPT, or an OPT not owned by the root, is FORMERR.
  if (opts.length > 1) throw new WireFormatError(`message carries ${opts.length} OPT records`);
  const opt = opts[0]!;
  if (opt.name !== '.') throw new WireFormatError(`OPT record owned by ${opt.name} instead of the root`);
  const options: EdnsOption[] = [];
  let offset = 0;
  while (offset < opt.rdata.length) {
    if (offset + 4 > opt.rdata.length) throw new WireFormatError('EDNS option header runs past the OPT RDATA');
    const code = (opt.rdata[offset]! << 8) | opt.rdata[offset + 1]!;
    const length = (opt.rdata[offset + 2]! << 8) | opt.rdata[offset + 3]!;
    if (offset + 4 + length > opt.rdata.length) throw new WireFormatError(`EDNS option ${code} runs past the OPT RDATA`);
    options.push({ code, data: opt.rdata.slice(offset + 4, offset + 4 + length) });
    offset += 4 + length;
  }
  const edns: Edns = {
    udpPayloadSize: opt.class,
    version: (opt.ttl >>> 16) & 0xff,
    dnssecOk: (opt.ttl & 0x8000) !== 0,
    options,
  };
  return { edns, extendedRcode: opt.ttl >>> 24, additionals: records.filter((r) => r.type !== RRType.OPT) };
}
