import type { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { issue, tlsaText, type Issued } from '../../test/support/pki.js';
import { parseTlsaText } from '../records/index.js';
import type { DaneInput } from './types.js';
import { verifyDane } from './verify.js';

const NAME = 'www.example.test';
const OWNER = `_443._tcp.${NAME}.`;
/** 2030-01-01T00:00:00Z; every certificate below is valid 2029–2031 unless made expired. */
const NOW = Date.UTC(2030, 0, 1) / 1000;
const VALID = { notBefore: new Date(Date.UTC(2029, 0, 1)), notAfter: new Date(Date.UTC(2031, 0, 1)) };
const EXPIRED = { notBefore: new Date(Date.UTC(2028, 0, 1)), notAfter: new Date(Date.UTC(2029, 6, 1)) };

let root: Issued;
let inter: Issued;
let leaf: Issued;
let expiredLeaf: Issued;
let wrongName: Issued;
let wildcard: Issued;
let partialWildcard: Issued;
let selfSigned: Issued;
let notCa: Issued;
let leafUnderNotCa: Issued;
let stranger: Issued;
let expiredInter: Issued;
let underExpiredInter: Issued;

beforeAll(() => {
  root = issue({ subject: 'Unit Root CA', ca: true, ...VALID });
  inter = issue({ subject: 'Unit Intermediate CA', ca: true, issuer: root, ...VALID });
  leaf = issue({ subject: NAME, dns: [NAME], issuer: inter, ...VALID });
  expiredLeaf = issue({ subject: NAME, dns: [NAME], issuer: inter, ...EXPIRED });
  wrongName = issue({ subject: 'other.example.test', dns: ['other.example.test'], issuer: inter, ...VALID });
  wildcard = issue({ subject: '*.example.test', dns: ['*.example.test'], issuer: inter, ...VALID });
  partialWildcard = issue({ subject: 'w*.example.test', dns: ['w*.example.test'], issuer: inter, ...VALID });
  selfSigned = issue({ subject: NAME, dns: [NAME], ...VALID });
  notCa = issue({ subject: 'Unit Not A CA', issuer: root, ...VALID });
  leafUnderNotCa = issue({ subject: NAME, dns: [NAME], issuer: notCa, ...VALID });
  stranger = issue({ subject: NAME, dns: [NAME], ...VALID });
  expiredInter = issue({ subject: 'Unit Expired Intermediate', ca: true, issuer: root, ...EXPIRED });
  underExpiredInter = issue({ subject: NAME, dns: [NAME], issuer: expiredInter, ...VALID });
});

const x509 = (...certs: Issued[]): X509Certificate[] => certs.map((c) => c.x509);

function input(chain: readonly X509Certificate[], rrdata: readonly string[], overrides: Partial<DaneInput> = {}): DaneInput {
  return {
    chain, tlsaOwner: OWNER, records: rrdata.map((text) => parseTlsaText(text)), referenceNames: [NAME],
    pkix: { trusted: true }, nowEpoch: NOW, ...overrides,
  };
}

describe('every usage × selector × matching type (RFC 6698 §2.1)', () => {
  for (const selector of [0, 1] as const) {
    for (const matching of [0, 1, 2] as const) {
      it(`authenticates ${selector} ${matching} under each usage at the right depth`, () => {
        const chain = x509(leaf, inter, root);
        const cases = [
          { usage: 3, cert: leaf, depth: 0 }, { usage: 1, cert: leaf, depth: 0 },
          { usage: 2, cert: inter, depth: 1 }, { usage: 2, cert: root, depth: 2 },
          { usage: 0, cert: inter, depth: 1 }, { usage: 0, cert: root, depth: 2 },
        ];
        for (const { usage, cert, depth } of cases) {
          expect(verifyDane(input(chain, [tlsaText(cert, usage, selector, matching)]))).toMatchObject({ ok: true, depth, identity: NAME });
        }
      });
    }
  }
});

describe('DANE-EE(3) (RFC 7671 §5.1)', () => {
  it('accepts an expired certificate with the wrong name: only the key binding counts', () => {
    expect(verifyDane(input(x509(expiredLeaf), [tlsaText(expiredLeaf, 3, 1, 1)]))).toMatchObject({ ok: true, depth: 0 });
    const verdict = verifyDane(input(x509(wrongName), [tlsaText(wrongName, 3, 1, 1)]));
    expect(verdict).toMatchObject({ ok: true, identity: NAME });
  });

  it('matches the peer certificate only, not its issuers', () => {
    expect(verifyDane(input(x509(leaf, inter), [tlsaText(inter, 3, 0, 1)]))).toMatchObject({ ok: false, code: 'tlsa-mismatch' });
  });

  it('reports the TLSA base domain as identity when no reference name is given', () => {
    expect(verifyDane(input(x509(leaf), [tlsaText(leaf, 3, 1, 1)], { referenceNames: [] }))).toMatchObject({ ok: true, identity: `${NAME}.` });
  });

  it('rejects a key that is not the peer\'s, naming the record and the certificate', () => {
    const verdict = verifyDane(input(x509(leaf, inter), [tlsaText(stranger, 3, 1, 1)]));
    expect(verdict).toMatchObject({ ok: false, code: 'tlsa-mismatch' });
    expect(!verdict.ok && verdict.reason)
      .toMatch(/^_443\._tcp\.www\.example\.test\.: 3 1 1 [0-9A-F]{12}… does not match the peer certificate \(peer certificate CN=www\.example\.test/);
  });
});

describe('DANE-TA(2) (RFC 7671 §5.2)', () => {
  it('rejects an expired leaf under a valid trust anchor', () => {
    const verdict = verifyDane(input(x509(expiredLeaf, inter), [tlsaText(inter, 2, 0, 1)]));
    expect(verdict).toMatchObject({ ok: false, code: 'chain-invalid' });
    expect(!verdict.ok && verdict.reason).toMatch(/2 0 1 .* names CN=Unit Intermediate CA as trust anchor, but CN=www\.example\.test expired/);
  });

  it('rejects a leaf that does not carry the reference name', () => {
    const verdict = verifyDane(input(x509(wrongName, inter), [tlsaText(inter, 2, 0, 1)]));
    expect(verdict).toMatchObject({ ok: false, code: 'name-mismatch' });
    expect(!verdict.ok && verdict.reason).toMatch(/CN=other\.example\.test carries none of the names www\.example\.test/);
  });

  it('accepts any of several reference names and a wildcard for one label (RFC 6125 §6.4.3)', () => {
    const names = { referenceNames: ['mx.example.org.', 'WWW.example.test.'] };
    const verdict = verifyDane(input(x509(wildcard, inter), [tlsaText(inter, 2, 1, 1)], names));
    expect(verdict).toMatchObject({ ok: true, identity: 'WWW.example.test.' });
    expect(verifyDane(input(x509(wildcard, inter), [tlsaText(inter, 2, 1, 1)], { referenceNames: ['a.b.example.test'] })))
      .toMatchObject({ ok: false, code: 'name-mismatch' });
  });

  it('refuses a partial wildcard (RFC 9525 §6.3), as the PKIX check does', () => {
    expect(verifyDane(input(x509(partialWildcard, inter), [tlsaText(inter, 2, 1, 1)]))).toMatchObject({ ok: false, code: 'name-mismatch' });
  });

  it('never takes the peer certificate itself as trust anchor (as OpenSSL)', () => {
    expect(verifyDane(input(x509(leaf, inter), [tlsaText(leaf, 2, 0, 1)]))).toMatchObject({ ok: false, code: 'tlsa-mismatch' });
    expect(verifyDane(input(x509(selfSigned), [tlsaText(selfSigned, 2, 0, 0)]))).toMatchObject({ ok: false, code: 'tlsa-mismatch' });
  });

  it('takes a "2 1 0" bare key that signed the top of the chain as trust anchor (RFC 7671 §5.2.3)', () => {
    expect(verifyDane(input(x509(leaf, inter), [tlsaText(root, 2, 1, 0)]))).toMatchObject({ ok: true, depth: -1, identity: NAME });
    // A self-signed leaf is signed by its own key: OpenSSL accepts that too.
    expect(verifyDane(input(x509(selfSigned), [tlsaText(selfSigned, 2, 1, 0)]))).toMatchObject({ ok: true, depth: -1 });
    expect(verifyDane(input(x509(leaf, inter), [tlsaText(stranger, 2, 1, 0)]))).toMatchObject({ ok: false, code: 'tlsa-mismatch' });
  });

  it('takes a "2 0 0" certificate the server did not send as trust anchor, but not a digest of one (RFC 7671 §5.2.2)', () => {
    expect(verifyDane(input(x509(leaf, inter), [tlsaText(root, 2, 0, 0)]))).toMatchObject({ ok: true, depth: -1 });
    expect(verifyDane(input(x509(leaf, inter), [tlsaText(root, 2, 0, 1)]))).toMatchObject({ ok: false, code: 'tlsa-mismatch' });
  });

  it('rejects a path through an issuer that is not a CA', () => {
    const verdict = verifyDane(input(x509(leafUnderNotCa, notCa, root), [tlsaText(root, 2, 0, 1)]));
    expect(verdict).toMatchObject({ ok: false, code: 'chain-invalid' });
    expect(!verdict.ok && verdict.reason).toMatch(/CN=www\.example\.test is not issued by CN=Unit Not A CA/);
  });

  it('rejects a chain whose certificates are not each signed by the next', () => {
    const verdict = verifyDane(input(x509(stranger, inter), [tlsaText(inter, 2, 0, 1)]));
    expect(verdict).toMatchObject({ ok: false, code: 'chain-invalid' });
  });

  it('ignores the validity of an intermediate trust anchor but not of a self-signed one (as OpenSSL)', () => {
    const chain = x509(underExpiredInter, expiredInter, root);
    expect(verifyDane(input(chain, [tlsaText(expiredInter, 2, 0, 1)]))).toMatchObject({ ok: true, depth: 1 });
    expect(verifyDane(input(chain, [tlsaText(root, 2, 0, 1)]))).toMatchObject({ ok: false, code: 'chain-invalid' });
    const at2032 = { nowEpoch: Date.UTC(2032, 0, 1) / 1000 };
    expect(verifyDane(input(x509(selfSigned), [tlsaText(selfSigned, 2, 1, 0)], at2032))).toMatchObject({ ok: false, code: 'chain-invalid' });
  });
});

describe('PKIX-EE(1) and PKIX-TA(0) (RFC 6698 §2.1.1)', () => {
  it('requires the CA store to trust the chain', () => {
    const untrusted = { pkix: { trusted: false, error: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' } };
    const ee = verifyDane(input(x509(leaf, inter, root), [tlsaText(leaf, 1, 1, 1)], untrusted));
    expect(ee).toMatchObject({ ok: false, code: 'pkix-failed' });
    expect(!ee.ok && ee.reason).toMatch(/does not trust the chain: UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);
    expect(verifyDane(input(x509(leaf, inter, root), [tlsaText(root, 0, 0, 1)], untrusted))).toMatchObject({ ok: false, code: 'pkix-failed' });
  });

  it('checks the name', () => {
    expect(verifyDane(input(x509(wrongName, inter, root), [tlsaText(wrongName, 1, 1, 1)]))).toMatchObject({ ok: false, code: 'name-mismatch' });
    expect(verifyDane(input(x509(wrongName, inter, root), [tlsaText(root, 0, 1, 1)]))).toMatchObject({ ok: false, code: 'name-mismatch' });
  });

  it('does not take the peer certificate as the PKIX-TA certificate', () => {
    expect(verifyDane(input(x509(leaf, inter, root), [tlsaText(leaf, 0, 1, 1)]))).toMatchObject({ ok: false, code: 'tlsa-mismatch' });
  });
});

describe('the RRset as a whole', () => {
  it('treats an RRset of unusable records as no TLSA (RFC 7671 §4.1), listing why', () => {
    const verdict = verifyDane(input(x509(leaf), [`4 1 1 ${'AB'.repeat(32)}`, `3 2 1 ${'AB'.repeat(32)}`]));
    expect(verdict).toMatchObject({ ok: false, code: 'no-usable-tlsa' });
    expect(verdict.unusable).toEqual([expect.stringMatching(/^4 1 1 .*usage 4 is not supported/), expect.stringMatching(/^3 2 1 .*selector 2/)]);
  });

  it('accepts when any one usable record authenticates, and still lists the unusable ones', () => {
    const verdict = verifyDane(input(x509(leaf, inter), [`4 1 1 ${'AB'.repeat(32)}`, tlsaText(stranger, 3, 1, 1), tlsaText(inter, 2, 0, 1)]));
    expect(verdict).toMatchObject({ ok: true, depth: 1, record: { usage: 2, selector: 0, matchingType: 1 } });
    expect(verdict.unusable).toHaveLength(1);
  });

  it('honours the usages filter: SMTP passes [2, 3] and PKIX records become unusable (RFC 7672 §3.1.3)', () => {
    const smtp = { usages: [2, 3] };
    expect(verifyDane(input(x509(leaf, inter, root), [tlsaText(leaf, 1, 1, 1), tlsaText(root, 0, 0, 1)], smtp)))
      .toMatchObject({ ok: false, code: 'no-usable-tlsa' });
    expect(verifyDane(input(x509(leaf, inter, root), [tlsaText(leaf, 1, 1, 1), tlsaText(leaf, 3, 1, 1)], smtp)))
      .toMatchObject({ ok: true, record: { usage: 3 }, unusable: [expect.stringMatching(/usage 1 is not accepted/)] });
  });

  it('reports the most telling failure: name-mismatch over chain-invalid and pkix-failed over tlsa-mismatch', () => {
    const rrset = [tlsaText(stranger, 3, 1, 1), tlsaText(root, 2, 0, 1), tlsaText(inter, 2, 0, 1)];
    const expired = verifyDane(input(x509(expiredLeaf, inter, root), rrset));
    expect(expired).toMatchObject({ ok: false, code: 'chain-invalid' });
    expect(!expired.ok && expired.reason).toMatch(/\(and 2 more records failed\)$/);
    expect(verifyDane(input(x509(wrongName, inter, root), rrset))).toMatchObject({ ok: false, code: 'name-mismatch' });
    const untrusted = { pkix: { trusted: false } };
    expect(verifyDane(input(x509(leaf, inter, root), [tlsaText(stranger, 3, 1, 1), tlsaText(leaf, 1, 1, 1)], untrusted)))
      .toMatchObject({ ok: false, code: 'pkix-failed' });
  });

  it('fails cleanly when the peer sent no certificate', () => {
    expect(verifyDane(input([], [tlsaText(leaf, 3, 1, 1), tlsaText(inter, 2, 0, 1)]))).toMatchObject({ ok: false, code: 'tlsa-mismatch' });
  });
});
