import { EqualityFilter } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { mailFilter } from './key-server.js';

describe('the (mail=<address>) filter', () => {
  it('is an equality filter whose value is the address as given, never parsed filter text', () => {
    const filter = mailFilter('alice@ldap.test');
    expect(filter).toBeInstanceOf(EqualityFilter);
    expect(filter.value).toBe('alice@ldap.test');
  });

  it('escapes filter specials in its text form (RFC 4515 §3)', () => {
    expect(mailFilter('al*@ldap.test').toString()).toBe('(mail=al\\2a@ldap.test)');
    expect(mailFilter('*)(uid=*').toString()).toBe('(mail=\\2a\\29\\28uid=\\2a)');
    expect(mailFilter('a\\b@x.test').toString()).toBe('(mail=a\\5cb@x.test)');
  });
});
