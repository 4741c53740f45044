/**
 * Canonical RR form and RRset order (RFC 4034 §6.2, §6.3) and the data an RRSIG signs (RFC 4034
 * §3.1.8.1, RFC 4035 §5.3.2), built from the RDATA bytes as received, never by re-encoding.
 *
 * Which embedded names are lowercased: RFC 4034 §6.2 item 3 lists NS, MD, MF, CNAME, SOA, MB, MG,
 * MR, PTR, HINFO, MINFO, MX, HINFO, RP, AFSDB, RT, SIG, PX, NXT, NAPTR, KX, SRV, DNAME, A6, RRSIG
 * and NSEC. RFC 6840 §5.1 corrects it: "DNS names in the RDATA section of NSEC resource records
 * are not converted to lowercase. DNS names in the RDATA section of RRSIG resource records are
 * converted to lowercase." RFC 3597 §7 closes the list: every other type, known or not, is
 * canonical as its bytes stand, and names in types defined later are never lowercased. HINFO is
 * listed but holds only character-strings, so it too stays byte for byte.
 */
import { WireFormatError } from '../core/errors.js';
import { RRType } from '../wire/constants.js';
import type { ResourceRecord } from '../wire/message.js';
import type { RdataPart } from '../wire/rdata-layout.js';
import { labelsToWire } from '../wire/name.js';
import { canonicalLabels, canonicalNameWire } from './canonical-name.js';
import { parseRrsig, type RrsigRdata } from './dnssec-rdata.js';

/** IANA RR TYPEs of RFC 4034 §6.2's list that wire/constants.ts does not name (RFC 1183, 2163, 2535, 3403, 2230, 2874). */
const HistoricType = { RP: 17, AFSDB: 18, RT: 21, SIG: 24, PX: 26, NXT: 30, NAPTR: 35, KX: 36, A6: 38 } as const;

/** A layout part, or a <character-string> (one length byte, then that many bytes). */
type CanonicalPart = RdataPart | 'string';

const oneName: readonly CanonicalPart[] = ['name'];
const afterTwo: readonly CanonicalPart[] = [2, 'name'];
const sigLayout: readonly CanonicalPart[] = [18, 'name', 'rest'];

/** Where the lowercased names sit, per type; A6 has a variable layout (RFC 2874 §3.1). */
const LOWERCASED: ReadonlyMap<number, readonly CanonicalPart[] | 'a6'> = new Map<number, readonly CanonicalPart[] | 'a6'>([
  [RRType.NS, oneName], [RRType.MD, oneName], [RRType.MF, oneName], [RRType.CNAME, oneName],
  [RRType.SOA, ['name', 'name', 20]], [RRType.MB, oneName], [RRType.MG, oneName], [RRType.MR, oneName],
  [RRType.PTR, oneName], [RRType.MINFO, ['name', 'name']], [RRType.MX, afterTwo],
  [HistoricType.RP, ['name', 'name']], [HistoricType.AFSDB, afterTwo], [HistoricType.RT, afterTwo],
  [HistoricType.SIG, sigLayout], [HistoricType.PX, [2, 'name', 'name']], [HistoricType.NXT, ['name', 'rest']],
  [HistoricType.NAPTR, [2, 2, 'string', 'string', 'string', 'name']], [HistoricType.KX, afterTwo],
  [RRType.SRV, [6, 'name']], [RRType.DNAME, oneName], [HistoricType.A6, 'a6'], [RRType.RRSIG, sigLayout],
]);

/** Lowercases the uncompressed name at `start` in place; returns the offset just past it. */
function lowercaseName(bytes: Uint8Array, start: number, type: number): number {
  let offset = start;
  for (;;) {
    if (offset >= bytes.length) throw new WireFormatError(`type ${type} RDATA: name at offset ${start} runs past the RDATA`);
    const length = bytes[offset]!;
    if (length === 0) return offset + 1;
    if (length > 63) throw new WireFormatError(`type ${type} RDATA: name at offset ${start} is compressed or has a bad label type`);
    for (let i = offset + 1; i <= offset + length && i < bytes.length; i++) {
      const byte = bytes[i]!;
      if (byte >= 0x41 && byte <= 0x5a) bytes[i] = byte | 0x20;
    }
    offset += 1 + length;
  }
}

/** RFC 2874 §3.1: prefix length, (128 − prefix length) / 8 rounded up suffix bytes, then a name unless the prefix length is 0. */
function a6Layout(rdata: Uint8Array): readonly CanonicalPart[] {
  const prefixLength = rdata[0];
  if (prefixLength === undefined || prefixLength > 128) throw new WireFormatError('A6 RDATA has no valid prefix length');
  const suffixBytes = Math.ceil((128 - prefixLength) / 8);
  return prefixLength === 0 ? [1, suffixBytes] : [1, suffixBytes, 'name'];
}

/**
 * RFC 4034 §6.2 item 3 (with RFC 6840 §5.1): the RDATA with the embedded names of the listed
 * types lowercased. Other types come back as the same bytes. Throws WireFormatError when the
 * RDATA does not fit its type's layout.
 */
export function canonicalRdata(type: number, rdata: Uint8Array): Uint8Array {
  const layout = LOWERCASED.get(type);
  if (!layout) return rdata;
  const parts = layout === 'a6' ? a6Layout(rdata) : layout;
  const out = rdata.slice();
  let offset = 0;
  for (const part of parts) {
    if (part === 'name') offset = lowercaseName(out, offset, type);
    else if (part === 'rest') offset = out.length;
    else if (part === 'string') offset += 1 + (out[offset] ?? out.length);
    else offset += part;
    if (offset > out.length) throw new WireFormatError(`type ${type} RDATA of ${rdata.length} bytes is shorter than its fields`);
  }
  if (offset !== out.length) throw new WireFormatError(`type ${type} RDATA has ${out.length - offset} bytes beyond its fields`);
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * RFC 4034 §6.3: canonical RDATA of each RR, sorted "as a left-justified unsigned octet sequence
 * in which the absence of an octet sorts before a zero octet". Duplicates: "it MUST remove all
 * but one of the duplicate RR(s) for the purposes of calculating the canonical form".
 */
export function canonicalRrsetRdata(rrset: readonly ResourceRecord[]): Uint8Array[] {
  const sorted = rrset.map((rr) => canonicalRdata(rr.type, rr.rdata)).sort(compareBytes);
  return sorted.filter((rdata, i) => i === 0 || compareBytes(rdata, sorted[i - 1]!) !== 0);
}

/**
 * RFC 4034 §3.1.8.1: the owner as signed. When the RRSIG Labels field is smaller than the owner's
 * label count the RRset was synthesized from a wildcard: 'name = "*." | the rightmost rrsig_label
 * labels of the fqdn'. (Labels greater than the count is refused by the caller, RFC 4035 §5.3.1.)
 */
export function signedOwnerWire(owner: string, rrsigLabels: number): Uint8Array {
  const labels = canonicalLabels(owner);
  if (rrsigLabels >= labels.length) return canonicalNameWire(owner);
  return labelsToWire([Uint8Array.of(0x2a), ...labels.slice(labels.length - rrsigLabels)]);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * RFC 4034 §3.1.8.1: "signature = sign(RRSIG_RDATA | RR(1) | RR(2)... )", where RRSIG_RDATA is
 * the RRSIG RDATA without the Signature, Signer's Name in canonical form, and each RR is
 * "owner | type | class | TTL | RDATA length | RDATA" in canonical form and order, with the TTL
 * the RRSIG's Original TTL. `rrset` must share owner, type and class (verifyRrset checks this).
 */
export function signedData(rrsig: ResourceRecord, rrset: readonly ResourceRecord[], parsed: RrsigRdata = parseRrsig(rrsig)): Uint8Array {
  const first = rrset[0];
  if (!first) throw new WireFormatError(`no records to build the data signed by the RRSIG of ${rrsig.name}`);
  const prefix = canonicalRdata(RRType.RRSIG, rrsig.rdata.subarray(0, parsed.signatureOffset));
  const owner = signedOwnerWire(first.name, parsed.labels);
  const parts: Uint8Array[] = [prefix];
  for (const rdata of canonicalRrsetRdata(rrset)) {
    const header = new Uint8Array(10);
    const view = new DataView(header.buffer);
    view.setUint16(0, first.type);
    view.setUint16(2, first.class);
    view.setUint32(4, parsed.originalTtl);
    view.setUint16(8, rdata.length);
    parts.push(owner, header, rdata);
  }
  return concat(parts);
}
