/**
 * Test fixture: the published DNSSEC examples, as the RFCs print them (base64 and hex runs joined
 * onto one line, nothing else changed), and a tiny presentation-format reader for just the types
 * they use. Not used by oedns itself.
 *
 * Sources: RFC 4034 §5.4 (DS of dskey.example.com, key id 60485); RFC 5702 §6.1 and §6.2
 * (RSA/SHA-256, RSA/SHA-512); RFC 6605 §6.1 and §6.2 (ECDSA P-256, P-384); RFC 8080 §6.1 and
 * §6.2 (Ed25519, Ed448) AS CORRECTED BY VERIFIED ERRATUM 4935: the published RRSIGs omit the
 * algorithm field and were computed with a label count of 3 for example.com., so they cannot
 * verify; the erratum gives `RRSIG MX 15 2 3600` / `MX 16 2 3600` with new signatures.
 *
 * Also a small Ed25519 signer (testKey, testRrsig) for the validator's edge cases; it uses
 * signedData itself, so the RFC examples and the BIND tests are what pin signedData down.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { RRClass, RRType, type ResourceRecord } from '../wire/index.js';
import { nameToLabels } from '../wire/name.js';
import { labelCount } from './canonical-name.js';
import { signedData } from './canonical-rrset.js';
import { keyTag } from './key-tag.js';

export interface Vector {
  readonly name: string;
  readonly zone: string;
  readonly text: string;
  /** A time inside the example's validity window (epoch seconds). */
  readonly now: number;
  readonly keyTag: number;
}

/** RFC 4034 §5.4. Algorithm 5, digest type 1; the RFC's comment says "key id = 60485". */
export const RFC4034_DS_EXAMPLE = `
dskey.example.com. 86400 IN DNSKEY 256 3 5 AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==
dskey.example.com. 86400 IN DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118
`;

const RFC5702_WINDOW_NOW = 1_200_000_000; // inside 20000101000000 .. 20300101000000

export const SIGNATURE_VECTORS: readonly Vector[] = [
  {
    name: 'RFC 5702 §6.1 RSA/SHA-256', zone: 'example.net.', keyTag: 9033, now: RFC5702_WINDOW_NOW, text: `
example.net. 3600 IN DNSKEY 256 3 8 AwEAAcFcGsaxxdgiuuGmCkVImy4h99CqT7jwY3pexPGcnUFtR2Fh36BponcwtkZ4cAgtvd4Qs8PkxUdp6p/DlUmObdk=
www.example.net. 3600 IN A 192.0.2.91
www.example.net. 3600 IN RRSIG A 8 3 3600 20300101000000 20000101000000 9033 example.net. kRCOH6u7l0QGy9qpC9l1sLncJcOKFLJ7GhiUOibu4teYp5VE9RncriShZNz85mwlMgNEacFYK/lPtPiVYP4bwg==
` },
  {
    name: 'RFC 5702 §6.2 RSA/SHA-512', zone: 'example.net.', keyTag: 3740, now: RFC5702_WINDOW_NOW, text: `
example.net. 3600 IN DNSKEY 256 3 10 AwEAAdHoNTOW+et86KuJOWRDp1pndvwb6Y83nSVXXyLA3DLroROUkN6X0O6pnWnjJQujX/AyhqFDxj13tOnD9u/1kTg7cV6rklMrZDtJCQ5PCl/D7QNPsgVsMu1J2Q8gpMpztNFLpPBz1bWXjDtaR7ZQBlZ3PFY12ZTSncorffcGmhOL
www.example.net. 3600 IN A 192.0.2.91
www.example.net. 3600 IN RRSIG A 10 3 3600 20300101000000 20000101000000 3740 example.net. tsb4wnjRUDnB1BUi+t6TMTXThjVnG+eCkWqjvvjhzQL1d0YRoOe0CbxrVDYd0xDtsuJRaeUw1ep94PzEWzr0iGYgZBWm/zpq+9fOuagYJRfDqfReKBzMweOLDiNa8iP5g9vMhpuv6OPlvpXwm9Sa9ZXIbNl1MBGk0fthPgxdDLw=
` },
  {
    name: 'RFC 6605 §6.1 ECDSA P-256', zone: 'example.net.', keyTag: 55648, now: 1_282_000_000, text: `
example.net. 3600 IN DNSKEY 257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==
example.net. 3600 IN DS 55648 13 2 b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17
www.example.net. 3600 IN A 192.0.2.1
www.example.net. 3600 IN RRSIG A 13 3 3600 20100909100439 20100812100439 55648 example.net. qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw==
` },
  {
    name: 'RFC 6605 §6.2 ECDSA P-384', zone: 'example.net.', keyTag: 10771, now: 1_282_000_000, text: `
example.net. 3600 IN DNSKEY 257 3 14 xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40
example.net. 3600 IN DS 10771 14 4 72d7b62976ce06438e9c0bf319013cf801f09ecc84b8d7e9495f27e305c6a9b0563a9b5f4d288405c3008a946df983d6
www.example.net. 3600 IN A 192.0.2.1
www.example.net. 3600 IN RRSIG A 14 3 3600 20100909102025 20100812102025 10771 example.net. /L5hDKIvGDyI1fcARX3z65qrmPsVz73QD1Mr5CEqOiLP95hxQouuroGCeZOvzFaxsT8Glr74hbavRKayJNuydCuzWTSSPdz7wnqXL5bdcJzusdnI0RSMROxxwGipWcJm
` },
  ...rfc8080('Ed25519 (1)', 15, 3613, 'l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=', '3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b',
    'oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg=='),
  ...rfc8080('Ed25519 (2)', 15, 35217, 'zPnZ/QwEe7S8C5SPz2OfS5RR40ATk2/rYnE9xHIEijs=', '401781b934e392de492ec77ae2e15d70f6575a1c0bc59c5275c04ebe80c6614c',
    'zXQ0bkYgQTEFyfLyi9QoiY6D8ZdYo4wyUhVioYZXFdT410QPRITQSqJSnzQoSm5poJ7gD7AQR0O7KuI5k2pcBg=='),
  ...rfc8080('Ed448 (1)', 16, 9713, '3kgROaDjrh0H2iuixWBrc8g2EpBBLCdGzHmn+G2MpTPhpj/OiBVHHSfPodx1FYYUcJKm1MDpJtIA', '6ccf18d5bc5d7fc2fceb1d59d17321402f2aa8d368048db93dd811f5cb2b19c7',
    '3cPAHkmlnxcDHMyg7vFC34l0blBhuG1qpwLmjInI8w1CMB29FkEAIJUA0amxWndkmnBZ6SKiwZSAxGILn/NBtOXft0+Gj7FSvOKxE/07+4RQvE581N3Aj/JtIyaiYVdnYtyMWbSNyGEY2213WKsJlwEA'),
  ...rfc8080('Ed448 (2)', 16, 38353, 'kkreGWoccSDmUBGAe7+zsbG6ZAFQp+syPmYUurBRQc3tDjeMCJcVMRDmgcNLp5HlHAMy12VoISsA', '645ff078b3568f5852b70cb60e8e696cc77b75bfaaffc118cf79cbda1ba28af4',
    'E1/oLjSGIbmLny/4fcgM1z4oL6aqo+izT3urCyHyvEp4Sp8Syg1eI+lJ57CSnZqjJP41O/9l4m0AsQ4f7qI1gVnML8vWWiyW2KXhT9kuAICUSxv5OWbf81Rq7Yu60npabODB0QFPb/rkW3kUZmQ0YQUA'),
];

/** RFC 8080 §6 (erratum 4935): each example is a KSK, its SHA-256 DS, an MX and its RRSIG. */
function rfc8080(label: string, algorithm: number, keyTag: number, key: string, ds: string, signature: string): Vector[] {
  return [{
    name: `RFC 8080 §6 ${label}`, zone: 'example.com.', keyTag, now: 1_439_000_000, text: `
example.com. 3600 IN DNSKEY 257 3 ${algorithm} ${key}
example.com. 3600 IN DS ${keyTag} ${algorithm} 2 ${ds}
example.com. 3600 IN MX 10 mail.example.com.
example.com. 3600 IN RRSIG MX ${algorithm} 2 3600 1440021600 1438207200 ${keyTag} example.com. ${signature}
` }];
}

function nameWire(name: string): number[] {
  const out: number[] = [];
  for (const label of nameToLabels(name)) out.push(label.length, ...label);
  out.push(0);
  return out;
}

function u16(value: number): number[] {
  return [value >>> 8, value & 0xff];
}

function u32(value: number): number[] {
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

/** RRSIG times: YYYYMMDDHHMMSS (UTC) or plain epoch seconds (RFC 4034 §3.2). */
function time(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!m) return Number(text);
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
}

function typeNumber(text: string): number {
  const type = (RRType as Record<string, number>)[text];
  if (type === undefined) throw new Error(`test-vectors: type ${text} not supported`);
  return type;
}

function rdataOf(type: string, fields: readonly string[]): number[] {
  const f = (i: number): string => fields[i] ?? '';
  switch (type) {
    case 'A': return f(0).split('.').map(Number);
    case 'MX': return [...u16(Number(f(0))), ...nameWire(f(1))];
    case 'NS': case 'CNAME': return nameWire(f(0));
    case 'TXT': return fields.flatMap((s) => [s.length, ...Buffer.from(s, 'latin1')]);
    case 'DNSKEY': return [...u16(Number(f(0))), Number(f(1)), Number(f(2)), ...Buffer.from(fields.slice(3).join(''), 'base64')];
    case 'DS': return [...u16(Number(f(0))), Number(f(1)), Number(f(2)), ...Buffer.from(fields.slice(3).join(''), 'hex')];
    case 'RRSIG': return [
      ...u16(typeNumber(f(0))), Number(f(1)), Number(f(2)), ...u32(Number(f(3))), ...u32(time(f(4))), ...u32(time(f(5))),
      ...u16(Number(f(6))), ...nameWire(f(7)), ...Buffer.from(fields.slice(8).join(''), 'base64'),
    ];
    default: throw new Error(`test-vectors: type ${type} not supported`);
  }
}

/** One record per line: `owner ttl IN TYPE rdata...` (TXT strings without spaces or quotes). */
export function parseRecords(text: string): ResourceRecord[] {
  return text.split('\n').map((line) => line.trim()).filter((line) => line !== '').map((line) => {
    const [name = '', ttl = '', klass, type = '', ...fields] = line.split(/\s+/);
    if (klass !== 'IN') throw new Error(`test-vectors: expected class IN in "${line}"`);
    return { name, type: typeNumber(type), class: RRClass.IN, ttl: Number(ttl), rdata: Uint8Array.from(rdataOf(type, fields)) };
  });
}

/** The records of `text` with the given type. */
export function recordsOfType(text: string, type: number): ResourceRecord[] {
  return parseRecords(text).filter((rr) => rr.type === type);
}

export interface TestKey {
  readonly dnskey: ResourceRecord;
  readonly keyTag: number;
  readonly privateKey: KeyObject;
}

/** A fresh Ed25519 DNSKEY of `zone` (flags 257 unless given; protocol 3 unless given). */
export function testKey(zone: string, flags = 257, protocol = 3): TestKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  const rdata = Uint8Array.from([...u16(flags), protocol, 15, ...raw]);
  return { dnskey: { name: zone, type: RRType.DNSKEY, class: RRClass.IN, ttl: 3600, rdata }, keyTag: keyTag(rdata), privateKey };
}

export interface RrsigFields {
  readonly typeCovered?: number;
  readonly algorithm?: number;
  readonly labels?: number;
  readonly originalTtl?: number;
  readonly expiration?: number;
  readonly inception?: number;
  readonly keyTag?: number;
  readonly signerName?: string;
  /** Replaces the signature after signing (a forged or garbled one). */
  readonly signature?: Uint8Array;
}

/** An RRSIG over `rrset` made with `key`, defaults: all of the RRset's labels, window 1000–3000. */
export function testRrsig(key: TestKey, rrset: readonly ResourceRecord[], fields: RrsigFields = {}): ResourceRecord {
  const first = rrset[0]!;
  const head = [
    ...u16(fields.typeCovered ?? first.type), fields.algorithm ?? 15, fields.labels ?? labelCount(first.name),
    ...u32(fields.originalTtl ?? first.ttl), ...u32(fields.expiration ?? 3000), ...u32(fields.inception ?? 1000),
    ...u16(fields.keyTag ?? key.keyTag), ...nameWire(fields.signerName ?? key.dnskey.name),
  ];
  const unsigned = { name: first.name, type: RRType.RRSIG, class: first.class, ttl: first.ttl, rdata: Uint8Array.from([...head, 0]) };
  const signature = fields.signature ?? sign(null, signedData(unsigned, rrset), key.privateKey);
  return { ...unsigned, rdata: Uint8Array.from([...head, ...signature]) };
}
