import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PolicySpec } from '../backend.js';
import { XfrmBackend } from './xfrm-backend.js';
import { addCommand, batchInput, deleteByIndexCommand, ipArgv, LIST_WORDS } from './xfrm-commands.js';
import { MAX_PORTS_PER_SPEC, PRIORITY_BAND, specToPairs } from './xfrm-spec.js';

const transport = { kind: 'protect', level: 'require', mode: 'transport' } as const;
const spec = (extra: Partial<PolicySpec> = {}): PolicySpec =>
  ({ family: 4, local: '192.0.2.1', remote: '192.0.2.2', selector: {}, action: transport, ...extra });
const lines = (s: PolicySpec): string[] => specToPairs(s).flatMap((p) => [addCommand(p.out).join(' '), addCommand(p.in).join(' ')]);

describe('xfrm command building', () => {
  it('writes a required transport pair, out and in, with the remote port as dport out and sport in', () => {
    expect(lines(spec({ selector: { protocol: 6, ports: [{ first: 443, last: 443 }] } }))).toEqual([
      `xfrm policy add src 192.0.2.1/32 dst 192.0.2.2/32 proto 6 dport 443 dir out priority ${PRIORITY_BAND.base + 0x80} action allow tmpl proto esp mode transport level required`,
      `xfrm policy add src 192.0.2.2/32 dst 192.0.2.1/32 proto 6 sport 443 dir in priority ${PRIORITY_BAND.base + 0x80} action allow tmpl proto esp mode transport level required`,
    ]);
  });

  it('writes `use`, any local address, and canonical IPv6 text', () => {
    const [out, inbound] = lines(spec({ family: 6, local: undefined, remote: '2001:DB8:0:0::0:1', action: { ...transport, level: 'use' } }));
    expect(out).toBe(`xfrm policy add src ::/0 dst 2001:db8::1/128 dir out priority ${PRIORITY_BAND.base + 0xf0} action allow tmpl proto esp mode transport level use`);
    expect(inbound).toContain('src 2001:db8::1/128 dst ::/0 dir in');
  });

  it('puts the gateway into the tunnel templates: out to it, in from it', () => {
    const [out, inbound] = lines(spec({ action: { kind: 'protect', level: 'require', mode: 'tunnel', gateway: '198.51.100.7' } }));
    expect(out).toMatch(/tmpl src 192\.0\.2\.1 dst 198\.51\.100\.7 proto esp mode tunnel level required$/);
    expect(inbound).toMatch(/tmpl src 198\.51\.100\.7 dst 192\.0\.2\.1 proto esp mode tunnel level required$/);
  });

  it('writes block as a drop entry and pass as an allow entry that outranks protect and block', () => {
    const [block] = lines(spec({ action: { kind: 'block' } }));
    const [pass] = lines(spec({ action: { kind: 'pass' } }));
    expect(block).toMatch(/dir out priority (\d+) action block$/);
    expect(pass).toMatch(/dir out priority (\d+) action allow$/);
    expect(Number(/priority (\d+)/.exec(pass!)?.[1])).toBeLessThan(Number(/priority (\d+)/.exec(block!)?.[1]));
  });

  it('writes ICMP types as `type` in both directions (ND exemption)', () => {
    const all = lines(spec({ family: 6, local: 'fe80::1', remote: 'fe80::2', action: { kind: 'pass' }, selector: { protocol: 58, ports: [{ first: 133, last: 136 }] } }));
    expect(all).toHaveLength(8);
    expect(all.filter((l) => l.includes('proto 58 type 135'))).toHaveLength(2);
  });

  it('builds namespace argv, delete-by-index and batch input', () => {
    expect(ipArgv({ ipPath: 'ip', netns: 'lab-a' }, LIST_WORDS)).toEqual(['-n', 'lab-a', '-s', 'xfrm', 'policy', 'show']);
    expect(deleteByIndexCommand(16177, 'in')).toEqual(['xfrm', 'policy', 'delete', 'index', '16177', 'dir', 'in']);
    expect(batchInput([['xfrm', 'policy', 'count']])).toBe('xfrm policy count\n');
  });

  it.each([
    ['a tunnel without a gateway', spec({ action: { kind: 'protect', level: 'require', mode: 'tunnel' } })],
    ['an optional tunnel template', spec({ action: { kind: 'protect', level: 'use', mode: 'tunnel', gateway: '192.0.2.9' } })],
    ['a gateway of the other family', spec({ action: { kind: 'protect', level: 'require', mode: 'tunnel', gateway: '2001:db8::1' } })],
    ['ports without a port protocol', spec({ selector: { protocol: 47, ports: [{ first: 1, last: 1 }] } })],
    ['too many ports', spec({ selector: { protocol: 6, ports: [{ first: 1, last: MAX_PORTS_PER_SPEC + 1 }] } })],
    ['an unlisted protocol', spec({ selector: { protocol: 99 } })],
    ['a responder', spec({ action: { kind: 'responder' } })],
    ['an IPv6 zone', spec({ family: 6, local: undefined, remote: 'fe80::1%eth0' })],
  ])('refuses %s', (_, s) => {
    expect(() => specToPairs(s)).toThrow(expect.objectContaining({ code: 'ERR_IPSEC_BACKEND' }));
  });
});

// CVE-2019-18934: Unbound's ipsecmod handed DNS text to a shell. Here no field can carry text:
// a hostile value is refused before any process starts, proven with a stand-in `ip` that
// records every run.
describe('hostile input never reaches a process', () => {
  const hostile = ['192.0.2.2; rm -rf /', '192.0.2.2\nxfrm policy flush', '$(reboot)', '`id`', '2001:db8::1 | sh', '192.0.2.2 #', '../../etc'];
  const cases: [string, PolicySpec][] = hostile.flatMap((text) => [
    [`remote ${JSON.stringify(text)}`, spec({ remote: text })],
    [`local ${JSON.stringify(text)}`, spec({ local: text })],
    [`gateway ${JSON.stringify(text)}`, spec({ action: { kind: 'protect', level: 'require', mode: 'tunnel', gateway: text } })],
    [`level ${JSON.stringify(text)}`, spec({ action: { ...transport, level: text as 'use' } })],
    [`mode ${JSON.stringify(text)}`, spec({ action: { ...transport, mode: text as 'tunnel' } })],
    [`protocol ${JSON.stringify(text)}`, spec({ selector: { protocol: text as unknown as number } })],
    [`port ${JSON.stringify(text)}`, spec({ selector: { protocol: 6, ports: [{ first: text as unknown as number, last: 1 }] } })],
    [`family ${JSON.stringify(text)}`, spec({ family: text as unknown as 4 })],
  ]);

  it.each(cases)('refuses %s with ERR_IPSEC_BACKEND and runs nothing', async (_, s) => {
    const dir = await mkdtemp(join(tmpdir(), 'oedns-xfrm-unit-'));
    const marker = join(dir, 'ran');
    const ipPath = join(dir, 'ip');
    await writeFile(ipPath, `#!/bin/sh\necho "$@" >> '${marker}'\n`, { mode: 0o755 });
    try {
      const backend = new XfrmBackend({ ipPath });
      for (const op of ['add', 'remove'] as const) {
        await expect(backend.apply([{ op, policy: s }], AbortSignal.timeout(5_000))).rejects.toMatchObject({ code: 'ERR_IPSEC_BACKEND' });
      }
      await expect(readFile(marker, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a hostile namespace name when the backend is built', () => {
    for (const netns of ['a;b', 'ns\nx', '-n', '../x', '']) {
      expect(() => new XfrmBackend({ netns })).toThrow(expect.objectContaining({ code: 'ERR_IPSEC_BACKEND' }));
    }
  });
});
