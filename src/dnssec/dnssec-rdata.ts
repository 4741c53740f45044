/**
 * The RDATA of DNSKEY (RFC 4034 §2.1), RRSIG (§3.1) and DS (§5.1), read from the bytes a record
 * arrived with (`rr.rdata`, names already uncompressed). Malformed RDATA throws WireFormatError
 * naming the record; the validator turns that into a bogus verdict.
 */
import { WireFormatError } from '../core/errors.js';
import { typeName } from '../wire/constants.js';
import type { ResourceRecord } from '../wire/message.js';
import { readName } from '../wire/name.js';
import { keyTag } from './key-tag.js';

/** RFC 4034 §2.1.1 and RFC 5011 §7 — DNSKEY flag bits (bit 0 is the most significant of 16). */
export const DnskeyFlag = { ZoneKey: 0x0100, Revoke: 0x0080, SecureEntryPoint: 0x0001 } as const;
export type DnskeyFlag = (typeof DnskeyFlag)[keyof typeof DnskeyFlag];

/** RFC 4034 §2.1.2: the only Protocol value a DNSKEY may carry. */
export const DNSKEY_PROTOCOL = 3;

/** RFC 4034 §3.1: Type Covered through Key Tag, before the Signer's Name. */
export const RRSIG_FIXED_BYTES = 18;

export interface DnskeyRdata {
  readonly flags: number;
  readonly protocol: number;
  readonly algorithm: number;
  readonly publicKey: Uint8Array;
  /** RFC 4034 Appendix B tag of the whole RDATA. */
  readonly keyTag: number;
  readonly zoneKey: boolean;
  readonly secureEntryPoint: boolean;
  /** RFC 5011 §7: a revoked key is not used to validate anything. */
  readonly revoked: boolean;
}

export interface RrsigRdata {
  readonly typeCovered: number;
  readonly algorithm: number;
  readonly labels: number;
  readonly originalTtl: number;
  /** RFC 4034 §3.1.5: 32-bit serials of epoch seconds (compare with serial.ts, never with `<`). */
  readonly expirationEpoch: number;
  readonly inceptionEpoch: number;
  readonly keyTag: number;
  readonly signerName: string;
  readonly signature: Uint8Array;
  /** Where the Signature field starts: rdata.subarray(0, signatureOffset) is the signed prefix. */
  readonly signatureOffset: number;
}

export interface DsRdata {
  readonly keyTag: number;
  readonly algorithm: number;
  readonly digestType: number;
  readonly digest: Uint8Array;
}

function u16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}

function u32(bytes: Uint8Array, at: number): number {
  return bytes[at]! * 0x1000000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
}

function describe(rr: ResourceRecord): string {
  return `${typeName(rr.type)} of ${rr.name}`;
}

/**
 * Reads an uncompressed name at `start` and returns it with the offset just past it. A compression
 * pointer here means the RDATA was not expanded on receipt, so it is refused, not followed.
 */
export function readUncompressedName(bytes: Uint8Array, start: number, what: string): { name: string; end: number } {
  let offset = start;
  for (;;) {
    if (offset >= bytes.length) throw new WireFormatError(`${what}: name at offset ${start} runs past the RDATA`);
    const length = bytes[offset]!;
    if (length === 0) break;
    if (length > 63) throw new WireFormatError(`${what}: name at offset ${start} has a compression pointer or bad label type`);
    offset += 1 + length;
  }
  return { name: readName(bytes, start).name, end: offset + 1 };
}

/**
 * Parsed DNSKEYs by record: a zone's DNSKEY RRset stays in the chain-of-trust cache and is
 * matched against every RRSIG of the zone, so its key tags are computed once.
 */
const parsedDnskeys = new WeakMap<ResourceRecord, DnskeyRdata>();

export function parseDnskey(rr: ResourceRecord): DnskeyRdata {
  let parsed = parsedDnskeys.get(rr);
  if (!parsed) {
    parsed = readDnskey(rr);
    parsedDnskeys.set(rr, parsed);
  }
  return parsed;
}

function readDnskey(rr: ResourceRecord): DnskeyRdata {
  const bytes = rr.rdata;
  // RFC 4034 §2.1: Flags (2), Protocol (1), Algorithm (1), then a Public Key of at least one byte.
  if (bytes.length < 5) throw new WireFormatError(`${describe(rr)} has ${bytes.length} bytes of RDATA; a DNSKEY needs at least 5`);
  const flags = u16(bytes, 0);
  return {
    flags,
    protocol: bytes[2]!,
    algorithm: bytes[3]!,
    publicKey: bytes.subarray(4),
    keyTag: keyTag(bytes),
    zoneKey: (flags & DnskeyFlag.ZoneKey) !== 0,
    secureEntryPoint: (flags & DnskeyFlag.SecureEntryPoint) !== 0,
    revoked: (flags & DnskeyFlag.Revoke) !== 0,
  };
}

export function parseRrsig(rr: ResourceRecord): RrsigRdata {
  const bytes = rr.rdata;
  const what = describe(rr);
  if (bytes.length < RRSIG_FIXED_BYTES + 1) throw new WireFormatError(`${what} has ${bytes.length} bytes of RDATA, too few for an RRSIG`);
  const signer = readUncompressedName(bytes, RRSIG_FIXED_BYTES, what);
  if (signer.end >= bytes.length) throw new WireFormatError(`${what} has an empty Signature field`);
  return {
    typeCovered: u16(bytes, 0),
    algorithm: bytes[2]!,
    labels: bytes[3]!,
    originalTtl: u32(bytes, 4),
    expirationEpoch: u32(bytes, 8),
    inceptionEpoch: u32(bytes, 12),
    keyTag: u16(bytes, 16),
    signerName: signer.name,
    signature: bytes.subarray(signer.end),
    signatureOffset: signer.end,
  };
}

export function parseDs(rr: ResourceRecord): DsRdata {
  const bytes = rr.rdata;
  // RFC 4034 §5.1: Key Tag (2), Algorithm (1), Digest Type (1), then a non-empty Digest.
  if (bytes.length < 5) throw new WireFormatError(`${describe(rr)} has ${bytes.length} bytes of RDATA; a DS needs at least 5`);
  return { keyTag: u16(bytes, 0), algorithm: bytes[2]!, digestType: bytes[3]!, digest: bytes.subarray(4) };
}
