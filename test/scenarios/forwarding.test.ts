/**
 * oedns between real `dig`/`kdig` and a real BIND serving generated zones: UDP and TCP, TC and
 * TCP fallback, EDNS and DO handling, negative caching (RFC 2308) and TTL countdown.
 */
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, startAuthServer, type AuthServer } from '../support/bind-lab.js';
import { queryMessage, question, sleep, startOedns, udpQuery, type Harness } from '../support/oedns-harness.js';

const bigTxt = Array.from({ length: 12 }, (_, i) => `big 300 IN TXT "${String(i).padStart(2, '0')}${'x'.repeat(180)}"`);

let auth: AuthServer;
let h: Harness;

beforeAll(async () => {
  auth = await startAuthServer({
    zones: [
      {
        origin: 'example.test.',
        soaMinimumSeconds: 60,
        soaTtlSeconds: 120,
        records: ['www 300 IN A 192.0.2.10', 'www 300 IN AAAA 2001:db8::10', 'alias 300 IN CNAME www', 'short 3 IN A 192.0.2.3', ...bigTxt],
      },
      { origin: 'signed.test.', sign: { algorithm: 'ECDSAP256SHA256' }, records: ['www 300 IN A 192.0.2.20'] },
    ],
  });
  h = await startOedns({ upstream: [`${auth.address}:${auth.port}`] });
});

afterAll(async () => {
  await h?.stop();
  await auth?.stop();
});

const via = (): { address: string; port: number } => ({ address: h.address, port: h.port });

describe('forwarding through oedns with real dig', () => {
  it('answers over UDP with the client ID, RD and RA set and AA cleared', async () => {
    const r = await dig(via(), ['www.example.test', 'A', '+norec']);
    expect(r.stdout).toMatch(/status: NOERROR/);
    expect(r.stdout).toMatch(/www\.example\.test\.\s+\d+\s+IN\s+A\s+192\.0\.2\.10/);
    const flags = /flags: ([a-z ]+);/.exec(r.stdout)?.[1]?.split(' ') ?? [];
    expect(flags).toContain('qr');
    expect(flags).toContain('ra');
    expect(flags).not.toContain('aa');
    expect(flags).not.toContain('rd');
  });

  it('answers over TCP (dig +tcp and kdig +tcp)', async () => {
    const r = await dig(via(), ['+tcp', 'www.example.test', 'AAAA']);
    expect(r.stdout).toMatch(/IN\s+AAAA\s+2001:db8::10/);
    const k = await execa('kdig', [`@${h.address}`, '-p', String(h.port), '+tcp', 'alias.example.test', 'A'], { reject: false });
    expect(k.stdout).toMatch(/alias\.example\.test\.\s+\d+\s+IN\s+CNAME\s+www\.example\.test\./);
    expect(k.stdout).toMatch(/192\.0\.2\.10/);
  });

  it('fetches a truncated upstream answer over TCP and truncates to a UDP client that cannot take it (RFC 7766 §5)', async () => {
    const truncated = await dig(via(), ['+ignore', '+bufsize=1232', 'big.example.test', 'TXT']);
    expect(truncated.stdout).toMatch(/flags: qr tc/);
    const full = await dig(via(), ['big.example.test', 'TXT']);
    expect(full.stdout).toMatch(/ANSWER: 12,/);
    expect(full.stdout).toMatch(/Truncated, retrying in TCP mode/);
    const retried = h.logs.lines.filter((l) => l.msg === 'truncated upstream answer; retrying over TCP' && l['qname'] === 'big.example.test.');
    expect(retried).toHaveLength(1);
  });

  it('sends no OPT record to a client that sent none (RFC 6891 §7)', async () => {
    const r = await dig(via(), ['+noedns', 'www.example.test', 'A']);
    expect(r.stdout).not.toMatch(/OPT PSEUDOSECTION/);
    const e = await dig(via(), ['+edns=0', 'www.example.test', 'A']);
    expect(e.stdout).toMatch(/EDNS: version: 0/);
  });

  it('returns RRSIGs only to clients that set DO, and clears AD for now (RFC 4035 §3.2.1)', async () => {
    const withDo = await dig(via(), ['+dnssec', 'www.signed.test', 'A']);
    expect(withDo.stdout).toMatch(/IN\s+RRSIG\s+A /);
    expect(withDo.stdout).toMatch(/flags: do;/);
    const withoutDo = await dig(via(), ['+adflag', 'www.signed.test', 'A']);
    expect(withoutDo.stdout).toMatch(/192\.0\.2\.20/);
    expect(withoutDo.stdout).not.toMatch(/RRSIG/);
    expect(/flags: ([a-z ]+);/.exec(withoutDo.stdout)?.[1]).not.toMatch(/\bad\b/);
  });

  it('asks upstream with EDNS0, a 1232-byte buffer and DO set', async () => {
    // named's answer carries RRSIGs only when oedns asked with DO; the client here asked without.
    const m = await udpQuery(h.port, queryMessage(0x1234, question('www.signed.test.', 1), { edns: true, dnssecOk: true }));
    expect(m.id).toBe(0x1234);
    expect(m.answers.some((r) => r.type === 46)).toBe(true);
    expect(m.edns?.udpPayloadSize).toBe(1232);
  });
});

describe('cache', () => {
  it('caches NXDOMAIN for min(SOA TTL, SOA MINIMUM) (RFC 2308 §5)', async () => {
    const before = h.oedns.resolver.stats.upstreamQueries;
    const first = await dig(via(), ['nothing-here.example.test', 'A']);
    expect(first.stdout).toMatch(/status: NXDOMAIN/);
    expect(first.stdout).toMatch(/example\.test\.\s+60\s+IN\s+SOA/);
    const second = await dig(via(), ['NOTHING-here.example.test', 'A']);
    expect(second.stdout).toMatch(/status: NXDOMAIN/);
    expect(h.oedns.resolver.stats.upstreamQueries).toBe(before + 1);
  });

  it('caches NODATA (RFC 2308 §5)', async () => {
    const before = h.oedns.resolver.stats.upstreamQueries;
    const first = await dig(via(), ['www.example.test', 'MX']);
    expect(first.stdout).toMatch(/status: NOERROR.*ANSWER: 0/s);
    expect(first.stdout).toMatch(/AUTHORITY: 1/);
    await dig(via(), ['www.example.test', 'MX']);
    expect(h.oedns.resolver.stats.upstreamQueries).toBe(before + 1);
  });

  it('counts TTLs down and expires entries', async () => {
    const ttlOf = (out: string): number => Number(/short\.example\.test\.\s+(\d+)\s+IN\s+A/.exec(out)?.[1]);
    const first = await dig(via(), ['short.example.test', 'A']);
    expect(ttlOf(first.stdout)).toBe(3);
    await sleep(2100);
    const later = await dig(via(), ['short.example.test', 'A']);
    expect(ttlOf(later.stdout)).toBe(1);
    const upstreamBefore = h.oedns.resolver.stats.upstreamQueries;
    await sleep(1000);
    const refreshed = await dig(via(), ['short.example.test', 'A']);
    expect(ttlOf(refreshed.stdout)).toBe(3);
    expect(h.oedns.resolver.stats.upstreamQueries).toBe(upstreamBefore + 1);
  });
});
