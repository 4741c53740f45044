/**
 * The privilege split for real: `node dist/cli.js ipsec-helper` runs as root with the xfrm
 * backend in a network namespace this file creates (`oedns-helper-<random>`), and a HelperBackend
 * runs in a process that is not root (`setpriv` to uid 65534, group nogroup 65534, no other
 * groups), the socket's group letting it in. Checked with `ip -n NS xfrm policy`, never with the
 * backend. Needs root and a built dist/ (`npm run build`, as `npm test` does); skipped otherwise.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PolicySpec } from '../backend.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const DIST_CLI = join(ROOT, 'dist', 'cli.js');
const DIST_IPSEC = pathToFileURL(join(ROOT, 'dist', 'ipsec', 'index.js')).href;
const NS = `oedns-helper-${randomBytes(4).toString('hex')}`;
const NOBODY = 65534;
const NOGROUP = 65534;
/** A group nobody's process is not in. */
const STRANGER_GROUP = 54321;
const canRun = process.getuid?.() === 0 && existsSync(DIST_CLI);

/** What the unprivileged process runs: steps from argv[3] (JSON), one JSON result line per step. */
const CLIENT_SCRIPT = `
import { createConnection } from 'node:net';
import { HelperBackend } from '${DIST_IPSEC}';
const [socketPath, stepsJson] = process.argv.slice(2);
const backend = new HelperBackend({ socketPath });
const signal = () => AbortSignal.timeout(10_000);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
for (const step of JSON.parse(stepsJson)) {
  try {
    if (step.apply) await backend.apply(step.apply, signal());
    if (step.removeAll) await backend.removeAll(signal());
    if (step.raw) {
      const reply = await new Promise((resolve, reject) => {
        const s = createConnection(socketPath);
        let text = '';
        s.on('data', (d) => { text += d; });
        s.on('close', () => resolve(text.split('\\n').filter(Boolean)));
        s.on('error', reject);
        s.end(step.raw);
      });
      out({ raw: reply });
      continue;
    }
    out({ ok: true, uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(), name: backend.name, listed: (await backend.list(signal())).length });
  } catch (error) {
    out({ ok: false, error: error.message });
  }
}
await backend.close();
`;

const v4 = (remote: string, action: PolicySpec['action'], extra: Partial<PolicySpec> = {}): PolicySpec =>
  ({ family: 4, local: '10.77.0.1', remote, selector: {}, action, ...extra });
const requireTransport = { kind: 'protect', level: 'require', mode: 'transport' } as const;

async function policyShow(): Promise<string> {
  return (await execa('ip', ['-n', NS, 'xfrm', 'policy', 'show'])).stdout;
}

describe.skipIf(!canRun)('oedns ipsec-helper as root, driven by an unprivileged process', () => {
  let dir: string;
  let socketPath: string;
  let script: string;
  let helper: ResultPromise | undefined;
  let helperLog = '';

  /** Runs the client script as uid 65534 with `gid` as its only group. */
  async function asNobody(steps: readonly object[], gid = NOGROUP): Promise<Record<string, unknown>[]> {
    const run = await execa('setpriv', [`--reuid=${NOBODY}`, `--regid=${gid}`, '--clear-groups', 'node', script, socketPath, JSON.stringify(steps)], { reject: false });
    expect(run.stderr).toBe('');
    return run.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  async function startHelper(): Promise<void> {
    helperLog = '';
    helper = execa('node', [DIST_CLI, 'ipsec-helper', '--socket', socketPath, '--group', 'nogroup', '--ipsec-backend', 'xfrm', '--ipsec-netns', NS], { reject: false, all: true });
    const started = helper;
    await new Promise<void>((resolve) => {
      started.all?.on('data', (chunk: Buffer) => {
        helperLog += chunk.toString();
        if (helperLog.includes('"IPsec helper listening"')) resolve();
      });
      void started.finally(() => resolve());
    });
    if (!helperLog.includes('"IPsec helper listening"')) throw new Error(`ipsec-helper did not start: ${helperLog}`);
  }

  beforeAll(async () => {
    await execa('ip', ['netns', 'add', NS]);
    dir = await mkdtemp(join(tmpdir(), 'oedns-helper-'));
    // Open to all (the client script lives here too), so only the socket's own mode and group decide.
    await chmod(dir, 0o755);
    socketPath = join(dir, 'helper.sock');
    script = join(dir, 'client.mjs');
    await writeFile(script, CLIENT_SCRIPT, { mode: 0o644 });
    await startHelper();
  });
  afterAll(async () => {
    if (helper?.pid !== undefined && helper.exitCode === null) {
      helper.kill('SIGTERM');
      await helper;
    }
    await execa('ip', ['netns', 'delete', NS], { reject: false });
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await execa('ip', ['-n', NS, 'xfrm', 'policy', 'flush']);
  });

  it('opens its socket 0660 for the --group group', async () => {
    const s = await stat(socketPath);
    expect(s.mode & 0o777).toBe(0o660);
    expect({ uid: s.uid, gid: s.gid }).toEqual({ uid: 0, gid: NOGROUP });
  });

  it('installs and removes kernel policies for a process that is not root', async () => {
    const specs = [
      v4('10.77.0.2', requireTransport),
      v4('10.77.0.3', { kind: 'block' }),
      v4('10.77.0.4', { kind: 'pass' }, { selector: { protocol: 6, ports: [{ first: 443, last: 443 }] } }),
    ];
    const [installed, removedOne, removedAll] = await asNobody([
      { apply: specs.map((policy) => ({ op: 'add', policy })) },
      { apply: [{ op: 'remove', policy: specs[0] }] },
      { removeAll: true },
    ]);
    expect(installed).toEqual({ ok: true, uid: NOBODY, gid: NOGROUP, groups: [NOGROUP], name: 'xfrm', listed: 3 });
    expect(removedOne).toMatchObject({ ok: true, listed: 2 });
    expect(removedAll).toMatchObject({ ok: true, listed: 0 });
    expect(await policyShow()).toBe('');
  });

  it('the policies are in the kernel SPD of the namespace while installed', async () => {
    await asNobody([{ apply: [{ op: 'add', policy: v4('10.77.0.2', requireTransport) }] }]);
    const shown = await policyShow();
    expect(shown).toContain('src 10.77.0.1/32 dst 10.77.0.2/32 \n\tdir out priority');
    expect(shown).toContain('src 10.77.0.2/32 dst 10.77.0.1/32 \n\tdir in priority');
    expect(shown).toMatch(/proto esp reqid 0 mode transport/);
  });

  it('lets in no process outside the group', async () => {
    const [result] = await asNobody([{ apply: [{ op: 'add', policy: v4('10.77.0.2', requireTransport) }] }], STRANGER_GROUP);
    expect(result).toMatchObject({ ok: false, error: expect.stringMatching(/cannot connect .*EACCES/) });
    expect(await policyShow()).toBe('');
  });

  it('refuses shell metacharacters and smuggled requests from the unprivileged side, applying nothing', async () => {
    const evil = { ...v4('10.77.0.2', requireTransport), peer: { identity: 'x.example;ip xfrm policy flush', publicKeyPem: 'x' } };
    const [encoded, raw] = await asNobody([
      { apply: [{ op: 'add', policy: evil }] },
      { raw: 'HELLO 1\nAPPLY 1\nADD family=4 remote=10.77.0.9 action=block identity=$(reboot) key=AAAA\nREMOVE-ALL; ip xfrm policy flush\n' },
    ]);
    expect(encoded).toMatchObject({ ok: false, error: expect.stringMatching(/refused before sending: identity/) });
    expect(raw).toEqual({ raw: [
      'OK 1 xfrm',
      'ERR ERR_IPSEC_HELPER_GRAMMAR batch line 1 of 1: identity "$(reboot)" is not a lowercase host name',
      'ERR ERR_IPSEC_HELPER_GRAMMAR unknown request "REMOVE-ALL;"',
    ] });
    expect(await policyShow()).toBe('');
  });

  it('on SIGTERM removes its socket and leaves the policies in place; a new helper takes over', async () => {
    await asNobody([{ apply: [{ op: 'add', policy: v4('10.77.0.2', requireTransport) }] }]);
    helper?.kill('SIGTERM');
    const exited = await helper;
    expect(exited?.exitCode).toBe(0);
    expect(helperLog).toContain('"IPsec helper stopped"');
    expect(existsSync(socketPath)).toBe(false);
    expect(await policyShow()).toContain('dst 10.77.0.2/32');
    await startHelper();
    const [removed] = await asNobody([{ removeAll: true }]);
    expect(removed).toMatchObject({ ok: true, listed: 0 });
    expect(await policyShow()).toBe('');
  });
});
