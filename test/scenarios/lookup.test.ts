/**
 * `oedns lookup`: one name through the same upstream pool and validator as `oedns serve`, as a
 * user runs it, with the chain of trust printed step by step (like delv +vtrace).
 */
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST_CLI } from '../support/oedns-harness.js';
import { startSignedLab, type SignedLab } from '../support/signed-lab.js';

let auth: SignedLab;
const sign = { algorithm: 'ECDSAP256SHA256' as const };

beforeAll(async () => {
  auth = await startSignedLab({
    recursionAcrossOwnZones: true,
    sign,
    zones: [
      { origin: 'example.test.', sign, records: ['www 300 IN A 192.0.2.10', 'www 300 IN TXT "hello world"'] },
      { origin: 'expired.test.', sign: { ...sign, inception: 'now-8640000', expiration: 'now-86400' }, records: ['host 300 IN A 192.0.2.60'] },
    ],
  });
}, 60_000);
afterAll(() => auth?.stop());

async function lookup(...args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa('node', [DIST_CLI, 'lookup', '--upstream', `127.0.0.1:${auth.port}`, '--trust-anchor', auth.anchorFile, ...args], { reject: false, timeout: 20_000 });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('oedns lookup', () => {
  it('prints a secure answer like dig and exits 0', async () => {
    const r = await lookup('www.example.test', 'TXT');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^;; www\.example\.test\. TXT: rcode 0, secure$/m);
    expect(r.stdout).toMatch(/^www\.example\.test\.\t300\tIN\tTXT\t"hello world"$/m);
  });

  it('prints the chain of trust with --trace', async () => {
    const r = await lookup('--trace', 'www.example.test', 'A');
    expect(r.stdout).toMatch(/;;\s+\.: DNSKEY RRset secure via trust anchor/);
    expect(r.stdout).toMatch(/;;\s+example\.test\.: DS RRset secure, signed by test\./);
    expect(r.stdout).toMatch(/;;\s+www\.example\.test\.\/A: secure, signed by example\.test\./);
    expect(r.stdout).toMatch(/IN\tRRSIG\tA 13 3 300 /);
  });

  it('explains a bogus answer with its EDE, prints no data, and exits 2', async () => {
    const r = await lookup('host.expired.test');
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toMatch(/bogus: .*RRSIG expired.*\(EDE 7\)/);
    expect(r.stdout).not.toMatch(/192\.0\.2\.60/);
  });

  it('proves NXDOMAIN and says so in the trace', async () => {
    const r = await lookup('--trace', 'nothing.example.test');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/rcode 3, secure/);
    expect(r.stdout).toMatch(/NXDOMAIN for nothing\.example\.test\.: NSEC proof from example\.test\. secure/);
  });

  it('rejects an unknown record type', async () => {
    const r = await lookup('www.example.test', 'NOPE');
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toMatch(/"NOPE" is not a record type/);
  });
});
