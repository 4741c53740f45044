/**
 * The xfrm backend's long-lived `ip -batch -` (ip-session.ts) against the real kernel SPD, in a
 * network namespace this file creates and deletes. Needs root; skipped otherwise. What happens
 * when that process dies, when a command fails in the middle of a batch, and when the process
 * ends without saying why; checked with `ip -n NS xfrm policy`, never with the backend itself.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyChange, PolicySpec } from '../backend.js';
import { IpSession } from './ip-session.js';
import { XfrmBackend } from './xfrm-backend.js';

const NS = `oedns-test-${randomBytes(4).toString('hex')}`;
const canRun = process.getuid?.() === 0;
const signal = (): AbortSignal => AbortSignal.timeout(20_000);

async function ipNs(...args: string[]): Promise<string> {
  return (await execa('ip', ['-n', NS, ...args])).stdout;
}
async function policyCount(): Promise<{ in: number; out: number }> {
  const m = /IN\s+(\d+)\s+OUT\s+(\d+)/.exec(await ipNs('xfrm', 'policy', 'count'));
  return { in: Number(m?.[1]), out: Number(m?.[2]) };
}
/** Our `ip` children (the long-lived sessions), by parent pid. */
async function ipChildren(): Promise<number[]> {
  const result = await execa('pgrep', ['-P', String(process.pid), '-x', 'ip'], { reject: false });
  return result.stdout.split('\n').filter(Boolean).map(Number);
}
async function gone(pid: number): Promise<void> {
  for (let i = 0; i < 100 && (await ipChildren()).includes(pid); i++) await new Promise((r) => setTimeout(r, 20));
}

const v4 = (remote: string): PolicySpec =>
  ({ family: 4, local: '10.99.0.1', remote, selector: {}, action: { kind: 'protect', level: 'require', mode: 'transport' } });
const add = (policy: PolicySpec): PolicyChange => ({ op: 'add', policy });
const remove = (policy: PolicySpec): PolicyChange => ({ op: 'remove', policy });

describe.skipIf(!canRun)('xfrm backend: the long-lived ip -batch', () => {
  const backend = new XfrmBackend({ netns: NS });
  let dir = '';

  beforeAll(async () => {
    await execa('ip', ['netns', 'add', NS]);
    dir = await mkdtemp(join(tmpdir(), 'oedns-xfrm-session-'));
  });
  afterAll(async () => {
    backend.close();
    await execa('ip', ['netns', 'delete', NS], { reject: false });
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await ipNs('xfrm', 'policy', 'flush');
  });

  it('keeps one ip process across installs and removals', async () => {
    await backend.apply([add(v4('10.99.0.2'))], signal());
    const [pid] = await ipChildren();
    expect(pid).toBeGreaterThan(0);
    await backend.apply([add(v4('10.99.0.3')), remove(v4('10.99.0.2'))], signal());
    await backend.apply([remove(v4('10.99.0.3'))], signal());
    expect(await ipChildren()).toEqual([pid]);
    expect(await policyCount()).toEqual({ in: 0, out: 0 });
  });

  it('starts a new ip when the long-lived one died, and the next apply works', async () => {
    await backend.apply([add(v4('10.99.0.2'))], signal());
    const [pid] = await ipChildren();
    process.kill(pid!, 'SIGKILL');
    await gone(pid!);
    await backend.apply([add(v4('10.99.0.3'))], signal());
    const [respawned] = await ipChildren();
    expect(respawned).not.toBe(pid);
    expect(await policyCount()).toEqual({ in: 2, out: 2 });
    await backend.apply([remove(v4('10.99.0.2')), remove(v4('10.99.0.3'))], signal());
    expect(await policyCount()).toEqual({ in: 0, out: 0 });
  });

  it('stops at a command that fails mid-batch: changes before it stay, its half pair goes, later ones never run', async () => {
    // Another program's in-entry for .5: the kernel refuses ours (EEXIST) after our out entry went in.
    await ipNs('xfrm', 'policy', 'add', 'src', '10.99.0.5/32', 'dst', '10.99.0.1/32', 'dir', 'in', 'priority', '5', 'action', 'block');
    const error = await backend.apply(['10.99.0.4', '10.99.0.5', '10.99.0.6'].map((r) => add(v4(r))), signal()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_IPSEC_BACKEND' });
    expect(String((error as Error).message)).toMatch(/xfrm policy add src 10\.99\.0\.5\/32 dst 10\.99\.0\.1\/32 dir in .*File exists.*first half was removed/);
    const shown = await ipNs('xfrm', 'policy', 'show');
    expect(shown).toContain('dst 10.99.0.4/32');
    expect(shown).not.toContain('dst 10.99.0.5/32');
    expect(shown).not.toContain('10.99.0.6');
    expect(await policyCount()).toEqual({ in: 2, out: 1 });
    // The failure ended that ip; the next apply runs in a new one.
    await backend.apply([add(v4('10.99.0.6'))], signal());
    expect(await policyCount()).toEqual({ in: 3, out: 2 });
  });

  it('removes both halves when ip ends in the middle of a pair without saying why', async () => {
    // A stand-in that passes the first three lines only (out entry, its marker, in entry) once.
    const ipPath = join(dir, 'ip-cut');
    const once = join(dir, 'cut-once');
    await writeFile(ipPath, `#!/bin/sh\nif [ -e '${once}' ]; then exec ip "$@"; fi\ntouch '${once}'\nhead -n 3 | exec ip "$@"\n`, { mode: 0o755 });
    const cut = new XfrmBackend({ netns: NS, ipPath });
    try {
      const error = await cut.apply([add(v4('10.99.0.7'))], signal()).catch((e: unknown) => e);
      expect(String((error as Error).message)).toMatch(/xfrm policy add src 10\.99\.0\.7\/32 dst 10\.99\.0\.1\/32 dir in .*ip exited.*first half was removed/);
      expect(await policyCount()).toEqual({ in: 0, out: 0 });
      await cut.apply([add(v4('10.99.0.7'))], signal());
      expect(await policyCount()).toEqual({ in: 1, out: 1 });
    } finally {
      cut.close();
    }
  });

  it('treats a removal whose entry is gone as done, and looks the rest up in a new ip', async () => {
    await backend.apply([add(v4('10.99.0.8')), add(v4('10.99.0.9'))], signal());
    await ipNs('xfrm', 'policy', 'delete', 'src', '10.99.0.1/32', 'dst', '10.99.0.8/32', 'dir', 'out');
    await backend.apply([remove(v4('10.99.0.8')), remove(v4('10.99.0.9'))], signal());
    expect(await policyCount()).toEqual({ in: 0, out: 0 });
  });

  it('never removes another program\'s entry that took the selector of one of oedns\' entries', async () => {
    await backend.apply([add(v4('10.99.0.10'))], signal());
    await ipNs('xfrm', 'policy', 'delete', 'src', '10.99.0.1/32', 'dst', '10.99.0.10/32', 'dir', 'out');
    await ipNs('xfrm', 'policy', 'add', 'src', '10.99.0.1/32', 'dst', '10.99.0.10/32', 'dir', 'out', 'priority', '10', 'action', 'block');
    await backend.apply([remove(v4('10.99.0.10'))], signal());
    expect(await ipNs('xfrm', 'policy', 'show')).toContain('dst 10.99.0.10/32 \n\tdir out action block priority 10');
    expect(await policyCount()).toEqual({ in: 0, out: 1 });
  });

  it('reports an aborted run and works again afterwards', async () => {
    const session = new IpSession({ ipPath: 'ip', netns: NS });
    try {
      const selector = ['src', '10.99.0.1/32', 'dst', '10.99.0.12/32'];
      await ipNs('xfrm', 'policy', 'add', ...selector, 'dir', 'out', 'priority', '12', 'action', 'block');
      await expect(session.run([['xfrm', 'policy', 'get', ...selector, 'dir', 'out']], AbortSignal.abort())).rejects.toBeDefined();
      const { outcomes, stdout } = await session.run([['xfrm', 'policy', 'get', ...selector, 'dir', 'out']], signal());
      expect(outcomes).toEqual([{ status: 'ok', stderr: '' }]);
      expect(stdout).toMatch(/^src 10\.99\.0\.1\/32 dst 10\.99\.0\.12\/32 .*\n\tdir out action block index \d+ priority 12 /);
    } finally {
      session.close();
    }
  });

  it('gives up on an ip that does not answer when the signal aborts, and starts a new one', async () => {
    const ipPath = join(dir, 'ip-mute');
    const once = join(dir, 'mute-once');
    // The first start is a process that reads nothing and answers nothing.
    await writeFile(ipPath, `#!/bin/sh\nif [ -e '${once}' ]; then exec ip "$@"; fi\ntouch '${once}'\nexec sleep 30\n`, { mode: 0o755 });
    const mute = new XfrmBackend({ netns: NS, ipPath });
    try {
      const error = await mute.apply([add(v4('10.99.0.13'))], AbortSignal.timeout(300)).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_IPSEC_BACKEND', message: expect.stringMatching(/aborted/) });
      await mute.apply([add(v4('10.99.0.13'))], signal());
      expect(await policyCount()).toEqual({ in: 1, out: 1 });
    } finally {
      mute.close();
    }
  });

  it('leaves no ip process behind after close()', async () => {
    const before = await ipChildren();
    const other = new XfrmBackend({ netns: NS });
    await other.apply([add(v4('10.99.0.11'))], signal());
    const [pid] = (await ipChildren()).filter((p) => !before.includes(p));
    expect(pid).toBeGreaterThan(0);
    other.close();
    await gone(pid!);
    expect(await ipChildren()).toEqual(before);
  });
});
