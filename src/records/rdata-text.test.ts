import { describe, expect, it } from 'vitest';
import { expectAppError } from '../../test/support/unit.js';
import { WireFormatError } from '../core/errors.js';
import { RRClass, RRType } from '../wire/constants.js';
import { recordText } from '../wire/index.js';
import { PresentationError } from './errors.js';
import './index.js';
import { keyRdataText, parseKeyRdataText } from './rdata-text.js';
import { keyRecordLine, parseKeyRecordLine } from './record-line.js';
import { RFC4025_KEY_B64 } from './test-vectors.js';

const IPSECKEY_TEXT = `10 1 2 192.0.2.38 ${RFC4025_KEY_B64}`;
const IPSECKEY_WIRE = Uint8Array.from([10, 1, 2, 192, 0, 2, 38, ...Buffer.from(RFC4025_KEY_B64, 'base64')]);

describe('key records in `oedns lookup` (wire/rdata-text.ts)', () => {
  it('prints IPSECKEY, TLSA and CERT through records/ once it is loaded', () => {
    const record = { name: 'h.example.', class: RRClass.IN, ttl: 300 };
    expect(recordText({ ...record, type: RRType.IPSECKEY, rdata: IPSECKEY_WIRE })).toBe(`h.example.\t300\tIN\tIPSECKEY\t${IPSECKEY_TEXT}`);
    expect(recordText({ ...record, type: RRType.TLSA, rdata: Uint8Array.from([3, 1, 0, 0xab]) })).toBe('h.example.\t300\tIN\tTLSA\t3 1 0 AB');
    expect(recordText({ ...record, type: RRType.CERT, rdata: Uint8Array.from([0, 1, 0, 0, 13, 0xff]) })).toBe('h.example.\t300\tIN\tCERT\tPKIX 0 ECDSAP256SHA256 /w==');
  });

  it('prints malformed RDATA in the RFC 3597 generic form', () => {
    expect(recordText({ name: 'h.example.', class: RRClass.IN, ttl: 1, type: RRType.TLSA, rdata: Uint8Array.from([3, 1, 1, 0xab]) }))
      .toBe('h.example.\t1\tIN\tTLSA\t\\# 4 030101AB');
  });
});

describe('key RDATA text', () => {
  it('reads the RFC 3597 §5 generic form, checked like wire data', () => {
    expect(parseKeyRdataText(RRType.IPSECKEY, `\\# ${IPSECKEY_WIRE.length} ${Buffer.from(IPSECKEY_WIRE).toString('hex')}`)).toEqual(IPSECKEY_WIRE);
    expect(parseKeyRdataText(RRType.TLSA, '\\# 4 03 01 00 ab')).toEqual(Uint8Array.from([3, 1, 0, 0xab]));
    expectAppError(() => parseKeyRdataText(RRType.TLSA, '\\# 5 030100ab'), PresentationError, /^TLSA text: generic RDATA has 4 bytes, not the 5 announced/);
    expectAppError(() => parseKeyRdataText(RRType.TLSA, '\\# 3 030100'), WireFormatError, /^TLSA RDATA: certificate association data is empty/);
  });

  it('refuses types other than the three', () => {
    expect(() => keyRdataText(RRType.A, Uint8Array.of(1, 2, 3, 4))).toThrow(RangeError);
    expectAppError(() => parseKeyRdataText(RRType.A, '1.2.3.4'), PresentationError, /^A text: is not a key record type/);
  });
});

describe('key record lines', () => {
  it('reads dig\'s lines: owner, TTL, class, type, RDATA', () => {
    expect(parseKeyRecordLine(`h.example.\t\t300\tIN\tIPSECKEY ${IPSECKEY_TEXT}`)).toEqual({
      name: 'h.example.', ttlSeconds: 300, class: RRClass.IN, type: RRType.IPSECKEY, rdata: IPSECKEY_WIRE,
    });
  });

  it('reads class before TTL, BIND TTL units, relative owners and TYPEnnn', () => {
    expect(parseKeyRecordLine(`h IN 1h30m IPSECKEY ${IPSECKEY_TEXT}`, 'example.')).toMatchObject({ name: 'h.example.', ttlSeconds: 5400 });
    expect(parseKeyRecordLine('@ TYPE52 3 1 0 ab', 'example.')).toMatchObject({ name: 'example.', ttlSeconds: undefined, type: RRType.TLSA });
    expect(parseKeyRecordLine('x. CLASS1 cert 1 0 0 /w==')).toMatchObject({ class: 1, type: RRType.CERT });
  });

  it('writes lines it reads back', () => {
    const line = keyRecordLine('h.example.', 60, RRType.IPSECKEY, IPSECKEY_WIRE);
    expect(line).toBe(`h.example.\t60\tIN\tIPSECKEY\t${IPSECKEY_TEXT}`);
    expect(parseKeyRecordLine(line).rdata).toEqual(IPSECKEY_WIRE);
  });

  it.each([
    ['an empty line', '', /^record text: the line is empty/],
    ['no type', 'h.example. 300 IN', /^record text: "" is not a record type/],
    ['an unknown type', 'h.example. 300 IN FOO 1', /^record text: "FOO" is not a record type/],
    ['another type', 'h.example. 300 IN A 192.0.2.1', /^record of h\.example\.: A is not a key record type/],
    ['a TTL over 2^31-1', 'h.example. 2147483648 IN TLSA 3 1 0 ab', /TTL 2147483648 exceeds/],
    ['two records', 'h.example. TLSA 3 1 0 ab\nh.example. TLSA 3 1 0 cd', /more than one record/],
    ['bad RDATA, naming the owner', 'h.example. TLSA 3 1 1 ab', /^TLSA text of h\.example\.: matching type 1/],
  ])('refuses %s', (_, line, pattern) => {
    expectAppError(() => parseKeyRecordLine(line), PresentationError, pattern);
  });
});
