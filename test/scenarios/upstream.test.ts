/**
 * Upstream behaviour: anti-spoofing (RFC 5452), failover across upstreams with a dead one
 * skipped for a while, merging of identical queries in flight, SERVFAIL when nobody answers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dig, startAuthServer, type AuthServer } from '../support/bind-lab.js';
import { freePort } from '../support/free-port.js';
import { queryMessage, question, sleep, startOedns, udpQuery, type Harness } from '../support/oedns-harness.js';
import { aRecord, replyTo, startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream.js';
import { Rcode } from '../../src/wire/index.js';

let auth: AuthServer;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  auth = await startAuthServer({ zones: [{ origin: 'example.test.', records: ['www 300 IN A 192.0.2.10', 'mail 300 IN A 192.0.2.25'] }] });
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
afterAll(async () => {
  await auth?.stop();
});

async function oednsWith(upstreams: string[], extra: Record<string, number> = {}): Promise<Harness> {
  const h = await startOedns({ upstream: upstreams, ...extra });
  cleanups.push(() => h.stop());
  return h;
}

async function scripted(script: Parameters<typeof startScriptedUpstream>[0]): Promise<ScriptedUpstream> {
  const s = await startScriptedUpstream(script);
  cleanups.push(() => s.stop());
  return s;
}

const real = (): string => `${auth.address}:${auth.port}`;

describe('anti-spoofing', () => {
  it('ignores answers with the wrong ID, the wrong question, or from another port, and takes the real one', async () => {
    const upstream = await scripted(async ({ query, reply, replyFromOtherPort }) => {
      const q = query.questions[0]!;
      const poison = [aRecord(q.name, '203.0.113.66')];
      reply(replyTo(query, poison, { id: (query.id + 1) & 0xffff }));
      reply(replyTo(query, poison, { questions: [{ ...q, name: 'other.example.test.' }] }));
      reply(replyTo(query, poison, { questions: [{ ...q, type: 28 }] }));
      await replyFromOtherPort(replyTo(query, poison));
      await sleep(50);
      reply(replyTo(query, [aRecord(q.name, '192.0.2.99')]));
    });
    const h = await oednsWith([`${upstream.address}:${upstream.port}`]);
    const r = await dig({ address: h.address, port: h.port }, ['spoof.example.test', 'A']);
    expect(r.stdout).toMatch(/IN\s+A\s+192\.0\.2\.99/);
    expect(r.stdout).not.toMatch(/203\.0\.113\.66/);
    const ignored = h.logs.lines.filter((l) => l.msg === 'upstream answer ignored').map((l) => String(l['reason']));
    expect(ignored.some((reason) => reason.startsWith('ID '))).toBe(true);
    expect(ignored.some((reason) => reason.startsWith('question '))).toBe(true);
  });

  it('uses a random query ID and a fresh source port for each upstream query', async () => {
    const upstream = await scripted(({ query, reply }) => reply(replyTo(query, [aRecord(query.questions[0]!.name, '192.0.2.1')])));
    const h = await oednsWith([`${upstream.address}:${upstream.port}`]);
    for (let i = 0; i < 8; i++) await udpQuery(h.port, queryMessage(1, question(`n${i}.example.test.`, 1)));
    const ids = new Set(upstream.queries.map((q) => q.id));
    expect(ids.size).toBeGreaterThan(6);
    expect(upstream.queries.every((q) => q.edns?.dnssecOk === true && q.edns.udpPayloadSize === 1232)).toBe(true);
  });
});

describe('failover', () => {
  it('fails over from an upstream that refuses (nothing listening) and skips it afterwards', async () => {
    const closed = await freePort();
    const h = await oednsWith([`127.0.0.1:${closed}`, real()]);
    const r = await dig({ address: h.address, port: h.port }, ['www.example.test', 'A']);
    expect(r.stdout).toMatch(/192\.0\.2\.10/);
    expect(h.logs.find('upstream marked dead')?.['upstream']).toBe(`127.0.0.1:${closed}`);
  });

  it('fails over from a silent upstream after the attempt timeout and does not wait for it again', async () => {
    const silent = await scripted(() => undefined);
    const h = await oednsWith([`${silent.address}:${silent.port}`, real()], { 'upstream-timeout-ms': 300 });
    const first = await dig({ address: h.address, port: h.port }, ['www.example.test', 'A']);
    expect(first.stdout).toMatch(/192\.0\.2\.10/);
    expect(silent.queries).toHaveLength(1);
    const second = await dig({ address: h.address, port: h.port }, ['mail.example.test', 'A']);
    expect(second.stdout).toMatch(/192\.0\.2\.25/);
    expect(silent.queries).toHaveLength(1);
  });

  it('answers SERVFAIL when no upstream answers, and keeps serving', async () => {
    const silent = await scripted(() => undefined);
    const h = await oednsWith([`${silent.address}:${silent.port}`], { 'upstream-timeout-ms': 200, 'query-timeout-ms': 600 });
    const m = await udpQuery(h.port, queryMessage(3, question('www.example.test.', 1)));
    expect(m.rcode).toBe(Rcode.ServFail);
    expect(h.logs.find('query failed')?.['err']).toMatch(/no upstream answered www\.example\.test\./);
  });

  it('tries the next upstream when one answers SERVFAIL', async () => {
    const broken = await scripted(({ query, reply }) => reply(replyTo(query, [], { rcode: Rcode.ServFail })));
    const h = await oednsWith([`${broken.address}:${broken.port}`, real()]);
    const m = await udpQuery(h.port, queryMessage(4, question('www.example.test.', 1)));
    expect(m.rcode).toBe(Rcode.NoError);
    expect(broken.queries.length).toBeGreaterThan(0);
  });

  it('retries without EDNS when an upstream answers FORMERR to EDNS (RFC 6891 §7)', async () => {
    const old = await scripted(({ query, reply }) => {
      if (query.edns) reply(replyTo(query, [], { rcode: Rcode.FormErr }));
      else reply(replyTo(query, [aRecord(query.questions[0]!.name, '192.0.2.77')]));
    });
    const h = await oednsWith([`${old.address}:${old.port}`]);
    const m = await udpQuery(h.port, queryMessage(5, question('old.example.test.', 1)));
    expect(m.answers[0]?.rdata).toEqual(Uint8Array.from([192, 0, 2, 77]));
  });
});

describe('in-flight merging', () => {
  it('sends one upstream query for identical questions asked at the same time', async () => {
    const slow = await scripted(async ({ query, reply }) => {
      await sleep(200);
      reply(replyTo(query, [aRecord(query.questions[0]!.name, '192.0.2.5')]));
    });
    const h = await oednsWith([`${slow.address}:${slow.port}`]);
    const answers = await Promise.all([1, 2, 3, 4].map((id) => udpQuery(h.port, queryMessage(id, question('same.example.test.', 1)))));
    expect(answers.map((a) => a.id)).toEqual([1, 2, 3, 4]);
    expect(slow.queries).toHaveLength(1);
    expect(h.oedns.resolver.stats.merged).toBe(3);
  });
});

describe('IPv6', () => {
  it('listens on [::1] and forwards to an upstream at [::1]', async () => {
    const v6 = await startScriptedUpstream(({ query, reply }) => reply(replyTo(query, [aRecord(query.questions[0]!.name, '192.0.2.6')])), { address: '::1' });
    cleanups.push(() => v6.stop());
    const port = await freePort('::1');
    const h = await startOedns({ listen: [`[::1]:${port}`], upstream: [`[::1]:${v6.port}`] });
    cleanups.push(() => h.stop());
    const r = await dig({ address: '::1', port }, ['six.example.test', 'A']);
    expect(r.stdout).toMatch(/192\.0\.2\.6\b/);
    const tcp = await dig({ address: '::1', port }, ['+tcp', 'six.example.test', 'A']);
    expect(tcp.stdout).toMatch(/192\.0\.2\.6\b/);
    expect(v6.queries).toHaveLength(1);
  });
});
