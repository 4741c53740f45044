/**
 * Zone-file DS and DNSKEY lines, including what BIND really prints: dnssec-keygen's .key files,
 * dnssec-dsfromkey output and named-compilezone's multi-line DNSKEYs (keys generated at test time).
 */
import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAppError } from '../../test/support/unit.js';
import { ConfigError } from '../core/errors.js';
import { RRClass, RRType } from '../wire/constants.js';
import { DnssecAlgorithm } from './algorithms.js';
import { parseDnskey, parseDs } from './dnssec-rdata.js';
import { dsDigest } from './ds.js';
import { parsePresentation } from './presentation.js';

const DIGEST = 'E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D';
const parse = (text: string, origin?: string) => parsePresentation(text, { fileName: 'anchors.txt', origin });
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex').toUpperCase();

let dir: string;
/** dnssec-keygen's .key file for a KSK of example.test. */
let kskFile: string;
/** named-compilezone -s relative output for a zone holding the KSK and a ZSK of example.test. */
let multiline: string;
let dsFromKey: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oedns-presentation-'));
  const keygen = async (...args: string[]): Promise<string> => {
    const { stdout } = await execa('dnssec-keygen', ['-q', '-K', dir, ...args, 'example.test.']);
    return join(dir, `${stdout.trim()}.key`);
  };
  const ksk = await keygen('-a', 'ECDSAP256SHA256', '-f', 'KSK');
  const zsk = await keygen('-a', 'RSASHA256', '-b', '2048');
  kskFile = await readFile(ksk, 'utf8');
  dsFromKey = (await execa('dnssec-dsfromkey', ['-2', ksk])).stdout;
  const zone = join(dir, 'test.db');
  const compiled = join(dir, 'test.out');
  // The NS target is out of zone so that the DNSKEYs are the last records printed.
  await writeFile(zone, `@ 300 IN SOA ns.other. hm.other. 1 2 3 4 5\n@ 300 IN NS ns.other.\n${kskFile}\n${await readFile(zsk, 'utf8')}`);
  await execa('named-compilezone', ['-q', '-s', 'relative', '-o', compiled, 'test.', zone]);
  const output = await readFile(compiled, 'utf8');
  // Keep $TTL and everything from `$ORIGIN test.` on: the DNSKEY block, without the SOA and NS.
  multiline = `${/^\$TTL.*$/m.exec(output)![0]}\n${output.slice(output.indexOf('$ORIGIN test.'))}`;
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('BIND output', () => {
  it("parses dnssec-keygen's .key file (comment header, base64 split by a space)", () => {
    const [key, ...rest] = parse(kskFile);
    expect(rest).toEqual([]);
    expect(key).toMatchObject({ name: 'example.test.', type: RRType.DNSKEY, class: RRClass.IN });
    const dnskey = parseDnskey(key!);
    expect(dnskey).toMatchObject({ flags: 257, protocol: 3, algorithm: DnssecAlgorithm.ECDSAP256SHA256, secureEntryPoint: true });
    expect(dnskey.publicKey).toHaveLength(64);
    expect(kskFile).toContain(`keyid ${dnskey.keyTag},`);
  });

  it("parses named-compilezone's multi-line DNSKEYs ($ORIGIN, $TTL, parentheses, omitted owner, comments)", () => {
    expect(multiline).toContain('(');
    const keys = parse(multiline);
    expect(keys.map((k) => [k.name, k.type, k.ttl])).toEqual([
      ['example.test.', RRType.DNSKEY, 300], ['example.test.', RRType.DNSKEY, 300],
    ]);
    const [ksk] = parse(kskFile);
    expect(keys.some((k) => hex(k.rdata) === hex(ksk!.rdata))).toBe(true);
    for (const key of keys) expect(multiline).toContain(`key id = ${parseDnskey(key).keyTag}`);
  });

  it('parses dnssec-dsfromkey -2 output, whose digest matches our SHA-256 of the key (RFC 4034 §5.1.4)', () => {
    const [ds] = parse(dsFromKey);
    const [ksk] = parse(kskFile);
    const fields = parseDs(ds!);
    expect(fields).toMatchObject({ keyTag: parseDnskey(ksk!).keyTag, algorithm: DnssecAlgorithm.ECDSAP256SHA256, digestType: 2 });
    expect(hex(fields.digest)).toBe(hex(dsDigest('example.test.', ksk!.rdata, 2)!));
  });
});

describe('zone-file syntax', () => {
  it('reads DS RDATA as key tag, algorithm, digest type and hex (RFC 4034 §5.3)', () => {
    const [ds] = parse(`. 172800 IN DS 20326 8 2 ${DIGEST}`);
    expect(ds).toMatchObject({ name: '.', type: RRType.DS, class: RRClass.IN, ttl: 172800 });
    expect(hex(ds!.rdata)).toBe(`4F660802${DIGEST}`);
  });

  it('joins a digest split by whitespace and across parenthesised lines, comments included', () => {
    const text = `. IN DS 20326 8 2 (\n  ${DIGEST.slice(0, 20)} ; first part\n  ${DIGEST.slice(20, 40)} ${DIGEST.slice(40)} )\n`;
    expect(hex(parse(text)[0]!.rdata)).toBe(`4F660802${DIGEST}`);
  });

  it('takes TTL and class in either order, BIND TTL units, no TTL, CRLF line ends', () => {
    const records = parse(
      `a. IN 300 DS 1 8 2 ${DIGEST}\r\nb. 1h30m DS 1 8 2 ${DIGEST}\r\nc. DS 1 8 2 ${DIGEST}\r\n$TTL 1d\r\nd. CLASS1 DS 1 8 2 ${DIGEST}`,
    );
    expect(records.map((r) => [r.name, r.ttl])).toEqual([['a.', 300], ['b.', 5400], ['c.', 5400], ['d.', 86400]]);
  });

  it('resolves relative owners against the origin given, $ORIGIN and @', () => {
    const text = `www DS 1 8 2 ${DIGEST}\n@ DS 1 8 2 ${DIGEST}\n$ORIGIN sub\nx DS 1 8 2 ${DIGEST}\n$ORIGIN other.\n@ DS 1 8 2 ${DIGEST}`;
    expect(parse(text, 'example').map((r) => r.name)).toEqual(['www.example.', 'example.', 'x.sub.example.', 'other.']);
    expect(parse(`www DS 1 8 2 ${DIGEST}`).map((r) => r.name)).toEqual(['www.']);
  });

  it('keeps escapes in owner names and accepts algorithm mnemonics (RFC 4034 §2.2)', () => {
    const [ds] = parse(`a\\.b\\;c.example. DS 7 ECDSAP256SHA256 2 ${DIGEST}`);
    expect(ds!.name).toBe('a\\.b\\;c.example.');
    expect(parseDs(ds!).algorithm).toBe(DnssecAlgorithm.ECDSAP256SHA256);
  });

  it("reads Unbound's trust-anchor-file with autotrust state comments", () => {
    const text = [
      '; autotrust trust anchor file', ';;id: . 1', ';;last_queried: 1700000000 ;;Tue Nov 14 22:13:20 2023',
      `.\t86400\tIN\tDS\t20326 8 2 ${DIGEST.toLowerCase()} ;{id = 20326 (ksk), size = 2048b} ;;state=2 [  VALID  ] ;;count=0`,
    ].join('\n');
    expect(parse(text).map((r) => hex(r.rdata))).toEqual([`4F660802${DIGEST}`]);
  });

  it('keeps DS digest types it does not know, at any length', () => {
    expect(parseDs(parse('x. DS 1 8 3 ABCD')[0]!)).toMatchObject({ digestType: 3 });
  });
});

describe('errors name the file, the line and the problem', () => {
  const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
    ['unbalanced )', `\n. DS 1 8 2 ${DIGEST} )`, /^anchors\.txt:2: '\)' without a matching '\('/],
    ['unclosed (', `. DS 1 8 2 ${DIGEST}\n. DS 1 8 2 (\n${DIGEST}`, /^anchors\.txt:2: '\(' is never closed/],
    ['bad owner', `a..b. DS 1 8 2 ${DIGEST}`, /^anchors\.txt:1: "a\.\.b\." is not a valid domain name/],
    ['TTL too big', `. 2147483648 DS 1 8 2 ${DIGEST}`, /^anchors\.txt:1: TTL 2147483648 exceeds/],
    ['bad $TTL', '$TTL forever', /^anchors\.txt:1: "forever" is not a TTL/],
    ['class CH', `. CH DS 1 8 2 ${DIGEST}`, /^anchors\.txt:1: class CH is not IN/],
    ['no type', '\n\nexample. 300 IN', /^anchors\.txt:3: record type is missing/],
    ['other type', 'example. 300 IN A 192.0.2.1', /^anchors\.txt:1: record type A is not DS or DNSKEY/],
    ['no key tag', '. DS', /^anchors\.txt:1: DS key tag is missing/],
    ['key tag range', `. DS 65536 8 2 ${DIGEST}`, /^anchors\.txt:1: DS key tag "65536" is not an integer from 0 to 65535/],
    ['bad algorithm', `. DS 1 RSA 2 ${DIGEST}`, /^anchors\.txt:1: DS algorithm "RSA" is not an integer from 0 to 255/],
    ['no digest', '. DS 1 8 2', /^anchors\.txt:1: DS digest is missing/],
    ['digest not hex', `; header\n\n. DS 1 8 2 (\n ${DIGEST.slice(0, 62)}XY )`, /^anchors\.txt:4: DS digest is not hex$/],
    ['odd digest', '. DS 1 8 2 ABC', /^anchors\.txt:1: DS digest has an odd number of hex digits \(3\)/],
    ['digest length', '. DS 1 8 2 ABCD', /^anchors\.txt:1: DS digest has 2 bytes; digest type 2 digests have 32/],
    ['protocol', '. DNSKEY 257 2 8 AwEAAQ==', /^anchors\.txt:1: DNSKEY protocol is 2; it must be 3/],
    ['flags range', '. DNSKEY 65536 3 8 AwEAAQ==', /^anchors\.txt:1: DNSKEY flags "65536" is not an integer/],
    ['no key', '. DNSKEY 257 3 8', /^anchors\.txt:1: DNSKEY public key is missing/],
    ['bad base64', '. DNSKEY 257 3 8 (\n AwEA AQ=! )', /^anchors\.txt:2: DNSKEY public key is not base64/],
    ['base64 length', '. DNSKEY 257 3 8 AwEAA', /^anchors\.txt:1: DNSKEY public key is not base64/],
    ['$INCLUDE', '$INCLUDE other.txt', /^anchors\.txt:1: directive \$INCLUDE is not supported/],
    ['empty $ORIGIN', '$ORIGIN', /^anchors\.txt:1: \$ORIGIN needs a value/],
    ['extra after $TTL', '$TTL 300 600', /^anchors\.txt:1: unexpected "600" after \$TTL 300/],
    ['bad $ORIGIN', '$ORIGIN a..b', /^anchors\.txt:1: "a\.\.b" is not a valid domain name/],
    ['no previous owner', `  300 DS 1 8 2 ${DIGEST}`, /^anchors\.txt:1: line starts with blank space but there is no previous owner/],
  ];
  it.each(cases)('%s', (_label, text, pattern) => {
    expectAppError(() => parse(text), ConfigError, pattern);
  });

  it('names a bad origin option', () => {
    expectAppError(() => parse('', 'a..b'), ConfigError, /^anchors\.txt: origin "a\.\.b" is not a valid domain name/);
  });
});
