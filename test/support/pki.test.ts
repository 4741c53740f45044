import { it, expect } from 'vitest';
import { issue } from './pki.js';
it('issues a chain whose signatures, names, e-mail and validity node:crypto reads back', () => {
  
  const ca = issue({ subject: 'Lab CA', ca: true });
  const inter = issue({ subject: 'Lab Intermediate', ca: true, issuer: ca });
  const ee = issue({ subject: 'www.example.test', dns: ['www.example.test'], issuer: inter });
  expect(ee.x509.verify(inter.x509.publicKey)).toBe(true);
  expect(inter.x509.verify(ca.x509.publicKey)).toBe(true);
  expect(ee.x509.checkHost('www.example.test')).toBe('www.example.test');
  expect(ee.x509.checkIssued(inter.x509)).toBe(true);
  const old = issue({ subject: 'old', notBefore: new Date(2020, 0, 1), notAfter: new Date(2021, 0, 1) });
  expect(old.x509.validTo).toContain('2021');
  const user = issue({ subject: 'Alice', emails: ['alice@example.test'], issuer: ca });
  expect(user.x509.checkEmail('alice@example.test')).toBe('alice@example.test');
});
