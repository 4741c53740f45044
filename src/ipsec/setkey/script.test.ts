import { describe, expect, it } from 'vitest';
import type { PolicySpec } from '../backend.js';
import { setkeyScripts } from './setkey-backend.js';

/** A golden file is a valid setkey script: the add statements, then (commented header) the removal. */
function goldenText(spec: PolicySpec): string {
  const { add, remove } = setkeyScripts(spec);
  return `# add\n${add}# remove\n${remove}`;
}

const golden = (name: string): string => `./golden/${name}.setkey`;

describe('setkey scripts (golden files, syntax of setkey(8) and seed 004)', () => {
  it('writes MC\'s IPv4 transport pair with require', async () => {
    const spec: PolicySpec = { family: 4, local: '10.0.0.22', remote: '10.0.0.23', selector: {}, action: { kind: 'protect', level: 'require', mode: 'transport' } };
    await expect(goldenText(spec)).toMatchFileSnapshot(golden('transport-require-v4'));
  });

  it('writes MC\'s IPv6 transport pair with use, addresses re-serialised with /128', async () => {
    const spec: PolicySpec = { family: 6, local: '2001:16D8:FFFF:1:0:0:0:3', remote: '2001:16d8:ffff:1::4', selector: {}, action: { kind: 'protect', level: 'use', mode: 'transport' } };
    await expect(goldenText(spec)).toMatchFileSnapshot(golden('transport-use-v6'));
  });

  it('writes tunnel mode with our address and the gateway as SA end points (ME-GW out, GW-ME in)', async () => {
    const spec: PolicySpec = { family: 4, local: '192.0.2.1', remote: '198.51.100.7', selector: {}, action: { kind: 'protect', level: 'require', mode: 'tunnel', gateway: '203.0.113.9' } };
    await expect(goldenText(spec)).toMatchFileSnapshot(golden('tunnel-require-v4'));
  });

  it('writes discard for block and none for pass, any local address as 0.0.0.0/0', async () => {
    const block: PolicySpec = { family: 4, remote: '192.0.2.66', selector: {}, action: { kind: 'block' } };
    const pass: PolicySpec = { family: 4, remote: '192.0.2.67', selector: {}, action: { kind: 'pass' } };
    await expect(goldenText(block) + goldenText(pass)).toMatchFileSnapshot(golden('block-pass-v4'));
  });

  it('writes one pair per remote port with the [port] syntax (TCP 443, UDP 500-501)', async () => {
    const tcp: PolicySpec = { family: 4, local: '192.0.2.1', remote: '192.0.2.10', selector: { protocol: 6, ports: [{ first: 443, last: 443 }] }, action: { kind: 'protect', level: 'require', mode: 'transport' } };
    const udp: PolicySpec = { family: 6, local: '2001:db8::1', remote: '2001:db8::10', selector: { protocol: 17, ports: [{ first: 500, last: 501 }] }, action: { kind: 'pass' } };
    await expect(goldenText(tcp) + goldenText(udp)).toMatchFileSnapshot(golden('ports'));
  });

  it('writes the ICMPv6 Neighbor Discovery bypass as icmp6 TYPE,0 entries (setkey(8) example)', async () => {
    const nd: PolicySpec = { family: 6, remote: '2001:db8::10', selector: { protocol: 58, ports: [{ first: 133, last: 136 }] }, action: { kind: 'pass' } };
    await expect(goldenText(nd)).toMatchFileSnapshot(golden('neighbor-discovery-v6'));
  });

  it('writes other protocols by number', () => {
    const gre: PolicySpec = { family: 4, remote: '192.0.2.10', selector: { protocol: 47 }, action: { kind: 'block' } };
    expect(setkeyScripts(gre).add).toContain('spdadd 0.0.0.0/0 192.0.2.10/32 47 -P out discard;');
  });
});

describe('setkey scripts refuse what setkey cannot express', () => {
  const base = { family: 4 as const, local: '192.0.2.1', remote: '192.0.2.10' };
  it.each([
    ['a responder-only entry', { ...base, selector: {}, action: { kind: 'responder' as const } }, /responder/],
    ['tunnel mode without a local address', { ...base, local: undefined, selector: {}, action: { kind: 'protect' as const, level: 'require' as const, mode: 'tunnel' as const } }, /local address/],
    ['ICMP type 0 (the kernel\'s wildcard)', { ...base, selector: { protocol: 1, ports: [{ first: 0, last: 8 }] }, action: { kind: 'pass' as const } }, /wildcard/],
    ['ports for a protocol without ports', { ...base, selector: { protocol: 47, ports: [{ first: 1, last: 1 }] }, action: { kind: 'pass' as const } }, /TCP, UDP and SCTP/],
    ['ports without a protocol', { ...base, selector: { ports: [{ first: 80, last: 80 }] }, action: { kind: 'pass' as const } }, /protocol any/],
    ['a range wider than MAX_SELECTOR_VALUES', { ...base, selector: { protocol: 6, ports: [{ first: 1, last: 1024 }] }, action: { kind: 'pass' as const } }, /more than 64/],
    ['an address of the wrong family', { ...base, remote: '2001:db8::1', selector: {}, action: { kind: 'block' as const } }, /not an IPv4 address/],
  ])('%s', (_what, spec: PolicySpec, message) => {
    expect(() => setkeyScripts(spec)).toThrow(expect.objectContaining({ code: 'ERR_IPSEC_BACKEND', message: expect.stringMatching(message) }));
  });
});
