import { describe, expect, it } from 'vitest';
import { baseDnOf, isHostName, parseUserAddress } from './address.js';

describe('user addresses (RFC 5321 Mailbox, dot-atom only)', () => {
  it('splits local@domain and lowercases only the domain (RFC 5321 §2.4)', () => {
    expect(parseUserAddress('Alice.Smith@LDAP.Test')).toEqual({
      ok: true, value: { localPart: 'Alice.Smith', domain: 'ldap.test', address: 'Alice.Smith@ldap.test' },
    });
  });

  it('keeps atext specials in the local part (RFC 5322 §3.2.3), which the LDAP filter carries literally', () => {
    expect(parseUserAddress("o'neil*+tag@ldap.test")).toMatchObject({ ok: true, value: { localPart: "o'neil*+tag" } });
  });

  it.each([
    ['', 'not printable'],
    ['alice', 'not local@domain'],
    ['@ldap.test', 'not local@domain'],
    ['alice@', 'not local@domain'],
    ['al ice@ldap.test', 'not printable'],
    ['"alice"@ldap.test', 'dot-atom'],
    ['a..b@ldap.test', 'dot-atom'],
    ['.a@ldap.test', 'dot-atom'],
    ['a@b@ldap.test', 'dot-atom'],
    ['alice\\2a@ldap.test', 'dot-atom'],
    ['a(b)@ldap.test', 'dot-atom'],
    ['alicé@ldap.test', 'not printable'],
    ['alice@[127.0.0.1]', 'address literal'],
    ['alice@localhost', 'host name'],
    ['alice@127.0.0.1', 'host name'],
    ['alice@ldap.test.', 'host name'],
    ['alice@_pgpkey-ldap._tcp.ldap.test', 'host name'],
    ['alice@-x.test', 'host name'],
    ['alice@ldap.test)(mail=*', 'host name'],
    [`${'a'.repeat(65)}@ldap.test`, 'longer than 64'],
  ])('refuses %j (%s)', (text, why) => {
    const parsed = parseUserAddress(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toContain(why);
  });

  it('accepts host names up to 253 bytes and labels up to 63 (RFC 1123 §2.1)', () => {
    const label = 'a'.repeat(63);
    expect(isHostName(`${label}.${label}.${label}.${'b'.repeat(61)}`)).toBe(true);
    expect(isHostName(`${label}.${label}.${label}.${'b'.repeat(62)}`)).toBe(false);
    expect(isHostName(`${'a'.repeat(64)}.test`)).toBe(false);
  });

  it('turns the domain into its dc= base DN (RFC 2247 §4)', () => {
    expect(baseDnOf('ldap.test')).toBe('dc=ldap,dc=test');
    expect(baseDnOf('mail.example-1.test')).toBe('dc=mail,dc=example-1,dc=test');
  });
});
