import { describe, expect, it } from 'vitest';
import { entryKey, oursOnly, parseXfrmPolicies, toInstalled } from './xfrm-parse.js';
import { PRIORITY_BAND } from './xfrm-spec.js';

const P = PRIORITY_BAND.base + 0x80;
const LIFETIME = [
  '\tlifetime config:', '\t  limit: soft (INF)(bytes), hard (INF)(bytes)', '\t  limit: soft (INF)(packets), hard (INF)(packets)',
  '\t  expire add: soft 0(sec), hard 0(sec)', '\t  expire use: soft 0(sec), hard 0(sec)', '\tlifetime current:',
  '\t  0(bytes), 0(packets)', '\t  add 2026-11-23 12:24:06 use -',
];
const block = (selector: string, meta: string, ...rest: string[]): string[] => [selector, meta, ...LIFETIME, ...rest];
const tmpl = (src: string, dst: string, mode: string, level: string): string[] => [
  `\ttmpl src ${src} dst ${dst}`, `\t\tproto esp spi 0x00000000(0) reqid 0(0x00000000) mode ${mode}`,
  `\t\tlevel ${level} share any `, '\t\tenc-mask ffffffff auth-mask ffffffff comp-mask ffffffff',
];
const meta = (dir: string, index: number, priority: number, action = 'allow'): string =>
  `\tdir ${dir} action ${action} index ${index} priority ${priority} ptype main share any flag  (0x00000000)`;

/** `ip -s xfrm policy show` as iproute2 6.1 prints it. */
const SAMPLE = [
  ...block('src 192.0.2.1/32 dst 192.0.2.2/32 proto tcp dport 443 uid 0', meta('out', 16, P), ...tmpl('0.0.0.0', '0.0.0.0', 'transport', 'required')),
  ...block('src 192.0.2.2/32 dst 192.0.2.1/32 proto tcp sport 443 uid 0', meta('in', 24, P), ...tmpl('0.0.0.0', '0.0.0.0', 'transport', 'required')),
  ...block('src 192.0.2.1/32 dst 192.0.2.2/32 proto tcp dport 444 uid 0', meta('out', 32, P), ...tmpl('0.0.0.0', '0.0.0.0', 'transport', 'required')),
  ...block('src ::/0 dst 2001:db8::7/128 uid 0', meta('out', 41, P + 0x50), ...tmpl('::', '2001:db8::99', 'tunnel', 'required')),
  ...block('src 0.0.0.0/0 dst 192.0.2.9/32 uid 0', meta('out', 49, P + 0x70, 'block')),
  ...block('src fe80::2/128 dst ::/0 proto ipv6-icmp type 135 uid 0', meta('in', 56, PRIORITY_BAND.base)),
  // Others': a mark, a priority outside the band, a fwd entry, a device, an unknown protocol name.
  ...block('src 192.0.2.1/32 dst 192.0.2.3/32 uid 0', meta('out', 65, P), '\tmark 0/0x400000 '),
  ...block('src 192.0.2.1/32 dst 192.0.2.4/32 uid 0', meta('out', 73, 383615), ...tmpl('0.0.0.0', '0.0.0.0', 'transport', 'required')),
  ...block('src 192.0.2.1/32 dst 192.0.2.5/32 uid 0', meta('fwd', 82, P)),
  ...block('src 192.0.2.1/32 dst 192.0.2.6/32 dev eth0 uid 0', meta('out', 89, P)),
  ...block('src 192.0.2.1/32 dst 192.0.2.8/32 proto ospf uid 0', meta('out', 97, P)),
].join('\n');

describe('parsing ip -s xfrm policy show', () => {
  const all = parseXfrmPolicies(SAMPLE);

  it('reads every block with index, direction, priority, selector and template', () => {
    expect(all).toHaveLength(11);
    expect(all[0]).toEqual({
      index: 16, dir: 'out', priority: P, action: 'allow', foreign: false,
      selector: { src: '192.0.2.1/32', dst: '192.0.2.2/32', protocol: 6, sport: undefined, dport: 443, icmpType: undefined },
      templates: [{ proto: 'esp', mode: 'transport', level: 'required', src: undefined, dst: undefined }],
    });
    expect(all[5]?.selector).toMatchObject({ protocol: 58, icmpType: 135 });
  });

  it('keeps only oedns\' entries: in the band, main, unmarked, no device, known protocol, not fwd', () => {
    expect(oursOnly(all).map((p) => p.index)).toEqual([16, 24, 32, 41, 49, 56]);
  });

  it('folds out/in entries and ports into specs', () => {
    const installed = toInstalled(oursOnly(all));
    expect(installed).toEqual([
      {
        family: 4, local: '192.0.2.1', remote: '192.0.2.2', backend: 'xfrm', handle: 'out:16,in:24,out:32',
        action: { kind: 'protect', level: 'require', mode: 'transport' }, selector: { protocol: 6, ports: [{ first: 443, last: 444 }] },
      },
      {
        family: 6, local: undefined, remote: '2001:db8::7', backend: 'xfrm', handle: 'out:41',
        action: { kind: 'protect', level: 'require', mode: 'tunnel', gateway: '2001:db8::99' }, selector: { protocol: undefined },
      },
      { family: 4, local: undefined, remote: '192.0.2.9', backend: 'xfrm', handle: 'out:49', action: { kind: 'block' }, selector: { protocol: undefined } },
      {
        family: 6, local: undefined, remote: 'fe80::2', backend: 'xfrm', handle: 'in:56',
        action: { kind: 'pass' }, selector: { protocol: 58, ports: [{ first: 135, last: 135 }] },
      },
    ]);
  });

  it('keys entries the way the kernel does: direction and selector', () => {
    expect(entryKey('out', all[0]!.selector)).toBe('out src 192.0.2.1/32 dst 192.0.2.2/32 proto 6 dport 443');
  });

  it('skips text that is not a policy', () => {
    expect(parseXfrmPolicies('garbage line\n\tdir out\n')).toEqual([]);
    expect(parseXfrmPolicies('')).toEqual([]);
  });
});
