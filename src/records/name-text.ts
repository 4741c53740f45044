/**
 * Domain names inside key records. The IPSECKEY gateway is an uncompressed wire name
 * (RFC 4025 §2.5); it is printed as dig prints names, which escapes fewer bytes than oedns'
 * own presentation form (wire/name.ts): BIND's dns_name_totext (zone-file mode) escapes
 * `"().;\@$`, writes other printable ASCII bare (`+`, `/`, `*`, `_` included) and the rest as
 * \DDD. Both forms read back to the same labels.
 */
import { MAX_LABEL_BYTES, MAX_NAME_WIRE_BYTES } from '../wire/constants.js';
import { labelsToWire, nameToLabels, readName } from '../wire/name.js';
import type { RdataReader } from './rdata-reader.js';

/** RFC 1035 §4.1.4: label-length bytes with these top bits are compression pointers. */
const POINTER_BITS = 0xc0;

/**
 * Reads an uncompressed name at the reader's position; returns it in oedns' presentation form.
 * A compression pointer is refused: RFC 4025 §2.5 says the gateway name "MUST NOT be compressed",
 * and RDATA held without its message has nothing a pointer could point to.
 */
export function readUncompressedName(reader: RdataReader, field: string): string {
  const start = reader.offset;
  let wireLength = 0;
  for (;;) {
    const labelLength = reader.u8(`${field} label length`);
    wireLength += 1 + labelLength;
    if (labelLength === 0) break;
    if ((labelLength & POINTER_BITS) === POINTER_BITS) throw reader.fail(`${field} is compressed, which RFC 4025 §2.5 forbids`);
    if (labelLength > MAX_LABEL_BYTES) throw reader.fail(`${field} has an unsupported label type 0x${(labelLength & POINTER_BITS).toString(16)}`);
    if (wireLength > MAX_NAME_WIRE_BYTES) throw reader.fail(`${field} is longer than ${MAX_NAME_WIRE_BYTES} bytes`);
    reader.skip(labelLength, `${field} label`);
  }
  return readName(reader.rdata.subarray(start, start + wireLength), 0).name;
}

/** Uncompressed wire form of a name in presentation form; throws WireFormatError if it is not one. */
export function nameWire(name: string): Uint8Array {
  return labelsToWire(nameToLabels(name));
}

const DIG_ESCAPED = new Set([0x22, 0x24, 0x28, 0x29, 0x2e, 0x3b, 0x40, 0x5c]);

/** A name as dig (BIND 9.18 dns_name_totext) prints it. */
export function digNameText(name: string): string {
  const labels = nameToLabels(name);
  if (labels.length === 0) return '.';
  let text = '';
  for (const label of labels) {
    for (const byte of label) {
      if (DIG_ESCAPED.has(byte)) text += `\\${String.fromCharCode(byte)}`;
      else if (byte > 0x20 && byte < 0x7f) text += String.fromCharCode(byte);
      else text += `\\${byte.toString().padStart(3, '0')}`;
    }
    text += '.';
  }
  return text;
}
