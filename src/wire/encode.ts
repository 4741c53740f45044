/** Writes messages (RFC 1035 §4.1) with name compression (§4.1.4) for owners and RFC 1035 RDATA. */
import { WireFormatError } from '../core/errors.js';
import { RRType } from './constants.js';
import type { Edns, Message, ResourceRecord } from './message.js';
import { nameToLabels, plainLabels, readName } from './name.js';
import { RFC1035_LAYOUTS } from './rdata-layout.js';

/** Offsets above this cannot be the target of a 14-bit compression pointer. */
const MAX_POINTER_OFFSET = 0x3fff;
/** RFC 1035 §4.2.2: a message must fit a 16-bit TCP length. */
const MAX_MESSAGE_BYTES = 0xffff;

class Writer {
  private buffer = new Uint8Array(4096);
  length = 0;
  /** Suffix key (see `name`) → offset where that suffix was written. */
  private readonly suffixes = new Map<string, number>();

  /** Starts a new message in the same buffer (encodeMessage is synchronous, so one writer serves all). */
  reset(): void {
    this.length = 0;
    this.suffixes.clear();
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  u8(value: number): void {
    this.ensure(1);
    this.buffer[this.length++] = value & 0xff;
  }

  u16(value: number): void {
    this.ensure(2);
    this.buffer[this.length++] = (value >>> 8) & 0xff;
    this.buffer[this.length++] = value & 0xff;
  }

  u32(value: number): void {
    this.u16(Math.floor(value / 0x10000) & 0xffff);
    this.u16(value & 0xffff);
  }

  bytes(data: Uint8Array): void {
    this.ensure(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
  }

  setU16(at: number, value: number): void {
    this.buffer[at] = (value >>> 8) & 0xff;
    this.buffer[at + 1] = value & 0xff;
  }

  /**
   * Writes a name, reusing the longest suffix already written. A name without escapes is written
   * from its text directly and keyed by its lowercased text suffix ("example.com."); one with
   * escapes goes through its bytes and a byte-level key, a format the text keys never equal.
   */
  name(name: string, compress: boolean): void {
    const plain = plainLabels(name);
    if (plain) {
      this.labels(plain.length, compress ? plainSuffixKeys(plain) : undefined, (i) => this.textLabel(plain[i]!));
      return;
    }
    const labels = nameToLabels(name);
    this.labels(labels.length, compress ? suffixKeys(labels) : undefined, (i) => {
      this.u8(labels[i]!.length);
      this.bytes(labels[i]!);
    });
  }

  /** Writes `count` labels, ending in a pointer to the first suffix already written, or in the root. */
  private labels(count: number, keys: readonly string[] | undefined, writeLabel: (index: number) => void): void {
    for (let i = 0; i < count; i++) {
      if (keys) {
        const previous = this.suffixes.get(keys[i]!);
        if (previous !== undefined) {
          this.u16(0xc000 | previous);
          return;
        }
        if (this.length <= MAX_POINTER_OFFSET) this.suffixes.set(keys[i]!, this.length);
      }
      writeLabel(i);
    }
    this.u8(0);
  }

  private textLabel(label: string): void {
    this.ensure(label.length + 1);
    this.buffer[this.length++] = label.length;
    for (let c = 0; c < label.length; c++) this.buffer[this.length++] = label.charCodeAt(c);
  }

  result(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

/** Keys of the suffixes of an unescaped name: its lowercased text from each label on ("example.com."). */
function plainSuffixKeys(labels: readonly string[]): string[] {
  const keys = new Array<string>(labels.length);
  let suffix = '';
  for (let i = labels.length - 1; i >= 0; i--) {
    suffix = `${labels[i]!.toLowerCase()}.${suffix}`;
    keys[i] = suffix;
  }
  return keys;
}

/** Keys of the suffixes of an escaped name, byte-level, in a format no text key can equal. */
function suffixKeys(labels: readonly Uint8Array[]): string[] {
  const keys: string[] = new Array<string>(labels.length);
  let key = '';
  for (let i = labels.length - 1; i >= 0; i--) {
    let label = '';
    for (const byte of labels[i]!) label += String.fromCharCode(byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte);
    key = `${label.length}:${label}|${key}`;
    keys[i] = key;
  }
  return keys;
}

export interface EncodeOptions {
  /** Compress names (default true). Off only for tests that need the plain form. */
  readonly compress?: boolean;
}

const writer = new Writer();

export function encodeMessage(message: Message, options: EncodeOptions = {}): Uint8Array {
  const compress = options.compress ?? true;
  const w = writer;
  w.reset();
  if (message.rcode > 0xfff) throw new WireFormatError(`RCODE ${message.rcode} does not fit in 12 bits`);
  if (message.rcode > 0xf && !message.edns) throw new WireFormatError(`RCODE ${message.rcode} needs EDNS`);
  w.u16(message.id);
  w.u16(
    (message.qr ? 0x8000 : 0) | ((message.opcode & 0xf) << 11) | (message.aa ? 0x0400 : 0) |
    (message.tc ? 0x0200 : 0) | (message.rd ? 0x0100 : 0) | (message.ra ? 0x0080 : 0) |
    (message.ad ? 0x0020 : 0) | (message.cd ? 0x0010 : 0) | (message.rcode & 0xf),
  );
  w.u16(message.questions.length);
  w.u16(message.answers.length);
  w.u16(message.authorities.length);
  w.u16(message.additionals.length + (message.edns ? 1 : 0));
  for (const q of message.questions) {
    w.name(q.name, compress);
    w.u16(q.type);
    w.u16(q.class);
  }
  for (const section of [message.answers, message.authorities, message.additionals]) {
    for (const record of section) writeRecord(w, record, compress);
  }
  if (message.edns) writeOpt(w, message.edns, message.rcode >>> 4);
  if (w.length > MAX_MESSAGE_BYTES) throw new WireFormatError(`encoded message of ${w.length} bytes exceeds ${MAX_MESSAGE_BYTES} bytes`);
  return w.result();
}

function writeRecord(w: Writer, record: ResourceRecord, compress: boolean): void {
  w.name(record.name, compress);
  w.u16(record.type);
  w.u16(record.class);
  w.u32(record.ttl);
  const lengthAt = w.length;
  w.u16(0);
  const layout = compress ? RFC1035_LAYOUTS.get(record.type) : undefined;
  if (!layout) {
    w.bytes(record.rdata);
  } else {
    let offset = 0;
    for (const part of layout) {
      if (part === 'name') {
        const decoded = readName(record.rdata, offset);
        offset += decoded.length;
        w.name(decoded.name, true);
      } else {
        const count = part === 'rest' ? record.rdata.length - offset : part;
        w.bytes(record.rdata.subarray(offset, offset + count));
        offset += count;
      }
    }
  }
  const rdlength = w.length - lengthAt - 2;
  if (rdlength > 0xffff) throw new WireFormatError(`RDATA of ${record.name} is longer than 65535 bytes`);
  w.setU16(lengthAt, rdlength);
}

function writeOpt(w: Writer, edns: Edns, extendedRcode: number): void {
  w.u8(0);
  w.u16(RRType.OPT);
  w.u16(edns.udpPayloadSize);
  w.u8(extendedRcode);
  w.u8(edns.version);
  w.u16(edns.dnssecOk ? 0x8000 : 0);
  const optionBytes = edns.options.reduce((sum, o) => sum + 4 + o.data.length, 0);
  w.u16(optionBytes);
  for (const option of edns.options) {
    w.u16(option.code);
    w.u16(option.data.length);
    w.bytes(option.data);
  }
}
