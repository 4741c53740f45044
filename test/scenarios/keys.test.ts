/**
 * The keys step end to end (issue 4): oedns forwarding to the keys lab's named, validating from
 * the lab root, looking up IPSECKEY/CERT/TLSA for every A/AAAA answer and publishing a decision
 * that a recording subscriber (standing in for an IPsec backend) holds or releases.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HostDecision } from '../../src/pipeline/index.js';
import { Rcode, RRType, type Message, type Question } from '../../src/wire/index.js';
import { makeStandIns } from '../../src/ipsec/setkey/testdata/stand-in.js';
import { startKeysLab, KEYS_LAB_ALIAS, KEYS_LAB_HOSTS, KEYS_TTL_SECONDS, type KeysLab } from '../support/keys-lab.js';
import { DIST_CLI, queryMessage, question, startOedns, udpQuery, type Harness } from '../support/oedns-harness.js';

let keys: KeysLab;
let h: Harness | undefined;
let nextId = 1;

beforeAll(async () => {
  keys = await startKeysLab();
}, 60_000);
afterAll(() => keys?.stop());
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function start(flags: Record<string, unknown> = {}): Promise<Harness> {
  h = await startOedns({
    upstream: [`${keys.lab.address}:${keys.lab.port}`], 'trust-anchor': [keys.anchorFile], insecure: [], keys: true,
    'tlsa-port': ['443'], ...flags,
  });
  return h;
}

function ask(name: string, type: number): Promise<Message> {
  return udpQuery(h!.port, queryMessage(nextId++, question(name, type), { edns: true, dnssecOk: true }));
}

/** A subscriber that records decisions and holds acting ones until `release()`. */
function recorder(harness: Harness) {
  const decisions: HostDecision[] = [];
  const waiting: Array<() => void> = [];
  harness.oedns.decisions.subscribe((decision) => {
    decisions.push(decision);
    if (decision.addresses.every((a) => a.action.kind === 'none')) return undefined;
    return new Promise<void>((resolve) => waiting.push(resolve));
  });
  return { decisions, waiting, release: () => waiting.splice(0).forEach((r) => r()) };
}

/** Tracks which questions are in flight upstream at once. */
function inFlight(harness: Harness) {
  const upstream = harness.oedns.upstream;
  const original = upstream.query.bind(upstream);
  const now = new Set<string>();
  const together: string[][] = [];
  upstream.query = async (q: Question, cd: boolean, signal: AbortSignal) => {
    const what = `${q.name}/${q.type}`;
    now.add(what);
    together.push([...now]);
    try {
      return await original(q, cd, signal);
    } finally {
      now.delete(what);
    }
  };
  return together;
}

describe('keys step for A/AAAA answers', () => {
  it('holds the answer until the subscriber has the policy in place, then answers with AD', async () => {
    const harness = await start();
    const rec = recorder(harness);
    let answered = false;
    const reply = ask(KEYS_LAB_HOSTS.alice.name, RRType.A).then((m) => {
      answered = true;
      return m;
    });
    await expect.poll(() => rec.waiting.length, { timeout: 5000 }).toBe(1);
    expect(answered).toBe(false);
    const [decision] = rec.decisions;
    expect(decision!.name).toBe(KEYS_LAB_HOSTS.alice.name);
    expect(decision!.addresses).toEqual([expect.objectContaining({ address: KEYS_LAB_HOSTS.alice.ipv4, action: expect.objectContaining({ kind: 'protect', level: 'use' }) })]);
    const action = decision!.addresses[0]!.action;
    expect(action.kind === 'protect' && action.key.spkiPem).toBe(keys.keys.alice.spkiPem);
    expect(decision!.keys.tlsa.get('443/tcp')?.status).toBe('secure');
    expect(decision!.keys.cert.records[0]?.certificate?.subjectAltName).toContain('alice.keys.test');
    rec.release();
    const message = await reply;
    expect(message.rcode).toBe(Rcode.NoError);
    expect(message.ad).toBe(true);
    expect(harness.logs.lines.some((l) => l.msg === 'decision' && l['name'] === KEYS_LAB_HOSTS.alice.name)).toBe(true);
  });

  it('asks for IPSECKEY, CERT and TLSA while the A query is in flight, not after it', async () => {
    const harness = await start();
    const together = inFlight(harness);
    recorder(harness).release();
    const name = KEYS_LAB_HOSTS.plain.name;
    expect((await ask(name, RRType.A)).rcode).toBe(Rcode.NoError);
    const all = [`${name}/${RRType.A}`, `${name}/${RRType.IPSECKEY}`, `${name}/${RRType.CERT}`, `_443._tcp.${name}/${RRType.TLSA}`];
    expect(together.some((set) => all.every((q) => set.includes(q)))).toBe(true);
  });

  it('shares one key lookup between A and AAAA asked at once, and keeps keys no longer than their TTL', async () => {
    const harness = await start();
    const together = inFlight(harness);
    const name = KEYS_LAB_HOSTS.alice.name;
    const rec = recorder(harness);
    const replies = Promise.all([ask(name, RRType.A), ask(name, RRType.AAAA)]);
    await expect.poll(() => rec.waiting.length, { timeout: 5000 }).toBe(2);
    rec.release();
    expect((await replies).map((m) => m.rcode)).toEqual([Rcode.NoError, Rcode.NoError]);
    const asked = new Set(together.flat().filter((q) => q.endsWith(`/${RRType.IPSECKEY}`)));
    expect([...asked]).toEqual([`${name}/${RRType.IPSECKEY}`]);
    expect(together.filter((set) => set.at(-1) === `${name}/${RRType.IPSECKEY}`)).toHaveLength(1);
    for (const decision of rec.decisions) expect(decision.expiresAtMs).toBeLessThanOrEqual(Date.now() + KEYS_TTL_SECONDS * 1000);
  });

  it('decides for AAAA on its own, and answers cached names without a new decision while it holds', async () => {
    const harness = await start();
    const rec = recorder(harness);
    const first = ask(KEYS_LAB_HOSTS.bob.name, RRType.AAAA);
    await expect.poll(() => rec.waiting.length, { timeout: 5000 }).toBe(1);
    rec.release();
    expect((await first).rcode).toBe(Rcode.NoError);
    const [decision] = rec.decisions;
    // bob's lowest-precedence IPSECKEY names his IPv4 address as gateway; for his IPv6 address the
    // next one (gateway = that IPv6 address) is the host itself.
    expect(decision!.addresses[0]).toMatchObject({ address: KEYS_LAB_HOSTS.bob.ipv6, action: { kind: 'protect' } });
    const action = decision!.addresses[0]!.action;
    expect(action.kind === 'protect' && action.key.precedence).toBe(20);
    expect(action.kind === 'protect' && action.key.spkiPem).toBe(keys.keys.bob.spkiPem);
    expect((await ask(KEYS_LAB_HOSTS.bob.name, RRType.AAAA)).rcode).toBe(Rcode.NoError);
    expect(rec.decisions).toHaveLength(1);
  });

  it('follows a CNAME to the host and looks up the keys at its own name', async () => {
    const harness = await start();
    const rec = recorder(harness);
    const reply = ask(KEYS_LAB_ALIAS.name, RRType.A);
    await expect.poll(() => rec.waiting.length, { timeout: 5000 }).toBe(1);
    rec.release();
    expect((await reply).answers.some((rr) => rr.type === RRType.CNAME)).toBe(true);
    expect(rec.decisions[0]).toMatchObject({ qname: KEYS_LAB_ALIAS.name, name: KEYS_LAB_ALIAS.target });
  });

  it.each([
    ['carol (secure A, bogus IPSECKEY)', KEYS_LAB_HOSTS.carol.name, 'bogus', /IPSECKEY is bogus/],
    ['dave (insecure zone)', KEYS_LAB_HOSTS.dave.name, 'insecure', /IPSECKEY is insecure/],
    // A denial is not validated: no key is no key (lookupForKeys).
    ['plain (no keys)', KEYS_LAB_HOSTS.plain.name, 'unchecked', /no IPSECKEY/],
    ['broken (malformed key)', KEYS_LAB_HOSTS.broken.name, 'secure', /no usable IPSECKEY/],
  ])('takes no action for %s and does not hold the answer', async (_what, name, status, reason) => {
    const harness = await start();
    const rec = recorder(harness);
    const message = await ask(name, RRType.A);
    expect(message.rcode).toBe(Rcode.NoError);
    expect(rec.waiting).toHaveLength(0);
    expect(rec.decisions).toHaveLength(1);
    expect(rec.decisions[0]!.keys.ipseckey.status).toBe(status);
    expect(rec.decisions[0]!.addresses[0]).toMatchObject({ action: { kind: 'none' }, reason: expect.stringMatching(reason) });
  });

  it('reports a malformed key with its record and reason', async () => {
    const harness = await start();
    const rec = recorder(harness);
    await ask(KEYS_LAB_HOSTS.broken.name, RRType.A);
    expect(rec.decisions[0]!.keys.ipseckey.rejected).toEqual([expect.stringMatching(/^broken\.keys\.test\. IPSECKEY: .*RSA/)]);
  });

  it('answers anyway at answer-timeout-ms by default, and SERVFAIL with an EDE when told to', async () => {
    await start({ 'answer-timeout-ms': 200 });
    recorder(h!);
    expect((await ask(KEYS_LAB_HOSTS.alice.name, RRType.A)).rcode).toBe(Rcode.NoError);
    expect(h!.logs.lines.some((l) => l.msg === 'decision not in place in time')).toBe(true);
    await h!.stop();
    await start({ 'answer-timeout-ms': 200, 'answer-timeout-action': 'servfail' });
    recorder(h!);
    const message = await ask(KEYS_LAB_HOSTS.alice.name, RRType.A);
    expect(message.rcode).toBe(Rcode.ServFail);
    const ede = message.edns?.options.find((o) => o.code === 15);
    expect(Buffer.from(ede!.data.subarray(2)).toString()).toMatch(/policy for alice\.keys\.test\. not in place after 200 ms/);
  });
});

describe('oedns lookup with keys', () => {
  const run = (args: string[]) => execa('node', [DIST_CLI, 'lookup', '--upstream', `${keys.lab.address}:${keys.lab.port}`, '--trust-anchor', keys.anchorFile, '--tlsa-port', '443', ...args], { reject: false });

  it('prints the keys with their status and the decision serve would take', async () => {
    const r = await run([KEYS_LAB_HOSTS.alice.name, 'A']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/;; keys of alice\.keys\.test\.:/);
    expect(r.stdout).toMatch(/;;   IPSECKEY alice\.keys\.test\.: secure\n;;     10 0 4 \. \S+ \(ed25519\)/);
    expect(r.stdout).toMatch(/;;   TLSA _443\._tcp\.alice\.keys\.test\.: secure\n;;     3 1 1 [0-9A-F]{64}/);
    expect(r.stdout).toMatch(/;;   192\.0\.2\.10: protect, level use \(secure IPSECKEY/);
    const carol = await run([KEYS_LAB_HOSTS.carol.name]);
    expect(carol.stdout).toMatch(/IPSECKEY carol\.keys\.test\.: bogus .*lookup failed/);
    expect(carol.stdout).toMatch(/192\.0\.2\.30: none \(IPSECKEY is bogus/);
  });

  it('prints one JSON object with --json', async () => {
    const r = await run([KEYS_LAB_HOSTS.bob.name, 'AAAA', '--json']);
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ question: { name: 'bob.keys.test.', type: 'AAAA' }, status: 'secure' });
    expect(out.keys.ipseckey.records.map((k: { precedence: number }) => k.precedence)).toEqual([10, 20, 30]);
    expect(out.keys.ipseckey.records[1].spkiPem).toBe(keys.keys.bob.spkiPem);
    expect(out.decision.addresses).toEqual([expect.objectContaining({ address: '2001:db8::20', action: 'protect', level: 'use', keyPrecedence: 20 })]);
  });
});

describe('decided by the policies in --policies DIR', () => {
  let dir: string;
  const write = (text: string) => writeFile(join(dir, '50-test.yaml'), text);
  const RULES = `version: 1
rules:
  - description: alice and carol, always encrypted
    domains: [alice.keys.test, carol.keys.test]
    action: require
    keys: [ipseckey]
    timeout-ms: 1500
  - description: nothing for plain
    domains: plain.keys.test
    action: clear
  - domains: "*"
    action: use
`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oedns-policies-'));
    await write(RULES);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('requires IPsec with the key for a require rule, and names the rule', async () => {
    const harness = await start({ policies: dir });
    const rec = recorder(harness);
    const reply = ask(KEYS_LAB_HOSTS.alice.name, RRType.A);
    await expect.poll(() => rec.waiting.length, { timeout: 5000 }).toBe(1);
    rec.release();
    expect((await reply).rcode).toBe(Rcode.NoError);
    const [decision] = rec.decisions;
    expect(decision).toMatchObject({ decidedBy: 'policies', waitMs: 1500, onTimeout: 'servfail' });
    expect(decision!.addresses[0]!.action).toMatchObject({ kind: 'protect', level: 'require', key: { spkiPem: keys.keys.alice.spkiPem } });
    expect(decision!.addresses[0]!.reason).toMatch(/50-test\.yaml:3:5 \(alice and carol/);
  });

  it('blocks and answers SERVFAIL under require when the key is bogus, never cleartext', async () => {
    const harness = await start({ policies: dir });
    const rec = recorder(harness);
    const reply = ask(KEYS_LAB_HOSTS.carol.name, RRType.A);
    await expect.poll(() => rec.waiting.length, { timeout: 5000 }).toBe(1);
    expect(rec.decisions[0]!.addresses[0]!.action).toEqual({ kind: 'block' });
    rec.release();
    const message = await reply;
    expect(message.rcode).toBe(Rcode.ServFail);
    const ede = message.edns?.options.find((o) => o.code === 15);
    expect(Buffer.from(ede!.data.subarray(2)).toString()).toMatch(/carol\.keys\.test\..*bogus/);
  });

  it('looks up no keys at all for a name a clear rule covers', async () => {
    const harness = await start({ policies: dir, 'tlsa-port': [] });
    const together = inFlight(harness);
    const rec = recorder(harness);
    expect((await ask(KEYS_LAB_HOSTS.plain.name, RRType.A)).rcode).toBe(Rcode.NoError);
    expect(together.flat().filter((q) => !q.endsWith(`/${RRType.A}`) && !q.endsWith(`/${RRType.DS}`) && !q.endsWith(`/${RRType.DNSKEY}`))).toEqual([]);
    expect(rec.decisions[0]!.addresses[0]).toMatchObject({ action: { kind: 'none' }, reason: expect.stringMatching(/clear|nothing/) });
  });

  it('keeps the previous policies when a reload finds a broken file, and takes a good one', async () => {
    const harness = await start({ policies: dir });
    await write('version: 1\nrules:\n  - domains: x.test\n    action: encrypt-please\n');
    expect(await harness.oedns.reload()).toBe(true);
    expect(harness.logs.lines.some((l) => /policies/.test(String(l.msg)) && /encrypt-please/.test(JSON.stringify(l)))).toBe(true);
    const rec = recorder(harness);
    const reply = ask(KEYS_LAB_HOSTS.alice.name, RRType.A);
    await expect.poll(() => rec.waiting.length, { timeout: 5000 }).toBe(1);
    rec.release();
    await reply;
    expect(rec.decisions[0]!.addresses[0]!.action).toMatchObject({ kind: 'protect', level: 'require' });
    await write(RULES.replace('action: require', 'action: use'));
    expect(await harness.oedns.reload()).toBe(true);
    const again = recorder(harness);
    const second = ask(KEYS_LAB_HOSTS.alice.name, RRType.AAAA);
    await expect.poll(() => again.waiting.length, { timeout: 5000 }).toBe(1);
    again.release();
    await second;
    expect(again.decisions[0]!.addresses[0]!.action).toMatchObject({ kind: 'protect', level: 'use' });
    await write(RULES);
  });

  it('after an IKE failure lets a use address go in clear and blocks a require one for the shunt lifetime', async () => {
    const harness = await start({ policies: dir });
    const rec = recorder(harness);
    const first = ask(KEYS_LAB_HOSTS.bob.name, RRType.A);
    await expect.poll(() => rec.waiting.length, { timeout: 5000 }).toBe(1);
    rec.release();
    await first;
    expect(rec.decisions[0]!.addresses[0]!.action).toMatchObject({ kind: 'protect', level: 'use' });
    harness.oedns.ikeFailed(KEYS_LAB_HOSTS.bob.ipv4, 'AUTHENTICATION_FAILED', 60);
    harness.oedns.ikeFailed(KEYS_LAB_HOSTS.alice.ipv4, 'AUTHENTICATION_FAILED', 60);
    // bob (use): a clear pass while the shunt lasts; the cached answer goes through a new decision.
    const bobAgain = ask(KEYS_LAB_HOSTS.bob.name, RRType.A);
    await expect.poll(() => rec.waiting.length, { timeout: 5000 }).toBe(1);
    rec.release();
    expect((await bobAgain).rcode).toBe(Rcode.NoError);
    const bob = rec.decisions.at(-1)!;
    expect(bob.addresses[0]!.policy?.flows.at(-1)?.install).toEqual({ kind: 'pass' });
    expect(bob.addresses[0]!.action).toEqual({ kind: 'pass' });
    expect(bob.expiresAtMs).toBeLessThanOrEqual(Date.now() + 60_000);
    // alice (require): blocked, SERVFAIL, never clear.
    const alice = ask(KEYS_LAB_HOSTS.alice.name, RRType.A);
    await expect.poll(() => rec.waiting.length, { timeout: 5000 }).toBe(1);
    expect(rec.decisions.at(-1)!.addresses[0]!.action).toEqual({ kind: 'block' });
    rec.release();
    expect((await alice).rcode).toBe(Rcode.ServFail);
    harness.oedns.ikeSucceeded(KEYS_LAB_HOSTS.bob.ipv4);
    const again = ask(KEYS_LAB_HOSTS.bob.name, RRType.A);
    await expect.poll(() => rec.waiting.length, { timeout: 5000 }).toBe(1);
    rec.release();
    await again;
    expect(rec.decisions.at(-1)!.addresses[0]!.action).toMatchObject({ kind: 'protect', level: 'use' });
  });

  it('oedns lookup decides by the same policies as serve', async () => {
    const r = await execa('node', [DIST_CLI, 'lookup', '--upstream', `${keys.lab.address}:${keys.lab.port}`, '--trust-anchor', keys.anchorFile, '--policies', dir, KEYS_LAB_HOSTS.alice.name], { reject: false });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/;; decision \(policies\)/);
    expect(r.stdout).toMatch(/192\.0\.2\.10: protect, level require \(.*50-test\.yaml:3:5/);
  });

  it('refuses to start on a broken policy file, naming file, line and column', async () => {
    const broken = await mkdtemp(join(tmpdir(), 'oedns-policies-'));
    await writeFile(join(broken, 'bad.yaml'), 'version: 1\nrules:\n  - domains: x.test\n    action: encrypt-please\n');
    await expect(start({ policies: broken })).rejects.toThrow(/bad\.yaml:4:\d+.*encrypt-please/);
    await rm(broken, { recursive: true, force: true });
  });
});

describe('tunnel mode by policy', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oedns-policies-'));
    await writeFile(join(dir, 'tunnel.yaml'), 'rules:\n  - domains: remote.keys.test\n    action: use\n    tunnel: true\n  - action: use\n');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('uses an IPSECKEY for another gateway only where a rule says tunnel: true', async () => {
    const harness = await start({ policies: dir });
    const rec = recorder(harness);
    const reply = ask(KEYS_LAB_HOSTS.remote.name, RRType.A);
    await expect.poll(() => rec.waiting.length, { timeout: 5000 }).toBe(1);
    rec.release();
    expect((await reply).rcode).toBe(Rcode.NoError);
    expect(rec.decisions[0]!.addresses[0]!.action).toMatchObject({ kind: 'protect', level: 'use', mode: 'tunnel', gateway: KEYS_LAB_HOSTS.gw.ipv4, key: { spkiPem: keys.keys.alice.spkiPem } });
    await h!.stop();
    // Without the rule (the built-in default): reported, not used.
    const plain = await start();
    const rec2 = recorder(plain);
    await ask(KEYS_LAB_HOSTS.remote.name, RRType.A);
    expect(rec2.decisions[0]!.addresses[0]).toMatchObject({ action: { kind: 'none' }, reason: expect.stringMatching(/gateway 192\.0\.2\.254 \(tunnel mode is not allowed\)/) });
  });
});

describe('decisions become IPsec policies (dry-run backend)', () => {
  it('installs a transport policy with the peer identity and key before answering, and removes it at stop', async () => {
    const harness = await start({ 'ipsec-backend': 'dry-run' });
    const manager = harness.oedns.ipsec!;
    expect((await ask(KEYS_LAB_HOSTS.alice.name, RRType.AAAA)).rcode).toBe(Rcode.NoError);
    const installed = manager.list().map((p) => p.spec);
    expect(installed).toContainEqual(expect.objectContaining({
      family: 6, remote: KEYS_LAB_HOSTS.alice.ipv6, selector: {}, action: { kind: 'protect', level: 'use', mode: 'transport', gateway: undefined },
      peer: { identity: 'alice.keys.test.', publicKeyPem: keys.keys.alice.spkiPem },
    }));
    // IPv6: Neighbor Discovery stays in clear.
    expect(installed).toContainEqual(expect.objectContaining({ remote: KEYS_LAB_HOSTS.alice.ipv6, selector: { protocol: 58, ports: [{ first: 133, last: 136 }] }, action: { kind: 'pass' } }));
    expect((await ask(KEYS_LAB_HOSTS.plain.name, RRType.A)).rcode).toBe(Rcode.NoError);
    expect(manager.list()).toHaveLength(2);
    await harness.stop();
    h = undefined;
    expect(manager.list()).toEqual([]);
    expect(await manager.backend.list(new AbortController().signal)).toEqual([]);
  });
});

describe('decisions become kernel policies (xfrm backend, in a network namespace)', () => {
  const netns = `oedns-keys-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const isRoot = process.getuid?.() === 0;
  beforeAll(async () => {
    if (isRoot) await execa('ip', ['netns', 'add', netns]);
  });
  afterAll(async () => {
    if (isRoot) await execa('ip', ['netns', 'del', netns], { reject: false });
  });
  const policies = async (): Promise<string> => (await execa('ip', ['-n', netns, 'xfrm', 'policy', 'show'])).stdout;

  it.runIf(isRoot)('installs both directions for a secure IPSECKEY before answering, keeps others alone, and removes its own at stop', async () => {
    await execa('ip', ['-n', netns, 'xfrm', 'policy', 'add', 'src', '198.51.100.1/32', 'dst', '198.51.100.2/32', 'dir', 'out', 'priority', '100', 'action', 'block']);
    const harness = await start({ 'ipsec-backend': 'xfrm', 'ipsec-netns': netns });
    expect((await ask(KEYS_LAB_HOSTS.alice.name, RRType.A)).rcode).toBe(Rcode.NoError);
    const shown = await policies();
    expect(shown).toMatch(new RegExp(`dst ${KEYS_LAB_HOSTS.alice.ipv4.replace(/\./g, '\\.')}/32[^]*dir out[^]*tmpl[^]*proto esp[^]*mode transport[^]*level use`));
    expect(shown).toMatch(new RegExp(`src ${KEYS_LAB_HOSTS.alice.ipv4.replace(/\./g, '\\.')}/32[^]*dir in`));
    await harness.stop();
    h = undefined;
    const after = await policies();
    expect(after).not.toContain(KEYS_LAB_HOSTS.alice.ipv4);
    expect(after).toContain('198.51.100.2/32');
  });
});

describe('decisions become setkey scripts (setkey backend, stand-in executable)', () => {
  it('feeds setkey -c the spdadd lines for both directions, and spddelete at stop', async () => {
    const standIns = makeStandIns();
    const harness = await start({ 'ipsec-backend': 'setkey', 'setkey-path': standIns.setkeyPath });
    expect((await ask(KEYS_LAB_HOSTS.alice.name, RRType.A)).rcode).toBe(Rcode.NoError);
    const scripts = standIns.calls().filter((c) => c.tool === 'setkey').map((c) => c.stdin).join('');
    expect(scripts).toContain(`spdadd 0.0.0.0/0 ${KEYS_LAB_HOSTS.alice.ipv4}/32 any -P out ipsec esp/transport//use;`);
    expect(scripts).toContain(`spdadd ${KEYS_LAB_HOSTS.alice.ipv4}/32 0.0.0.0/0 any -P in ipsec esp/transport//use;`);
    await harness.stop();
    h = undefined;
    expect(standIns.spd()).toEqual([]);
  });
});
