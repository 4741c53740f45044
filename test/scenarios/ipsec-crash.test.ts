/**
 * Crash safety of the IPsec lifecycle (issue 6): oedns as the real process (dist/cli.js) with the
 * xfrm backend in a network namespace the test creates, forwarding to a BIND lab whose signed
 * zone has many hosts with A + IPSECKEY under a `require` rule. SIGKILL in the middle of a burst
 * of installs, restart with the same --state-dir, and the SPD holds no stale and no duplicate
 * entry; SIGTERM leaves none. A failing `ip` leaves no half policy and the client gets SERVFAIL;
 * where the backend can still block (dry-run told to fail protect only), the address is blocked.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DryRunBackend, readStateFile } from '../../src/ipsec/index.js';
import { PRIORITY_BAND } from '../../src/ipsec/xfrm/xfrm-spec.js';
import { decodeMessage, encodeMessage, Rcode, RRType, type Message } from '../../src/wire/index.js';
import { freePort } from '../support/free-port.js';
import { queryMessage, question, spawnOedns, startOedns, udpQuery } from '../support/oedns-harness.js';
import { startSignedLab, type SignedLab } from '../support/signed-lab.js';

const isRoot = process.getuid?.() === 0;
const ZONE = 'crash.test.';
const HOSTS = 160;
const SIGN = { algorithm: 'ECDSAP256SHA256' } as const;
/** RFC 4025 §2.4 / RFC 9373: IPSECKEY algorithm 4, Ed25519. */
const IPSECKEY_ED25519 = 4;
const hostName = (i: number): string => `h${i}.${ZONE}`;
const hostAddress = (i: number): string => `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`;
const NAMES = Array.from({ length: HOSTS }, (_, i) => hostName(i));
/** Queries in flight at once during a burst. */
const WINDOW = 32;

let lab: SignedLab;
let work: string;
let policiesDir: string;

beforeAll(async () => {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url').toString('base64');
  const records = Array.from({ length: HOSTS }, (_, i) => [
    `h${i} 300 IN A ${hostAddress(i)}`, `h${i} 300 IN IPSECKEY 10 0 ${IPSECKEY_ED25519} . ${raw}`,
  ]).flat();
  lab = await startSignedLab({ recursionAcrossOwnZones: true, sign: SIGN, zones: [{ origin: ZONE, sign: SIGN, records }] });
  work = await mkdtemp(join(tmpdir(), 'oedns-crash-'));
  policiesDir = join(work, 'policies');
  await execa('mkdir', ['-p', policiesDir]);
  // A long timeout: every decision of a burst waits for its install, none ends on the deadline.
  await writeFile(join(policiesDir, '50-crash.yaml'), `version: 1
rules:
  - description: the crash lab, always encrypted
    domains: [.crash.test]
    action: require
    keys: [ipseckey]
    timeout-ms: 60000
  - domains: "*"
    action: clear
`);
}, 120_000);
afterAll(async () => {
  await lab?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** One SPD entry as `ip xfrm policy show` prints it. */
interface SpdEntry {
  readonly src: string;
  readonly dst: string;
  readonly dir: string;
  readonly priority: number;
}

async function spd(netns: string): Promise<SpdEntry[]> {
  const { stdout } = await execa('ip', ['-n', netns, 'xfrm', 'policy', 'show']);
  const entries: SpdEntry[] = [];
  let head: string[] = [];
  for (const line of stdout.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (/^\S/.test(line)) head = words;
    else if (words[0] === 'dir') {
      const at = (list: string[], key: string): string => list[list.indexOf(key) + 1] ?? '';
      entries.push({ src: at(head, 'src'), dst: at(head, 'dst'), dir: at(words, 'dir'), priority: Number(at(words, 'priority')) });
    }
  }
  return entries;
}

const isOurs = (e: SpdEntry): boolean => e.priority >= PRIORITY_BAND.base && e.priority < PRIORITY_BAND.base + PRIORITY_BAND.size;
/** The remote address of one of oedns' entries (dst out, src in). */
const remoteOf = (e: SpdEntry): string => (e.dir === 'out' ? e.dst : e.src).replace(/\/32$/, '');
const ours = async (netns: string): Promise<SpdEntry[]> => (await spd(netns)).filter(isOurs);

/** "out R" / "in R" for each entry; a duplicate would show twice. */
const entryNames = (entries: readonly SpdEntry[]): string[] => entries.map((e) => `${e.dir} ${remoteOf(e)}`).sort();
/** Both directions of each remote, sorted: what a set of held addresses should look like in the SPD. */
const pairsOf = (remotes: Iterable<string>): string[] => [...remotes].flatMap((r) => [`in ${r}`, `out ${r}`]).sort();

/** A UDP client keeping `WINDOW` A queries in flight over `names`, recording each rcode. */
class Burst {
  readonly rcodes = new Map<string, number>();
  private readonly socket: Socket = createSocket('udp4');
  private readonly byId = new Map<number, string>();
  private next = 0;

  constructor(private readonly port: number, private readonly names: readonly string[]) {
    this.socket.on('message', (bytes) => this.received(decodeMessage(new Uint8Array(bytes))));
    this.socket.bind(0, '127.0.0.1', () => this.send());
  }

  get outstanding(): number {
    return this.names.length - this.rcodes.size;
  }

  close(): void {
    this.socket.close();
  }

  private received(message: Message): void {
    const name = this.byId.get(message.id);
    if (name === undefined || this.rcodes.has(name)) return;
    this.rcodes.set(name, message.rcode);
    this.send();
  }

  private send(): void {
    while (this.next < this.names.length && this.next - this.rcodes.size < WINDOW) {
      const id = this.next + 1;
      const name = this.names[this.next++]!;
      this.byId.set(id, name);
      this.socket.send(encodeMessage(queryMessage(id, question(name, RRType.A), { edns: true, dnssecOk: true })), this.port, '127.0.0.1');
    }
  }
}

/** Whether an `ip` started for `netns` still runs (one a killed oedns left may still be finishing its batch). */
async function ipRunningIn(netns: string): Promise<boolean> {
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv[0]?.endsWith('ip') && argv.includes(netns)) return true;
  }
  return false;
}

function serveArgs(netns: string, stateDir: string, port: number): string[] {
  return ['serve', '--listen', `127.0.0.1:${port}`, '--upstream', `${lab.address}:${lab.port}`, '--trust-anchor', lab.anchorFile,
    '--policies', policiesDir, '--ipsec-backend', 'xfrm', '--ipsec-netns', netns, '--state-dir', stateDir,
    '--control-socket', join(stateDir, '..', `control-${port}.sock`), '--log-level', 'info'];
}

/** The real oedns, up and answering (or the test fails with its output). */
async function serving(args: readonly string[]): ReturnType<typeof spawnOedns> {
  const started = await spawnOedns(args);
  if (!started.output().includes('"oedns serving"')) throw new Error(`oedns did not start:\n${started.output()}`);
  return started;
}

function logLines(output: string): Record<string, unknown>[] {
  return output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** What the state files (the snapshot and its journal) say oedns holds. */
async function stateEntries(stateDir: string): Promise<{ remotes: string[]; inFlight: number }> {
  const read = await readStateFile(stateDir);
  if (read.kind !== 'ok') throw new Error(`state file ${read.kind}`);
  return { remotes: read.state.entries.map((e) => e.spec.remote), inFlight: read.state.inFlight.length };
}

describe.runIf(isRoot)('SIGKILL in the middle of a burst of installs (xfrm, in a network namespace)', () => {
  const netns = `oedns-crash-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  beforeAll(() => execa('ip', ['netns', 'add', netns]));
  afterAll(() => execa('ip', ['netns', 'del', netns], { reject: false }));

  it('restarts with no stale and no duplicate entry, holds what it adopted, and leaves nothing at SIGTERM', async () => {
    // Another program's entry, outside oedns' band: never touched.
    await execa('ip', ['-n', netns, 'xfrm', 'policy', 'add', 'src', '198.51.100.1/32', 'dst', '198.51.100.2/32', 'dir', 'out', 'priority', '100', 'action', 'block']);
    const stateDir = join(work, 'state-crash');
    const firstPort = await freePort();
    const first = await serving(serveArgs(netns, stateDir, firstPort));
    const burst = new Burst(firstPort, NAMES);
    // Kill once some installs are in the kernel and the state file has confirmed some: mid-burst.
    await expect.poll(async () => (await ours(netns)).length >= 40 && (await stateEntries(stateDir).catch(() => ({ remotes: [] }))).remotes.length > 0,
      { timeout: 60_000, interval: 10 }).toBe(true);
    first.process.kill('SIGKILL');
    await first.process;
    const outstanding = burst.outstanding;
    burst.close();
    expect(outstanding).toBeGreaterThan(0);
    await expect.poll(() => ipRunningIn(netns), { timeout: 10_000, interval: 20 }).toBe(false);
    const left = await ours(netns);
    const recorded = await stateEntries(stateDir);
    expect(left.length).toBeGreaterThan(0);

    const secondPort = await freePort();
    const second = await serving(serveArgs(netns, stateDir, secondPort));
    try {
      const reconciled = logLines(second.output()).find((l) => l['msg'] === 'IPsec state reconciled');
      expect(reconciled).toMatchObject({ listed: new Set(left.map(remoteOf)).size, duplicates: 0 });
      const adopted = reconciled!["adopted"] as number;
      expect(adopted).toBeGreaterThan(0);
      expect(adopted).toBeLessThanOrEqual(recorded.remotes.length);
      // What is in the SPD now is exactly what the new process holds (its state file), both directions each.
      const held = await stateEntries(stateDir);
      expect(held.remotes).toHaveLength(adopted);
      expect(held.inFlight).toBe(0);
      expect(entryNames(await ours(netns))).toEqual(pairsOf(held.remotes));

      // The whole burst again: every name installs (no "File exists" from a leftover), once.
      const again = new Burst(secondPort, NAMES);
      await expect.poll(() => again.outstanding, { timeout: 120_000, interval: 50 }).toBe(0);
      again.close();
      expect(new Set(again.rcodes.values())).toEqual(new Set([Rcode.NoError]));
      const all = await ours(netns);
      expect(entryNames(all)).toEqual(pairsOf(NAMES.map((_, i) => hostAddress(i))));
    } finally {
      second.process.kill('SIGTERM');
    }
    expect((await second.process).exitCode).toBe(0);
    expect(await ours(netns)).toEqual([]);
    expect(await stateEntries(stateDir)).toEqual({ remotes: [], inFlight: 0 });
    expect((await spd(netns)).map((e) => `${e.dir} ${e.dst} ${e.priority}`)).toEqual(['out 198.51.100.2/32 100']);
  }, 240_000);
});

describe.runIf(isRoot)('a failing ip (xfrm, in a network namespace)', () => {
  const netns = `oedns-ipfail-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  beforeAll(() => execa('ip', ['netns', 'add', netns]));
  afterAll(() => execa('ip', ['netns', 'del', netns], { reject: false }));

  it('leaves no half pair when the second direction is refused, and answers SERVFAIL under require', async () => {
    // Another program holds the inbound selector oedns needs for h0: the out entry goes in, the in entry fails.
    const taken = hostAddress(0);
    await execa('ip', ['-n', netns, 'xfrm', 'policy', 'add', 'src', `${taken}/32`, 'dst', '0.0.0.0/0', 'dir', 'in', 'priority', '100', 'action', 'allow']);
    const stateDir = join(work, 'state-ipfail');
    const port = await freePort();
    const oedns = await serving(serveArgs(netns, stateDir, port));
    try {
      const refused = await udpQuery(port, queryMessage(1, question(hostName(0), RRType.A), { edns: true, dnssecOk: true }));
      expect(refused.rcode).toBe(Rcode.ServFail);
      const ede = refused.edns?.options.find((o) => o.code === 15);
      expect(Buffer.from(ede!.data.subarray(2)).toString()).toMatch(/^policy for h0\.crash\.test\. failed: xfrm: ip -n \S+ xfrm policy add src 198\.18\.0\.1\/32 dst 0\.0\.0\.0\/0 dir in/);
      expect((await spd(netns)).filter((e) => e.src.startsWith(taken) || e.dst.startsWith(taken)).map((e) => `${e.dir} ${e.priority}`)).toEqual(['in 100']);
      // Blocking instead needs the same selector: it fails too, and says so.
      const failed = logLines(oedns.output()).find((l) => l['msg'] === 'IPsec install failed, and so did blocking instead');
      expect(failed).toMatchObject({ owner: `${hostName(0)}/A`, blocked: [taken], err: expect.stringMatching(/File exists; the first half was removed/) });
      const fine = await udpQuery(port, queryMessage(2, question(hostName(1), RRType.A), { edns: true, dnssecOk: true }));
      expect(fine.rcode).toBe(Rcode.NoError);
      expect(entryNames(await ours(netns))).toEqual(pairsOf([hostAddress(1)]));
    } finally {
      oedns.process.kill('SIGTERM');
    }
    expect((await oedns.process).exitCode).toBe(0);
    expect(await ours(netns)).toEqual([]);
  }, 60_000);

  it('answers SERVFAIL and installs nothing once ip cannot run in the namespace at all', async () => {
    const gone = `${netns}-gone`;
    await execa('ip', ['netns', 'add', gone]);
    const stateDir = join(work, 'state-gone');
    const port = await freePort();
    const oedns = await serving(serveArgs(gone, stateDir, port));
    try {
      await execa('ip', ['netns', 'del', gone]);
      const refused = await udpQuery(port, queryMessage(1, question(hostName(2), RRType.A), { edns: true, dnssecOk: true }));
      expect(refused.rcode).toBe(Rcode.ServFail);
      const ede = refused.edns?.options.find((o) => o.code === 15);
      expect(Buffer.from(ede!.data.subarray(2)).toString()).toMatch(/^policy for h2\.crash\.test\. failed: xfrm: ip -n \S+-gone xfrm policy add/);
      const failed = logLines(oedns.output()).find((l) => l['msg'] === 'IPsec install failed, and so did blocking instead');
      expect(failed).toMatchObject({ err: expect.stringMatching(/Cannot open network namespace/) });
    } finally {
      oedns.process.kill('SIGTERM');
      await execa('ip', ['netns', 'del', gone], { reject: false });
    }
    await oedns.process;
  }, 60_000);

  it('refuses to start when the backend cannot list what it holds (a namespace that does not exist)', async () => {
    const oedns = await spawnOedns(serveArgs(`${netns}-never`, join(work, 'state-never'), await freePort()));
    const result = await oedns.process;
    expect(result.exitCode).toBe(2);
    expect(oedns.output()).toMatch(/ERR_IPSEC_BACKEND.*Cannot open network namespace/);
  }, 60_000);
});

describe('a failed install under require (the real pipeline, dry-run backend told to fail protect)', () => {
  it('answers SERVFAIL and blocks the address instead of leaving it without a policy', async () => {
    const h = await startOedns({
      upstream: [`${lab.address}:${lab.port}`], 'trust-anchor': [lab.anchorFile], insecure: [], keys: true, policies: policiesDir, 'ipsec-backend': 'dry-run',
    });
    try {
      const backend = h.oedns.ipsec!.backend as DryRunBackend;
      backend.failWhen = (change) => change.op === 'add' && change.policy.action.kind === 'protect';
      const reply = await udpQuery(h.port, queryMessage(1, question(hostName(3), RRType.A), { edns: true, dnssecOk: true }));
      expect(reply.rcode).toBe(Rcode.ServFail);
      expect(backend.present).toEqual([expect.objectContaining({ remote: hostAddress(3), action: { kind: 'block' } })]);
      expect(h.oedns.ipsec!.list()).toEqual([expect.objectContaining({ owners: [`${hostName(3)}/A`] })]);
      expect(h.logs.lines.some((l) => l.msg === 'IPsec install failed; blocking the required addresses instead')).toBe(true);
      // Once the backend works again, the next query replaces the block with the protection.
      backend.failWhen = undefined;
      expect((await udpQuery(h.port, queryMessage(2, question(hostName(3), RRType.A), { edns: true, dnssecOk: true }))).rcode).toBe(Rcode.NoError);
      expect(backend.present).toEqual([expect.objectContaining({ remote: hostAddress(3), action: expect.objectContaining({ kind: 'protect', level: 'require' }) })]);
    } finally {
      await h.stop();
    }
  }, 60_000);
});
