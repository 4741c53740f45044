import { describe, expect, it } from 'vitest';
import { NO_FLAGS, type TlsSession } from '../session.js';
import {
  encodeErr, encodePlainOk, encodeSessionOk, flagWords, MAX_LINE_BYTES, MAX_MESSAGE_CHARS, parseFlags, parseRequest, ProtocolError, replyWord,
} from './protocol.js';

const parse = (line: string) => parseRequest(Buffer.from(line, 'latin1'));
const refused = (line: string): string => {
  try {
    parse(line);
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).reply).toBe('BAD_REQUEST');
    return (error as Error).message;
  }
  throw new Error(`${JSON.stringify(line)} was accepted`);
};

describe('request grammar', () => {
  it('reads start-tls NAME PORT with flags, CRLF tolerated, the name made absolute', () => {
    expect(parse('start-tls www.example.test 443 no-dnssec no-ldap\r\n')).toEqual({
      kind: 'start-tls', name: 'www.example.test.', port: 443, flags: { ...NO_FLAGS, noDnssec: true, noLdap: true },
    });
    expect(parse('start-tls www.example.test. 443\n')).toMatchObject({ name: 'www.example.test.', flags: NO_FLAGS });
  });

  it('reads the token forms, connect, recv-tls and accept', () => {
    const token = 'a'.repeat(32);
    expect(parse(`start-tls @${token} no-dane\n`)).toEqual({ kind: 'start-tls-token', token, flags: { ...NO_FLAGS, noDane: true } });
    expect(parse(`recv-tls @${token}\n`)).toEqual({ kind: 'recv-tls-token', token, flags: NO_FLAGS });
    expect(parse('connect mx.example.test 25\n')).toMatchObject({ kind: 'connect', name: 'mx.example.test.', port: 25 });
    expect(parse('recv-tls web ignore-bogus\n')).toEqual({ kind: 'recv-tls', listener: 'web', flags: { ...NO_FLAGS, ignoreBogus: true } });
    expect(parse('accept smtp\n')).toEqual({ kind: 'accept', listener: 'smtp' });
  });

  it('refuses unknown commands and flags, repeated flags, and bad spacing', () => {
    expect(refused('hello\n')).toMatch(/unknown command/);
    expect(refused('start-tls www.example.test 443 no-checks\n')).toMatch(/unknown flag "no-checks"/);
    expect(refused('start-tls www.example.test 443 no-dane no-dane\n')).toMatch(/twice/);
    expect(refused('start-tls  www.example.test 443\n')).toMatch(/single spaces/);
    expect(refused('start-tls www.example.test 443 \n')).toMatch(/single spaces/);
    expect(refused('\n')).toMatch(/empty/);
    expect(refused('accept\n')).toMatch(/one word/);
    expect(refused('accept a b\n')).toMatch(/one word/);
  });

  it('refuses names, ports, listeners and tokens outside the grammar', () => {
    expect(refused('start-tls www.example.test\n')).toMatch(/missing PORT/);
    expect(refused('start-tls 443\n')).toMatch(/missing PORT/);
    for (const port of ['0', '65536', '0443', '-1', '44a']) expect(refused(`start-tls a.test ${port}\n`)).toMatch(/port/);
    for (const name of ['a..test', '-a.test', 'a-.test', 'x'.repeat(64) + '.test', `${'a.'.repeat(127)}b`, 'a/b', '.']) {
      expect(refused(`connect ${name} 25\n`)).toMatch(/name/);
    }
    expect(refused('recv-tls we/b\n')).toMatch(/listener/);
    expect(refused(`start-tls @${'A'.repeat(32)}\n`)).toMatch(/token/);
    expect(refused(`recv-tls @${'a'.repeat(31)}\n`)).toMatch(/token/);
  });

  it('refuses bytes outside printable ASCII and lines over the limit', () => {
    expect(refused('start-tls www.example.test 443\u0000\n')).toMatch(/printable/);
    expect(refused('start-tls www.ex\u00e4mple.test 443\n')).toMatch(/printable/);
    expect(refused('start-tls a.test 443\r\r\n')).toMatch(/printable/);
    expect(refused(`start-tls a.test 443 ${'x'.repeat(MAX_LINE_BYTES)}\n`)).toMatch(/longer/);
  });

  it('turns flags into words and back', () => {
    const flags = parseFlags(['no-ldap', 'no-dnssec']);
    expect(flagWords(flags)).toEqual(['no-dnssec', 'no-ldap']);
    expect(flagWords({})).toEqual([]);
  });
});

describe('replies', () => {
  const session = {
    identity: 'www.example.test.', method: 'dane', dnssec: 'secure', protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384',
    dane: { usage: 3, selector: 1, matchingType: 1, tlsaOwner: '_443._tcp.www.example.test.' }, peerAddress: '::1', peerPort: 443,
  } as unknown as TlsSession;

  it('puts the identity first, then the facts as key=value (seed 000 §4.1.2)', () => {
    expect(encodeSessionOk(session)).toBe(
      'OK www.example.test. method=dane dnssec=secure protocol=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 dane=3,1,1 tlsa=_443._tcp.www.example.test. peer=[::1]:443\n',
    );
    expect(encodePlainOk('192.0.2.1', 25, 'ab'.repeat(16))).toBe(`OK 192.0.2.1 25 @${'ab'.repeat(16)}\n`);
  });

  it('escapes what a peer controls, so a reply stays one line of words', () => {
    expect(replyWord('evil user\r\nOK x@y')).toBe('evil%20user%0D%0AOK%20x@y');
    expect(replyWord('a=b%c')).toBe('a%3Db%25c');
    expect(replyWord('')).toBe('-');
    const line = encodeSessionOk({ ...session, identity: 'x y', dane: undefined } as TlsSession);
    expect(line.split('\n')).toHaveLength(2);
    expect(line).toMatch(/^OK x%20y method=dane/);
  });

  it('keeps ERR messages to one bounded printable line', () => {
    expect(encodeErr('TLSA_MISMATCH', 'no record\r\nmatched\u0000')).toBe('ERR TLSA_MISMATCH no record matched\n');
    const long = encodeErr('INTERNAL', 'x'.repeat(1000));
    expect(long.length).toBe('ERR INTERNAL '.length + MAX_MESSAGE_CHARS + 1);
    expect(encodeErr('TIMEOUT', '\r\n')).toBe('ERR TIMEOUT failed\n');
  });
});
