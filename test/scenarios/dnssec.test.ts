/**
 * Validation through the running pipeline, asked with real dig: a lab root as trust anchor, a
 * BIND-served signed hierarchy, AD for secure data (RFC 4035 §3.2.3, RFC 6840 §5.7), SERVFAIL
 * with an Extended DNS Error for bogus data (RFC 8914), CD=1 passing data through unvalidated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig } from '../support/bind-lab.js';
import type { Harness } from '../support/oedns-harness.js';
import { startSignedLab, startValidatingOedns, type SignedLab } from '../support/signed-lab.js';

let auth: SignedLab;
let h: Harness;
const sign = { algorithm: 'ECDSAP256SHA256' as const };

beforeAll(async () => {
  auth = await startSignedLab({
    recursionAcrossOwnZones: true,
    sign,
    zones: [
      { origin: 'example.test.', sign, records: ['www 300 IN A 192.0.2.10', 'alias 300 IN CNAME www.nsec3.test.'] },
      { origin: 'nsec3.test.', sign: { ...sign, nsec3: { iterations: 0 } }, records: ['www 300 IN A 192.0.2.30'] },
      { origin: 'unsigned.test.', records: ['host 300 IN A 192.0.2.40'] },
      { origin: 'expired.test.', sign: { ...sign, inception: 'now-8640000', expiration: 'now-86400' }, records: ['host 300 IN A 192.0.2.60'] },
    ],
  });
  h = await startValidatingOedns(auth);
}, 60_000);

afterAll(async () => {
  await h?.stop();
  await auth?.stop();
});

const via = (): { address: string; port: number } => ({ address: h.address, port: h.port });
const flagsOf = (out: string): string[] => /flags: ([a-z ]+);/.exec(out)?.[1]?.split(' ') ?? [];

describe('validation through oedns', () => {
  it('sets AD on secure data for a DO client, from the network and from the cache', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await dig(via(), ['+dnssec', 'www.example.test', 'A']);
      expect(r.stdout).toMatch(/status: NOERROR/);
      expect(flagsOf(r.stdout)).toContain('ad');
      expect(r.stdout).toMatch(/IN\s+RRSIG\s+A /);
    }
  });

  it('sets AD for a client that asked with AD and no DO, and not for one that asked for neither (RFC 6840 §5.7)', async () => {
    expect(flagsOf((await dig(via(), ['+adflag', 'www.example.test', 'A'])).stdout)).toContain('ad');
    expect(flagsOf((await dig(via(), ['+noadflag', 'www.example.test', 'A'])).stdout)).not.toContain('ad');
  });

  it('validates a CNAME chain into an NSEC3 zone, and NXDOMAIN proofs', async () => {
    const chain = await dig(via(), ['+dnssec', 'alias.example.test', 'A']);
    expect(flagsOf(chain.stdout)).toContain('ad');
    expect(chain.stdout).toMatch(/192\.0\.2\.30/);
    const nx = await dig(via(), ['+dnssec', 'nothing.nsec3.test', 'A']);
    expect(nx.stdout).toMatch(/status: NXDOMAIN/);
    expect(flagsOf(nx.stdout)).toContain('ad');
  });

  it('answers insecure data without AD', async () => {
    const r = await dig(via(), ['+dnssec', 'host.unsigned.test', 'A']);
    expect(r.stdout).toMatch(/192\.0\.2\.40/);
    expect(flagsOf(r.stdout)).not.toContain('ad');
  });

  it('answers SERVFAIL with EDE 7 for expired signatures, also from the failure cache (RFC 8914)', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await dig(via(), ['+dnssec', 'host.expired.test', 'A']);
      expect(r.stdout).toMatch(/status: SERVFAIL/);
      expect(r.stdout).toMatch(/EDE: 7 \(Signature Expired\)/);
      expect(r.stdout).not.toMatch(/192\.0\.2\.60/);
    }
    expect(h.logs.lines.some((l) => l.msg === 'validation failed' && l['qname'] === 'host.expired.test.')).toBe(true);
  });

  it('passes bogus data through unvalidated, without AD, to a client that set CD', async () => {
    const r = await dig(via(), ['+dnssec', '+cd', 'host.expired.test', 'A']);
    expect(r.stdout).toMatch(/status: NOERROR/);
    expect(r.stdout).toMatch(/192\.0\.2\.60/);
    expect(flagsOf(r.stdout)).not.toContain('ad');
  });
});
