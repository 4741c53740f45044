/**
 * Domain names on the wire (RFC 1035 §3.1, §4.1.4) and in presentation form (RFC 1035 §5.1).
 *
 * oedns keeps a name as its presentation string, absolute (trailing dot), original case, with
 * every byte that is not a letter, digit, '-', '_' or '*' escaped as \DDD or \X. That string
 * round-trips to the exact wire labels, so binary labels survive; lowercasing it gives the
 * canonical key (RFC 4034 §6.2 lowercases ASCII letters only, and only those appear unescaped).
 */
import { WireFormatError } from '../core/errors.js';
import { MAX_LABEL_BYTES, MAX_NAME_WIRE_BYTES } from './constants.js';

/** Compression pointers followed in one name; backward-only pointers already rule out loops. */
const MAX_POINTER_JUMPS = 64;

export interface DecodedName {
  readonly name: string;
  /** Bytes the name occupies at its position (a pointer counts 2 bytes, its target nothing). */
  readonly length: number;
}

export interface DecodedNameWire {
  /** Uncompressed wire form, original case. */
  readonly wire: Uint8Array;
  readonly length: number;
}

/**
 * Walks a possibly compressed name, calling `label` for each label's position, and returns the
 * bytes it occupies at `start`. Rejects loops, forward pointers, bad label types and oversize names.
 */
function walkName(message: Uint8Array, start: number, label: (offset: number, length: number) => void): number {
  let wireLength = 1;
  let offset = start;
  let length = -1;
  let jumps = 0;
  let lowestTarget = start;
  for (;;) {
    if (offset >= message.length) throw new WireFormatError(`name at offset ${start} runs past the end of the message`);
    const labelLength = message[offset]!;
    if (labelLength === 0) return length < 0 ? offset + 1 - start : length;
    const kind = labelLength & 0xc0;
    if (kind === 0xc0) {
      if (offset + 1 >= message.length) throw new WireFormatError(`name at offset ${start} has a truncated pointer`);
      const target = ((labelLength & 0x3f) << 8) | message[offset + 1]!;
      // RFC 1035 §4.1.4: a pointer refers to a *prior* occurrence. Requiring each jump to land
      // before every earlier one makes loops impossible; the jump cap bounds the work anyway.
      if (target >= lowestTarget) throw new WireFormatError(`name at offset ${start} has a compression pointer that does not point backward (loop)`);
      if (++jumps > MAX_POINTER_JUMPS) throw new WireFormatError(`name at offset ${start} has too many compression pointers`);
      if (length < 0) length = offset + 2 - start;
      lowestTarget = target;
      offset = target;
      continue;
    }
    if (kind !== 0) throw new WireFormatError(`name at offset ${start} uses an unsupported label type 0x${kind.toString(16)}`);
    if (offset + 1 + labelLength > message.length) throw new WireFormatError(`name at offset ${start} has a label past the end of the message`);
    wireLength += 1 + labelLength;
    if (wireLength > MAX_NAME_WIRE_BYTES) throw new WireFormatError(`name at offset ${start} is longer than ${MAX_NAME_WIRE_BYTES} bytes`);
    label(offset + 1, labelLength);
    offset += 1 + labelLength;
  }
}

/** Reads a possibly compressed name as presentation text. */
export function readName(message: Uint8Array, start: number): DecodedName {
  let name = '';
  const length = walkName(message, start, (offset, labelLength) => {
    for (let i = offset; i < offset + labelLength; i++) name += byteText(message[i]!);
    name += '.';
  });
  return { name: name === '' ? '.' : name, length };
}

/** Reads a possibly compressed name as uncompressed wire bytes. */
export function readNameWire(message: Uint8Array, start: number): DecodedNameWire {
  const parts: Array<[number, number]> = [];
  let total = 1;
  const length = walkName(message, start, (offset, labelLength) => {
    parts.push([offset, labelLength]);
    total += 1 + labelLength;
  });
  const wire = new Uint8Array(total);
  let at = 0;
  for (const [offset, labelLength] of parts) {
    wire[at++] = labelLength;
    wire.set(message.subarray(offset, offset + labelLength), at);
    at += labelLength;
  }
  return { wire, length };
}

function isPlain(byte: number): boolean {
  return (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x30 && byte <= 0x39) ||
    byte === 0x2d || byte === 0x5f || byte === 0x2a;
}

function byteText(byte: number): string {
  if (isPlain(byte)) return String.fromCharCode(byte);
  if (byte > 0x20 && byte < 0x7f) return `\\${String.fromCharCode(byte)}`;
  return `\\${byte.toString().padStart(3, '0')}`;
}

function labelsToText(labels: readonly Uint8Array[]): string {
  if (labels.length === 0) return '.';
  let text = '';
  for (const label of labels) {
    for (const byte of label) text += byteText(byte);
    text += '.';
  }
  return text;
}

/** Presentation text to wire labels; accepts relative names as absolute. Throws on bad escapes. */
export function nameToLabels(name: string): Uint8Array[] {
  if (name === '.' || name === '') return [];
  const labels: Uint8Array[] = [];
  let current: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const ch = name.charCodeAt(i);
    if (ch === 0x2e) {
      if (current.length === 0) throw new WireFormatError(`name "${name}" has an empty label`);
      labels.push(Uint8Array.from(current));
      current = [];
    } else if (ch === 0x5c) {
      const digits = /^\d{3}/.exec(name.slice(i + 1, i + 4));
      if (digits) {
        const value = Number(digits[0]);
        if (value > 255) throw new WireFormatError(`name "${name}" has an escape above \\255`);
        current.push(value);
        i += 3;
      } else {
        if (i + 1 >= name.length) throw new WireFormatError(`name "${name}" ends in a lone backslash`);
        current.push(name.charCodeAt(++i));
      }
    } else {
      if (ch > 0x7f) throw new WireFormatError(`name "${name}" has a non-ASCII character; use \\DDD escapes`);
      current.push(ch);
    }
    if (current.length > MAX_LABEL_BYTES) throw new WireFormatError(`name "${name}" has a label longer than ${MAX_LABEL_BYTES} bytes`);
  }
  if (current.length > 0) labels.push(Uint8Array.from(current));
  const wireLength = labels.reduce((sum, l) => sum + 1 + l.length, 1);
  if (wireLength > MAX_NAME_WIRE_BYTES) throw new WireFormatError(`name "${name}" is longer than ${MAX_NAME_WIRE_BYTES} bytes`);
  return labels;
}

/** Uncompressed wire form of labels (leftmost first), the root label appended. */
export function labelsToWire(labels: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(labels.reduce((sum, l) => sum + 1 + l.length, 1));
  let at = 0;
  for (const label of labels) {
    out[at++] = label.length;
    out.set(label, at);
    at += label.length;
  }
  return out;
}

/**
 * The labels of a name written without escapes (the usual case), checked for the same limits
 * as nameToLabels; undefined when the name has escapes or non-ASCII text (use nameToLabels).
 */
export function plainLabels(name: string): string[] | undefined {
  if (name.includes('\\')) return undefined;
  if (name === '.' || name === '') return [];
  const labels = name.split('.');
  if (labels[labels.length - 1] === '') labels.pop();
  let wireLength = 1;
  for (const label of labels) {
    if (label.length === 0) throw new WireFormatError(`name "${name}" has an empty label`);
    if (label.length > MAX_LABEL_BYTES) throw new WireFormatError(`name "${name}" has a label longer than ${MAX_LABEL_BYTES} bytes`);
    wireLength += 1 + label.length;
  }
  if (wireLength > MAX_NAME_WIRE_BYTES) throw new WireFormatError(`name "${name}" is longer than ${MAX_NAME_WIRE_BYTES} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(name)) return undefined;
  return labels;
}

/** Absolute presentation form: `example.org` → `example.org.`; checks the name is encodable. */
export function normalizeName(name: string): string {
  return labelsToText(nameToLabels(name));
}

/**
 * A map key for a name: its uncompressed wire form with ASCII letters lowercased, as a latin1
 * string. readPlainQuery builds the same key straight from a packet's bytes. (Not
 * String#toLowerCase on latin1, which would also fold bytes 0xC0–0xDE and merge distinct names.)
 */
export function nameKey(name: string): string {
  const plain = plainLabels(name);
  if (plain) {
    // Plain text is ASCII, so String#toLowerCase folds exactly the letters RFC 4343 folds.
    let key = '';
    for (const label of plain) key += String.fromCharCode(label.length) + label.toLowerCase();
    return `${key}\u0000`;
  }
  let key = '';
  for (const label of nameToLabels(name)) {
    key += String.fromCharCode(label.length);
    for (const byte of label) key += String.fromCharCode(byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte);
  }
  return `${key}\u0000`;
}

/** Canonical comparison key (RFC 4034 §6.2: ASCII letters lowercased). */
export function canonicalName(name: string): string {
  return name.toLowerCase();
}

export function namesEqual(a: string, b: string): boolean {
  return a.length === b.length && a.toLowerCase() === b.toLowerCase();
}
