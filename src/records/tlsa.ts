/**
 * TLSA (RFC 6698 §2): what a TLS server's certificate must match.
 *
 *   certificate usage (1) | selector (1) | matching type (1) | certificate association data (rest)
 *
 * Presentation (RFC 6698 §2.2): three decimals and the data in hex, which dig +nosplit prints
 * uppercase on one line.
 */
import { RdataReader, rdataLabel } from './rdata-reader.js';
import { hexField, hexText, textFailer, tokenize, unsignedField } from './text.js';

/** IANA "TLSA Certificate Usages" (RFC 6698 §7.2; acronyms RFC 7218 §2.1). */
export const TlsaUsage = { PkixTa: 0, PkixEe: 1, DaneTa: 2, DaneEe: 3, PrivCert: 255 } as const;
export type TlsaUsage = (typeof TlsaUsage)[keyof typeof TlsaUsage];

/** IANA "TLSA Selectors" (RFC 6698 §7.3; acronyms RFC 7218 §2.2). */
export const TlsaSelector = { Cert: 0, Spki: 1, PrivSel: 255 } as const;
export type TlsaSelector = (typeof TlsaSelector)[keyof typeof TlsaSelector];

/** IANA "TLSA Matching Types" (RFC 6698 §7.4; acronyms RFC 7218 §2.3). */
export const TlsaMatchingType = { Full: 0, Sha256: 1, Sha512: 2, PrivMatch: 255 } as const;
export type TlsaMatchingType = (typeof TlsaMatchingType)[keyof typeof TlsaMatchingType];

/** Digest sizes of the hashing matching types (SHA-256 and SHA-512, RFC 6234). */
const DIGEST_BYTES: ReadonlyMap<number, number> = new Map([[TlsaMatchingType.Sha256, 32], [TlsaMatchingType.Sha512, 64]]);

export interface TlsaRdata {
  readonly usage: number;
  readonly selector: number;
  readonly matchingType: number;
  readonly data: Uint8Array;
}

function checkData(matchingType: number, data: Uint8Array, fail: (reason: string) => Error): void {
  // BIND refuses TLSA without association data, on the wire and in zone files alike.
  if (data.length === 0) throw fail('certificate association data is empty');
  const expected = DIGEST_BYTES.get(matchingType);
  if (expected !== undefined && data.length !== expected) {
    throw fail(`matching type ${matchingType} is a ${expected * 8}-bit digest but the data has ${data.length} bytes`);
  }
}

/** Strict: truncated RDATA, empty data or a digest of the wrong size is a WireFormatError. */
export function decodeTlsa(rdata: Uint8Array, owner?: string): TlsaRdata {
  const reader = new RdataReader(rdata, rdataLabel('TLSA', owner));
  const usage = reader.u8('certificate usage');
  const selector = reader.u8('selector');
  const matchingType = reader.u8('matching type');
  const data = reader.rest('certificate association data');
  checkData(matchingType, data, (reason) => reader.fail(reason));
  return { usage, selector, matchingType, data };
}

export function encodeTlsa(record: TlsaRdata): Uint8Array {
  const out = new Uint8Array(3 + record.data.length);
  out.set([record.usage, record.selector, record.matchingType]);
  out.set(record.data, 3);
  return out;
}

/** `3 1 1 0C72AC70…`, as dig +nosplit prints it. */
export function tlsaText(record: TlsaRdata): string {
  return `${record.usage} ${record.selector} ${record.matchingType} ${hexText(record.data)}`;
}

/** Reads RFC 6698 §2.2 text: decimals (as BIND reads them) and hex that may be split by blanks. */
export function parseTlsaText(text: string, owner?: string): TlsaRdata {
  const fail = textFailer('TLSA', owner);
  const tokens = tokenize(text, fail);
  const usage = unsignedField(tokens[0], 'certificate usage', 0xff, fail);
  const selector = unsignedField(tokens[1], 'selector', 0xff, fail);
  const matchingType = unsignedField(tokens[2], 'matching type', 0xff, fail);
  if (tokens.length < 4) throw fail('certificate association data is missing');
  const data = hexField(tokens.slice(3), 'certificate association data', fail);
  checkData(matchingType, data, fail);
  return { usage, selector, matchingType, data };
}
