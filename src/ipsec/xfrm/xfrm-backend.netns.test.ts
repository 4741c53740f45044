/**
 * The xfrm backend against the real kernel SPD, inside a network namespace this file creates
 * (`oedns-test-<random>`) and deletes in afterAll. Needs root (CAP_NET_ADMIN and /run/netns);
 * skipped otherwise. Checked with `ip -n NS xfrm policy show`, never with the backend itself.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyChange, PolicySpec } from '../backend.js';
import { XfrmBackend } from './xfrm-backend.js';
import { PRIORITY_BAND } from './xfrm-spec.js';

const NS = `oedns-test-${randomBytes(4).toString('hex')}`;
const canRun = process.getuid?.() === 0;
const signal = (): AbortSignal => AbortSignal.timeout(20_000);

async function ipNs(...args: string[]): Promise<string> {
  return (await execa('ip', ['-n', NS, ...args])).stdout;
}
async function policyShow(): Promise<string> {
  return ipNs('xfrm', 'policy', 'show');
}
async function policyCount(): Promise<{ in: number; out: number }> {
  const text = await ipNs('xfrm', 'policy', 'count');
  const m = /IN\s+(\d+)\s+OUT\s+(\d+)/.exec(text);
  return { in: Number(m?.[1]), out: Number(m?.[2]) };
}

const v4 = (remote: string, action: PolicySpec['action'], extra: Partial<PolicySpec> = {}): PolicySpec =>
  ({ family: 4, local: '10.98.0.1', remote, selector: {}, action, ...extra });
const v6 = (remote: string, action: PolicySpec['action'], extra: Partial<PolicySpec> = {}): PolicySpec =>
  ({ family: 6, local: 'fd00:98::1', remote, selector: {}, action, ...extra });
const add = (policy: PolicySpec): PolicyChange => ({ op: 'add', policy });
const remove = (policy: PolicySpec): PolicyChange => ({ op: 'remove', policy });
const requireTransport = { kind: 'protect', level: 'require', mode: 'transport' } as const;

describe.skipIf(!canRun)('xfrm backend in a network namespace', () => {
  const backend = new XfrmBackend({ netns: NS });

  beforeAll(async () => {
    await execa('ip', ['netns', 'add', NS]);
  });
  afterAll(async () => {
    backend.close();
    await execa('ip', ['netns', 'delete', NS], { reject: false });
  });
  afterEach(async () => {
    await ipNs('xfrm', 'policy', 'flush');
  });

  it('installs, lists and removes IPv4 and IPv6 transport, tunnel, block and pass policies', async () => {
    const specs: PolicySpec[] = [
      v4('10.98.0.2', requireTransport),
      v4('10.98.0.3', { kind: 'protect', level: 'require', mode: 'tunnel', gateway: '192.0.2.1' }),
      v4('10.98.0.4', { kind: 'block' }, { local: undefined }),
      v4('10.98.0.5', { kind: 'pass' }, { selector: { protocol: 6, ports: [{ first: 443, last: 444 }] } }),
      v6('fd00:98::2', { kind: 'protect', level: 'use', mode: 'transport' }),
      v6('fd00:98::3', { kind: 'protect', level: 'require', mode: 'tunnel', gateway: '2001:db8::1' }),
      v6('fd00:98::4', { kind: 'block' }),
      v6('fd00:98::5', { kind: 'pass' }, { local: undefined, selector: { protocol: 58, ports: [{ first: 133, last: 136 }] } }),
    ];
    await backend.apply(specs.map(add), signal());

    const shown = await policyShow();
    expect(await policyCount()).toEqual({ in: 12, out: 12 });
    expect(shown).toContain('src 10.98.0.1/32 dst 10.98.0.2/32 \n\tdir out priority');
    expect(shown).toContain('src 10.98.0.2/32 dst 10.98.0.1/32 \n\tdir in priority');
    expect(shown).toMatch(/tmpl src 10\.98\.0\.1 dst 192\.0\.2\.1\n\t\tproto esp reqid 0 mode tunnel\n/);
    expect(shown).toMatch(/tmpl src :: dst ::\n\t\tproto esp reqid 0 mode transport\n\t\tlevel use/);
    expect(shown).toMatch(/src 0\.0\.0\.0\/0 dst 10\.98\.0\.4\/32 \n\tdir out action block/);
    expect(shown).toContain('src 10.98.0.5/32 dst 10.98.0.1/32 proto tcp sport 443');
    expect(shown).toContain('src ::/0 dst fd00:98::5/128 proto ipv6-icmp type 135');
    expect(shown).toMatch(/tmpl src fd00:98::1 dst 2001:db8::1\n\t\tproto esp reqid 0 mode tunnel\n/);

    const listed = await backend.list(signal());
    expect(listed).toHaveLength(specs.length);
    for (const spec of specs) {
      expect(listed).toContainEqual(expect.objectContaining({
        ...spec, selector: expect.objectContaining({ protocol: spec.selector.protocol }), backend: 'xfrm',
      }));
    }
    expect(listed.find((p) => p.remote === '10.98.0.5')?.selector.ports).toEqual([{ first: 443, last: 444 }]);

    await backend.apply(specs.slice(0, 4).map(remove), signal());
    expect(await policyCount()).toEqual({ in: 7, out: 7 });
    expect(await policyShow()).not.toContain('10.98.0.');
    await backend.apply(specs.slice(4).map(remove), signal());
    expect(await policyCount()).toEqual({ in: 0, out: 0 });
  });

  it('removes the out entry when the in entry fails, and names the command (atomic per pair)', async () => {
    // Another program's in-entry with the same selector: the kernel refuses ours (EEXIST).
    await ipNs('xfrm', 'policy', 'add', 'src', '10.98.0.7/32', 'dst', '10.98.0.1/32', 'dir', 'in', 'priority', '7', 'action', 'block');
    const before = [v4('10.98.0.6', requireTransport)];
    await backend.apply(before.map(add), signal());
    const error = await backend.apply([add(v4('10.98.0.7', requireTransport))], signal()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_IPSEC_BACKEND' });
    expect(String((error as Error).message)).toMatch(/ip -n oedns-test-\w+ xfrm policy add src 10\.98\.0\.7\/32 dst 10\.98\.0\.1\/32 dir in .*File exists/);
    const shown = await policyShow();
    expect(shown).not.toContain('dst 10.98.0.7/32');
    expect(shown).toContain('src 10.98.0.7/32 dst 10.98.0.1/32 \n\tdir in action block priority 7');
    expect(await backend.list(signal())).toEqual([expect.objectContaining({ remote: '10.98.0.6' })]);
  });

  it('leaves no half policy when ip refuses the in entry as an invalid argument (IPv6)', async () => {
    // A stand-in `ip` that spoils every `dir in` line of a batch, then runs the real one (sed -u:
    // the backend's `ip` is long-lived, so lines must pass as they come, not when a buffer fills).
    const dir = await mkdtemp(join(tmpdir(), 'oedns-xfrm-'));
    const ipPath = join(dir, 'ip');
    await writeFile(ipPath, `#!/bin/sh\nsed -u 's/ dir in / dir in not-an-argument /' | exec ip "$@"\n`, { mode: 0o755 });
    try {
      const spoiled = new XfrmBackend({ netns: NS, ipPath });
      const error = await spoiled.apply([add(v6('fd00:98::8', requireTransport))], signal()).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_IPSEC_BACKEND' });
      expect(String((error as Error).message)).toMatch(/dir in .*not-an-argument.*first half was removed/s);
      expect(await policyCount()).toEqual({ in: 0, out: 0 });
      spoiled.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('never lists nor removes another program\'s policies, even with a priority in oedns\' band', async () => {
    const foreign = [
      ['src', '10.98.0.1/32', 'dst', '10.98.1.1/32', 'dir', 'out', 'priority', '100', 'tmpl', 'proto', 'esp', 'mode', 'transport'],
      ['src', '10.98.0.1/32', 'dst', '10.98.1.2/32', 'dir', 'out', 'priority', String(PRIORITY_BAND.base), 'mark', '7', 'action', 'block'],
      ['src', '10.98.0.1/32', 'dst', '10.98.1.3/32', 'dir', 'fwd', 'priority', String(PRIORITY_BAND.base), 'action', 'block'],
    ];
    for (const args of foreign) await ipNs('xfrm', 'policy', 'add', ...args);
    await backend.apply([add(v4('10.98.0.2', { kind: 'block' })), add(v6('fd00:98::2', requireTransport))], signal());
    expect((await backend.list(signal())).map((p) => p.remote).sort()).toEqual(['10.98.0.2', 'fd00:98::2']);

    await backend.removeAll(signal());
    expect(await backend.list(signal())).toEqual([]);
    const shown = await policyShow();
    for (const remote of ['10.98.1.1', '10.98.1.2', '10.98.1.3']) expect(shown).toContain(`dst ${remote}/32`);
    expect(await policyCount()).toEqual({ in: 0, out: 2 });
    await backend.apply([remove(v4('10.98.1.1', { kind: 'block' }))], signal());
    expect(await policyShow()).toContain('dst 10.98.1.1/32');
  });

  it('installs and removes 1,000 pairs through one ip -batch', async () => {
    const specs = Array.from({ length: 1000 }, (_, i) => v4(`10.97.${i >> 8}.${i & 0xff}`, requireTransport));
    await backend.apply(specs.map(add), signal());
    expect(await policyCount()).toEqual({ in: 1000, out: 1000 });
    expect(await backend.list(signal())).toHaveLength(1000);
    await backend.apply(specs.slice(0, 500).map(remove), signal());
    expect(await policyCount()).toEqual({ in: 500, out: 500 });
    await backend.removeAll(signal());
    expect(await policyCount()).toEqual({ in: 0, out: 0 });
  });

  it('treats removing a policy that is not there as done', async () => {
    await backend.apply([remove(v4('10.98.0.2', requireTransport))], signal());
    expect(await policyCount()).toEqual({ in: 0, out: 0 });
  });
});
