import { describe, expect, it } from 'vitest';
import { OednsTlsError } from './errors.js';
import { parseReply } from './reply.js';

describe('daemon replies', () => {
  it('splits OK into words and key=value attributes, undoing the %XX escapes', () => {
    expect(parseReply('OK alice@example.test method=ldap dnssec=secure peer=[::1]:443 cipher=a%20b')).toEqual({
      words: ['alice@example.test'], attributes: { method: 'ldap', dnssec: 'secure', peer: '[::1]:443', cipher: 'a b' },
    });
    expect(parseReply(`OK 192.0.2.1 25 @${'a'.repeat(32)}`).words).toEqual(['192.0.2.1', '25', `@${'a'.repeat(32)}`]);
    expect(parseReply('OK x%3Dy method=dane').words).toEqual(['x=y']);
  });

  it('throws ERR as OednsTlsError with the code, and anything else as BAD_REPLY', () => {
    expect(() => parseReply('ERR TLSA_MISMATCH no record matches')).toThrow(expect.objectContaining({ code: 'TLSA_MISMATCH', message: 'no record matches' }));
    expect(() => parseReply('HTTP/1.1 200 OK')).toThrow(OednsTlsError);
    expect(() => parseReply('HTTP/1.1 200 OK')).toThrow(expect.objectContaining({ code: 'BAD_REPLY' }));
  });
});
