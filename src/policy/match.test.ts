import { describe, expect, it } from 'vitest';
import { parseAddress } from './cidr.js';
import { excludedRanges, NO_RUNTIME_EXCLUSIONS } from './exclusions.js';
import { matchRules, planKeyLookups } from './match.js';
import { parsePolicySet } from './policy-file.js';
import type { PolicySet } from './rule.js';

function policies(text: string): PolicySet {
  return parsePolicySet([{ file: 'p.yaml', text }]);
}

const RANGES = excludedRanges(NO_RUNTIME_EXCLUSIONS);

/** The lines (in p.yaml) of the rules that match, in order. */
function matched(set: PolicySet, name: string, addressText: string, queryName?: string): number[] {
  const address = parseAddress(addressText);
  if (!address) throw new Error(addressText);
  return matchRules(set, { name, queryName }, address, RANGES).rules.map((r) => r.position.line);
}

describe('matching: first match wins, like a firewall', () => {
  it('takes the first matching rule in file order, not the most specific one', () => {
    const set = policies([
      'rules:',
      '  - domains: .example.org',      // line 2
      '    action: use',
      '  - domains: www.example.org',   // line 4: more specific, but later
      '    action: require',
    ].join('\n'));
    expect(matched(set, 'www.example.org', '192.0.2.1')).toEqual([2]);
  });

  it('puts a specific rule first to make it win, and falls through to later rules', () => {
    const set = policies([
      'rules:',
      '  - domains: www.example.org',   // 2
      '    action: require',
      '  - domains: .example.org',      // 4
      '    networks: 192.0.2.0/24',
      '    action: use',
      '  - action: clear',              // 7
    ].join('\n'));
    expect(matched(set, 'www.example.org', '198.51.100.1')).toEqual([2]);
    expect(matched(set, 'mail.example.org', '192.0.2.25')).toEqual([4]);
    expect(matched(set, 'mail.example.org', '198.51.100.25')).toEqual([7]);
    expect(matched(set, 'www.example.net', '192.0.2.25')).toEqual([7]);
  });

  it('needs both the domain and the network of a rule to match', () => {
    const set = policies('rules:\n  - domains: [a.example, b.example]\n    networks: ["2001:db8::/32", 192.0.2.0/24]\n    action: use\n');
    expect(matched(set, 'b.example', '2001:db8::5')).toEqual([2]);
    expect(matched(set, 'b.example', '::ffff:192.0.2.5')).toEqual([2]);
    expect(matched(set, 'c.example', '2001:db8::5')).toEqual([]);
    expect(matched(set, 'a.example', '2001:db9::5')).toEqual([]);
  });

  it('matches the name asked for as well as the end of its CNAME chain', () => {
    const set = policies('rules:\n  - domains: bank.example\n    action: require\n');
    expect(matched(set, 'cdn.example.net', '192.0.2.1', 'bank.example')).toEqual([2]);
    expect(matched(set, 'cdn.example.net', '192.0.2.1')).toEqual([]);
  });

  it('collects rules with a protocol selector and goes on to the rule for any traffic', () => {
    const set = policies([
      'rules:',
      '  - protocol: tcp',              // 2
      '    ports: [25]',
      '    action: require',
      '  - domains: other.example',     // 5: does not match
      '    action: block',
      '  - protocol: udp',              // 7
      '    action: clear',
      '  - action: use',                // 9: decides the rest
      '  - action: block',              // 10: never reached
    ].join('\n'));
    expect(matched(set, 'mx.example', '192.0.2.1')).toEqual([2, 7, 9]);
  });

  it('records why each rule tried did or did not match', () => {
    const set = policies('rules:\n  - domains: a.example\n    action: use\n  - networks: 192.0.2.0/24\n    action: clear\n');
    const address = parseAddress('192.0.2.1');
    if (!address) throw new Error('address');
    const { trials } = matchRules(set, { name: 'b.example' }, address, RANGES);
    expect(trials.map((t) => [t.matched, t.why])).toEqual([
      [false, 'no pattern of a.example matches b.example'],
      [true, 'any name; address 192.0.2.1 is in 192.0.2.0/24'],
    ]);
  });
});

describe('planKeyLookups: what to fetch beside A/AAAA, before the address is known', () => {
  it('takes the union of the rules the name may meet, up to the first rule for any address', () => {
    const set = policies([
      'rules:',
      '  - domains: .example.org',
      '    networks: 192.0.2.0/24',
      '    action: require',
      '    keys: [cert]',
      '    tlsa-ports: [443]',
      '    timeout-ms: 3000',
      '  - domains: .example.org',
      '    action: use',
      '    keys: [ipseckey]',
      '    tlsa-ports: ["853/udp", 443]',
      '  - action: use',
      '    keys: [cert]',
      '    tlsa-ports: [25]',
    ].join('\n'));
    expect(planKeyLookups(set, { name: 'www.example.org' })).toEqual({
      ipseckey: true, cert: true, tlsa: [{ port: 443, protocol: 'tcp' }, { port: 853, protocol: 'udp' }], timeoutMs: 3000, queryName: false,
    });
    expect(planKeyLookups(set, { name: 'www.example.net' })).toEqual({ ipseckey: false, cert: true, tlsa: [{ port: 25, protocol: 'tcp' }], timeoutMs: 1500, queryName: false });
    expect(planKeyLookups(policies('rules:\n  - action: clear\n'), { name: 'x.example' })).toEqual({ ipseckey: false, cert: false, tlsa: [], timeoutMs: 1500, queryName: false });
    expect(planKeyLookups(policies('rules:\n  - action: use\n    query-name-keys: true\n'), { name: 'x.example' }).queryName).toBe(true);
    expect(planKeyLookups(policies(''), { name: 'x.example' })).toEqual({ ipseckey: false, cert: false, tlsa: [], timeoutMs: 0, queryName: false });
  });
});
