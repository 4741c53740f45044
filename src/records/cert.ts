/**
 * CERT (RFC 4398 §2): a certificate or a pointer to one.
 *
 *   type (2) | key tag (2) | algorithm (1) | certificate or CRL (rest)
 *
 * Presentation (RFC 4398 §2.2): type and algorithm as mnemonics or decimals, key tag decimal,
 * the certificate in base64. dig prints the mnemonics it knows (its own spelling, below) and
 * decimals for the rest.
 */
import type { PresentationError } from './errors.js';
import { RdataReader, rdataLabel } from './rdata-reader.js';
import { base64Field, base64Text, textFailer, tokenize, unsignedField } from './text.js';

/** IANA "Certificate Types" (RFC 4398 §2.1). Other values are kept as numbers. */
export const CertType = {
  PKIX: 1, SPKI: 2, PGP: 3, IPKIX: 4, ISPKI: 5, IPGP: 6, ACPKIX: 7, IACPKIX: 8, URI: 253, OID: 254,
} as const;
export type CertType = (typeof CertType)[keyof typeof CertType];

/**
 * IANA "DNS Security Algorithm Numbers", which the CERT algorithm field uses (RFC 4398 §2.1: "the
 * same meaning as the algorithm field in DNSKEY and RRSIG"), spelled as BIND 9.18 prints them in
 * CERT records: its own names for 6, 7 and 12 (IANA: DSA-NSEC3-SHA1, RSASHA1-NSEC3-SHA1,
 * ECC-GOST), a decimal for every value missing here.
 */
export const CertAlgorithm = {
  RSAMD5: 1, DH: 2, DSA: 3, RSASHA1: 5, NSEC3DSA: 6, NSEC3RSASHA1: 7, RSASHA256: 8, RSASHA512: 10,
  ECCGOST: 12, ECDSAP256SHA256: 13, ECDSAP384SHA384: 14, ED25519: 15, ED448: 16,
  INDIRECT: 252, PRIVATEDNS: 253, PRIVATEOID: 254,
} as const;

/** Further algorithm names BIND reads (never prints). */
const ALGORITHM_ALIASES: Readonly<Record<string, number>> = { ECDSA256: 13, ECDSA384: 14 };

const certTypeNames = new Map<number, string>(Object.entries(CertType).map(([name, value]) => [value, name]));
const algorithmNames = new Map<number, string>(Object.entries(CertAlgorithm).map(([name, value]) => [value, name]));

export interface CertRdata {
  readonly certType: number;
  readonly keyTag: number;
  readonly algorithm: number;
  readonly certificate: Uint8Array;
}

/** Strict: truncated RDATA or an empty certificate field (BIND refuses both) is a WireFormatError. */
export function decodeCert(rdata: Uint8Array, owner?: string): CertRdata {
  const reader = new RdataReader(rdata, rdataLabel('CERT', owner));
  const certType = reader.u16('type');
  const keyTag = reader.u16('key tag');
  const algorithm = reader.u8('algorithm');
  return { certType, keyTag, algorithm, certificate: reader.rest('certificate', 1) };
}

export function encodeCert(record: CertRdata): Uint8Array {
  const out = new Uint8Array(5 + record.certificate.length);
  out.set([record.certType >> 8, record.certType & 0xff, record.keyTag >> 8, record.keyTag & 0xff, record.algorithm]);
  out.set(record.certificate, 5);
  return out;
}

/** The mnemonic dig prints for a certificate type, or the decimal. */
export function certTypeText(certType: number): string {
  return certTypeNames.get(certType) ?? String(certType);
}

/** The mnemonic dig prints for a CERT algorithm, or the decimal. */
export function certAlgorithmText(algorithm: number): string {
  return algorithmNames.get(algorithm) ?? String(algorithm);
}

/** `PKIX 0 ECDSAP256SHA256 MIIB…`, as dig +nosplit prints it. */
export function certText(record: CertRdata): string {
  return `${certTypeText(record.certType)} ${record.keyTag} ${certAlgorithmText(record.algorithm)} ${base64Text(record.certificate)}`;
}

function mnemonic(token: string | undefined, table: Readonly<Record<string, number>>, field: string, max: number, fail: (reason: string) => PresentationError): number {
  const known = token === undefined ? undefined : table[token.toUpperCase()];
  if (known !== undefined) return known;
  if (token !== undefined && !/^\d+$/.test(token)) throw fail(`${field} "${token}" is neither a known mnemonic nor a number`);
  return unsignedField(token, field, max, fail);
}

/** Reads RFC 4398 §2.2 text; mnemonics in any case, as BIND reads them. */
export function parseCertText(text: string, owner?: string): CertRdata {
  const fail = textFailer('CERT', owner);
  const tokens = tokenize(text, fail);
  const certType = mnemonic(tokens[0], CertType, 'type', 0xffff, fail);
  const keyTag = unsignedField(tokens[1], 'key tag', 0xffff, fail);
  const algorithm = mnemonic(tokens[2], { ...CertAlgorithm, ...ALGORITHM_ALIASES }, 'algorithm', 0xff, fail);
  if (tokens.length < 4) throw fail('certificate is missing');
  return { certType, keyTag, algorithm, certificate: base64Field(tokens.slice(3), 'certificate', fail) };
}
