import { describe, expect, it } from 'vitest';
import { issue } from '../../test/support/pki.js';
import { parseHostPort } from './endpoint.js';
import { certificateDomain, certificateEmail, spkiSha256, subjectAltNames } from './peer-identity.js';
import { ConfigError } from '../core/errors.js';
import { expectAppError } from '../../test/support/unit.js';

describe('what a certificate says it is (seed 000 §4.1)', () => {
  const user = issue({ subject: 'Alice', emails: ['alice@Example.TEST'], dns: ['ignored.example.test'] });
  const host = issue({ subject: 'www', dns: ['WWW.example.test', 'other.example.test'] });

  it('reads subjectAltName entries', () => {
    expect(subjectAltNames(host.x509)).toEqual([{ kind: 'DNS', value: 'WWW.example.test' }, { kind: 'DNS', value: 'other.example.test' }]);
  });

  it('takes a certificate with an e-mail address as a user\'s, the domain lowercased', () => {
    expect(certificateEmail(user.x509)).toBe('alice@example.test');
    expect(certificateEmail(host.x509)).toBeUndefined();
  });

  it('takes the first dNSName as a client\'s domain (draft-ietf-dance-client-auth)', () => {
    expect(certificateDomain(host.x509)).toBe('www.example.test.');
    expect(certificateDomain(issue({ subject: 'wild', dns: ['*.example.test'] }).x509)).toBeUndefined();
  });

  it('pins the key, not the certificate', () => {
    expect(spkiSha256(host.x509)).toMatch(/^[0-9a-f]{64}$/);
    expect(spkiSha256(host.x509)).not.toBe(spkiSha256(user.x509));
  });
});

describe('parseHostPort', () => {
  it('reads NAME:PORT, ADDRESS:PORT and [IPv6]:PORT', () => {
    expect(parseHostPort('www.example.test:443', '--connect')).toEqual({ host: 'www.example.test', port: 443 });
    expect(parseHostPort('127.0.0.1:8443', '--listen')).toEqual({ host: '127.0.0.1', port: 8443 });
    expect(parseHostPort('[::1]:8443', '--listen')).toEqual({ host: '::1', port: 8443 });
  });

  it('refuses anything else with a ConfigError naming the option', () => {
    for (const bad of ['www.example.test', '::1:443', 'host:0', 'host:65536', ':443']) {
      expectAppError(() => parseHostPort(bad, '--connect'), ConfigError, /--connect/);
    }
  });
});
