/**
 * NSEC3 records (RFC 5155): RDATA, hashed owner names and the hash itself. The proofs built on
 * them are in nsec3-proofs.ts. Signatures are not checked here.
 *
 * Glossary (RFC 5155 §1.3):
 *   - hashed owner name: an NSEC3's owner is `base32hex(H(original owner)).<zone>`; the RDATA holds
 *     the next hashed owner name of the zone's hash-ordered chain as raw bytes.
 *   - matching NSEC3: its owner hash equals H(name); it proves the name exists and lists its types
 *     (an empty non-terminal has an NSEC3 with no types).
 *   - covering NSEC3: H(name) sorts strictly between its owner hash and its next hash (the last
 *     NSEC3 of the chain wraps round to the first); it proves the name does not exist, unless the
 *     NSEC3 has the Opt-Out flag, in which case an unsigned delegation may exist in the span.
 *   - closest encloser: the longest existing ancestor of a name.
 *   - next closer name: the closest encloser with one more label of the query name; covering it
 *     proves that nothing exists between the closest encloser and the query name.
 *   - closest encloser proof (§8.3): a matching NSEC3 for the closest encloser plus a covering NSEC3
 *     for the next closer name.
 *   - wildcard at the closest encloser: `*.<closest encloser>`, the name that would have synthesised
 *     an answer (RFC 4592).
 */
import { createHash } from 'node:crypto';
import { WireFormatError } from '../core/errors.js';
import { RRType, type ResourceRecord } from '../wire/index.js';
import { ancestorName, canonicalNameWire, compareCanonical, presentationLabels } from './canonical-name.js';
import { MAX_NSEC3_HASHES_PER_ANSWER } from './limits.js';
import { decodeTypeBitmap, type TypeBitmap } from './type-bitmap.js';


/** IANA "DNSSEC NSEC3 Hash Algorithms" (RFC 5155 §11). */
export const Nsec3HashAlgorithm = { Sha1: 1 } as const;
export type Nsec3HashAlgorithm = (typeof Nsec3HashAlgorithm)[keyof typeof Nsec3HashAlgorithm];

/** IANA "DNSSEC NSEC3 Flags" (RFC 5155 §3.1.2, §11). */
export const Nsec3Flag = { OptOut: 0x01 } as const;

const SHA1_BYTES = 20;

export interface Nsec3Rdata {
  readonly hashAlgorithm: number;
  readonly flags: number;
  readonly optOut: boolean;
  readonly iterations: number;
  readonly salt: Uint8Array;
  readonly nextHashedOwner: Uint8Array;
  readonly typeBitmap: TypeBitmap;
}

/** RFC 5155 §3.2: algorithm, flags, iterations (16 bits), salt and next hash (each length-prefixed), bit maps. */
export function parseNsec3Rdata(rdata: Uint8Array): Nsec3Rdata {
  if (rdata.length < 5) throw new WireFormatError(`NSEC3 RDATA of ${rdata.length} bytes is shorter than its fixed fields`);
  const saltLength = rdata[4]!;
  const hashAt = 5 + saltLength;
  if (hashAt + 1 > rdata.length) throw new WireFormatError('NSEC3 salt runs past the end of the RDATA');
  const hashLength = rdata[hashAt]!;
  const bitmapAt = hashAt + 1 + hashLength;
  // RFC 5155 §3.1.6: the Hash Length ranges from 1 to 255 octets.
  if (hashLength === 0) throw new WireFormatError('NSEC3 next hashed owner name is empty');
  if (bitmapAt > rdata.length) throw new WireFormatError('NSEC3 next hashed owner name runs past the end of the RDATA');
  const flags = rdata[1]!;
  return {
    hashAlgorithm: rdata[0]!,
    flags,
    optOut: (flags & Nsec3Flag.OptOut) !== 0,
    iterations: (rdata[2]! << 8) | rdata[3]!,
    salt: rdata.slice(5, hashAt),
    nextHashedOwner: rdata.slice(hashAt + 1, bitmapAt),
    typeBitmap: decodeTypeBitmap(rdata.subarray(bitmapAt)),
  };
}

/** RFC 4648 §7 "Extended Hex" alphabet; RFC 5155 §3.3 writes it without padding, case-insensitive. */
const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';

export function base32HexEncode(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32HEX[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32HEX[(buffer << (5 - bits)) & 31];
  return out;
}

/** Decodes unpadded base32hex; throws WireFormatError on other characters, impossible lengths or stray bits. */
export function base32HexDecode(text: string): Uint8Array {
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of text.toLowerCase()) {
    const value = BASE32HEX.indexOf(char);
    if (value < 0) throw new WireFormatError(`"${text}" is not base32hex: bad character "${char}"`);
    buffer = ((buffer << 5) | value) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((buffer >> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  // Leftover bits: fewer than 5 (else a character was superfluous), and all zero (else not canonical).
  if (bits >= 5 || (buffer & ((1 << bits) - 1)) !== 0) throw new WireFormatError(`"${text}" is not canonical base32hex`);
  return Uint8Array.from(out);
}

/**
 * RFC 5155 §5: IH(salt, x, 0) = H(x || salt); IH(salt, x, k) = H(IH(salt, x, k-1) || salt), over
 * the owner name "in the canonical form": uncompressed wire format, lowercased, a wildcard kept as
 * its `*` label. SHA-1 is the only algorithm (RFC 5155 §11). Costs iterations + 1 SHA-1 runs.
 */
export function nsec3Hash(name: string, salt: Uint8Array, iterations: number): Uint8Array {
  let digest = createHash('sha1').update(canonicalNameWire(name)).update(salt).digest();
  for (let i = 0; i < iterations; i++) digest = createHash('sha1').update(digest).update(salt).digest();
  return new Uint8Array(digest);
}

/** Shared by every NSEC3 proof of one answer; each name hashed takes one (CVE-2023-50868). */
export interface HashBudget {
  hashesLeft: number;
}

export function createHashBudget(hashes: number = MAX_NSEC3_HASHES_PER_ANSWER): HashBudget {
  return { hashesLeft: hashes };
}

/** An NSEC3 whose owner name is a hashed label of `zone` and whose fields are usable. */
export interface Nsec3Record {
  readonly owner: string;
  readonly ownerHash: Uint8Array;
  readonly rdata: Nsec3Rdata;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export function nsec3Matches(record: Nsec3Record, hash: Uint8Array): boolean {
  return compareBytes(record.ownerHash, hash) === 0;
}

/**
 * RFC 5155 §1.3 "covers": the hash sorts after the owner hash and before the next hashed owner
 * name; the last NSEC3 of the chain (next ≤ owner) covers what sorts after it or before the first.
 */
export function nsec3Covers(record: Nsec3Record, hash: Uint8Array): boolean {
  const next = record.rdata.nextHashedOwner;
  const afterOwner = compareBytes(record.ownerHash, hash) < 0;
  const beforeNext = compareBytes(hash, next) < 0;
  return compareBytes(record.ownerHash, next) < 0 ? afterOwner && beforeNext : afterOwner || beforeNext;
}

export interface Nsec3Selection {
  readonly records: readonly Nsec3Record[];
  /** NSEC3s left out, and why: unknown algorithm, flags, another zone, malformed. */
  readonly ignored: readonly string[];
}

/** The NSEC3s of `zone` a validator may use (RFC 5155 §8.1, §8.2); others are listed as ignored. */
export function selectNsec3s(records: readonly ResourceRecord[], zone: string): Nsec3Selection {
  const usable: Nsec3Record[] = [];
  const ignored: string[] = [];
  for (const rr of records) {
    if (rr.type !== RRType.NSEC3) continue;
    const problem = nsec3Problem(rr, zone);
    if (typeof problem === 'string') ignored.push(`${rr.name}: ${problem}`);
    else usable.push(problem);
  }
  return { records: usable, ignored };
}

function nsec3Problem(rr: ResourceRecord, zone: string): Nsec3Record | string {
  const labels = presentationLabels(rr.name);
  if (labels.length === 0 || compareCanonical(ancestorName(rr.name, labels.length - 1), zone) !== 0) return `not a hashed name in ${zone}`;
  let rdata: Nsec3Rdata;
  let ownerHash: Uint8Array;
  try {
    rdata = parseNsec3Rdata(rr.rdata);
    ownerHash = base32HexDecode(labels[0]!);
  } catch (error) {
    if (error instanceof WireFormatError) return `malformed (${error.message})`;
    throw error;
  }
  // RFC 5155 §8.1: "A validator MUST ignore NSEC3 RRs with unknown hash types."
  if (rdata.hashAlgorithm !== Nsec3HashAlgorithm.Sha1) return `unknown hash algorithm ${rdata.hashAlgorithm}`;
  // RFC 5155 §8.2: "A validator MUST ignore NSEC3 RRs with a Flag fields value other than zero or one."
  if (rdata.flags > Nsec3Flag.OptOut) return `unknown flags ${rdata.flags}`;
  if (ownerHash.length !== SHA1_BYTES || rdata.nextHashedOwner.length !== SHA1_BYTES) return 'hash length is not that of SHA-1';
  return { owner: rr.name, ownerHash, rdata };
}

/** Whether two records hash with the same parameters (algorithm, iterations, salt). */
export function sameHashParameters(a: Nsec3Rdata, b: Nsec3Rdata): boolean {
  return a.hashAlgorithm === b.hashAlgorithm && a.iterations === b.iterations && compareBytes(a.salt, b.salt) === 0;
}
