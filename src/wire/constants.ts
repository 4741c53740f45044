/** IANA "Resource Record (RR) TYPEs" (RFC 6895 registry), the ones oedns names in its logic. */
export const RRType = {
  A: 1, NS: 2, MD: 3, MF: 4, CNAME: 5, SOA: 6, MB: 7, MG: 8, MR: 9, NULL: 10, WKS: 11, PTR: 12,
  HINFO: 13, MINFO: 14, MX: 15, TXT: 16, AAAA: 28, SRV: 33, DNAME: 39, OPT: 41, DS: 43,
  IPSECKEY: 45, RRSIG: 46, NSEC: 47, DNSKEY: 48, NSEC3: 50, NSEC3PARAM: 51, TLSA: 52, CERT: 37,
  IXFR: 251, AXFR: 252, MAILB: 253, MAILA: 254, ANY: 255,
} as const;
export type RRType = (typeof RRType)[keyof typeof RRType];

/** IANA DNS CLASSes (RFC 6895 §3.2). */
export const RRClass = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;

/** IANA DNS RCODEs (RFC 6895 §2.3); values above 15 need the EDNS extended-rcode bits. */
export const Rcode = {
  NoError: 0, FormErr: 1, ServFail: 2, NXDomain: 3, NotImp: 4, Refused: 5, BadVers: 16,
} as const;
export type Rcode = (typeof Rcode)[keyof typeof Rcode];

/** IANA DNS OpCodes (RFC 6895 §2.2). */
export const Opcode = { Query: 0, IQuery: 1, Status: 2, Notify: 4, Update: 5 } as const;

/** IANA "DNS EDNS0 Option Codes (OPT)". */
export const EdnsOptionCode = { Cookie: 10, Padding: 12, ExtendedDnsError: 15 } as const;

/** RFC 1035 §2.3.4 size limits. */
export const MAX_NAME_WIRE_BYTES = 255;
export const MAX_LABEL_BYTES = 63;
export const HEADER_BYTES = 12;
/** RFC 1035 §4.2.1: a UDP answer without EDNS is at most 512 bytes. */
export const CLASSIC_UDP_BYTES = 512;
/** DNS Flag Day 2020: the EDNS buffer size that avoids IP fragmentation. */
export const DEFAULT_EDNS_UDP_BYTES = 1232;

const typeNames = new Map<number, string>(Object.entries(RRType).map(([k, v]) => [v, k]));
const typeNumbers = new Map<string, number>(Object.entries(RRType));

/** Presentation mnemonic of a TYPE, with RFC 3597 `TYPEnnn` for the rest. */
export function typeName(type: number): string {
  return typeNames.get(type) ?? `TYPE${type}`;
}

/** Parses `AAAA`, `aaaa` or RFC 3597 `TYPE28`; undefined if neither. */
export function parseType(text: string): number | undefined {
  const upper = text.toUpperCase();
  const known = typeNumbers.get(upper);
  if (known !== undefined) return known;
  const generic = /^TYPE(\d{1,5})$/.exec(upper);
  if (!generic) return undefined;
  const value = Number(generic[1]);
  return value <= 0xffff ? value : undefined;
}

export function className(klass: number): string {
  for (const [k, v] of Object.entries(RRClass)) if (v === klass) return k;
  return `CLASS${klass}`;
}
