import { describe, expect, it } from 'vitest';
import { decide, policyLifetimeSeconds, summarizeDecision, type DecisionContext } from './decide.js';
import { decidingFlow, type Decision, type KeyOutcomes } from './decision.js';
import { excludedRanges, type ExclusionContext } from './exclusions.js';
import { parsePolicySet } from './policy-file.js';
import type { PolicySet } from './rule.js';
import { ShuntTable } from './shunts.js';

const NOW = 1_700_000_000;
const SECURE: KeyOutcomes = { ipseckey: 'secure', cert: 'none', tlsa: [] };
const HOST: ExclusionContext = { upstreams: ['192.0.2.53', '2001:db8::53'], localAddresses: ['198.51.100.2'] };

function policies(...lines: string[]): PolicySet {
  return parsePolicySet([{ file: 'p.yaml', text: ['rules:', ...lines].join('\n') }]);
}

function context(shunts?: ShuntTable, nowSeconds = NOW): DecisionContext {
  return { exclusions: excludedRanges(HOST), shunts, nowSeconds };
}

function run(set: PolicySet, address: string, keys: KeyOutcomes = SECURE, ctx = context(), name = 'host.example'): Decision {
  return decide(set, { name, address, keys }, ctx);
}

const USE_ANYWHERE = policies('  - action: use');

describe('built-in exclusions', () => {
  it.each([
    ['loopback', '127.0.0.53'], ['loopback', '::1'], ['loopback', '::ffff:127.0.0.1'],
    ['link-local', '169.254.1.1'], ['link-local', 'fe80::1'], ['multicast', '224.0.0.251'], ['multicast', 'ff02::fb'],
    ['multicast', '255.255.255.255'], ['unspecified', '0.0.0.0'], ['unspecified', '::'],
    ['upstream', '192.0.2.53'], ['upstream', '2001:db8::53'], ['local', '198.51.100.2'],
  ])('leaves %s address %s alone under a rule for any address', (exclusion, address) => {
    const decision = run(USE_ANYWHERE, address);
    expect(decision.flows).toEqual([expect.objectContaining({ install: { kind: 'none' }, source: { kind: 'exclusion', exclusion } })]);
    expect(decision.servfail).toBe(false);
  });

  it('is not overridden by a domain, 0.0.0.0/0, or a network around the upstream: a DNS name cannot pick them', () => {
    const set = policies('  - domains: evil.example', '    action: block', '  - networks: [0.0.0.0/0, "::/0"]', '    action: require', '  - networks: 192.0.2.0/24', '    action: require');
    expect(decidingFlow(run(set, '127.0.0.1', SECURE, context(), 'evil.example')).source).toEqual({ kind: 'exclusion', exclusion: 'loopback' });
    expect(decidingFlow(run(set, '192.0.2.53')).source).toEqual({ kind: 'exclusion', exclusion: 'upstream' });
    expect(decidingFlow(run(set, '192.0.2.54')).install).toEqual({ kind: 'policy', level: 'require', keySource: 'ipseckey' });
  });

  it('lets a rule act on an excluded address when its networks name it explicitly', () => {
    const set = policies('  - networks: 127.0.0.0/8', '    action: block', '  - networks: 192.0.2.53/32', '    action: use');
    expect(decidingFlow(run(set, '127.0.0.9')).install).toEqual({ kind: 'block' });
    expect(decidingFlow(run(set, '192.0.2.53')).install).toEqual({ kind: 'policy', level: 'use', keySource: 'ipseckey' });
  });

  it('needs every exclusion covering the address named (an upstream on loopback)', () => {
    const ctx = { exclusions: excludedRanges({ upstreams: ['127.0.0.53'], localAddresses: [] }), nowSeconds: NOW };
    expect(decidingFlow(run(policies('  - networks: 127.0.0.0/8', '    action: block'), '127.0.0.53', SECURE, ctx)).source)
      .toEqual({ kind: 'exclusion', exclusion: 'loopback' });
    expect(decidingFlow(run(policies('  - networks: 127.0.0.53', '    action: block'), '127.0.0.53', SECURE, ctx)).install).toEqual({ kind: 'block' });
  });

  it('refuses an upstream or local address that is not an address (a bug in the caller)', () => {
    expect(() => excludedRanges({ upstreams: ['resolver.example'], localAddresses: [] })).toThrow(/upstream address "resolver\.example"/);
  });
});

describe('ICMPv6 Neighbor Discovery (seed 004: ND under a policy breaks IPv6)', () => {
  const ND = { protocol: 58, ports: [], icmpTypes: [133, 134, 135, 136] };

  it('puts a bypass for types 133-136 ahead of anything installed for an IPv6 address', () => {
    const decision = run(USE_ANYWHERE, '2001:db8::10');
    expect(decision.flows.map((f) => [f.selector, f.install.kind, f.source.kind])).toEqual([
      [ND, 'pass', 'exclusion'], [expect.objectContaining({ protocol: undefined }), 'policy', 'rule'],
    ]);
    expect(decidingFlow(run(policies('  - action: require'), '2001:db8::10', { ...SECURE, ipseckey: 'none' })).install).toEqual({ kind: 'block' });
    expect(run(policies('  - action: require'), '2001:db8::10', { ...SECURE, ipseckey: 'none' }).flows[0]?.selector).toEqual(ND);
  });

  it('adds no bypass when nothing is installed, or for IPv4', () => {
    expect(run(USE_ANYWHERE, '2001:db8::10', { ...SECURE, ipseckey: 'none' }).flows).toHaveLength(1);
    expect(run(USE_ANYWHERE, '192.0.2.10').flows).toHaveLength(1);
  });

  it('leaves ND to a rule that names it', () => {
    const set = policies('  - protocol: ipv6-icmp', '    icmp-types: [135, 136]', '    action: block', '  - action: use');
    expect(run(set, '2001:db8::10').flows.map((f) => f.install.kind)).toEqual(['block', 'policy']);
  });
});

describe('flows, defaults and the answer', () => {
  it('turns rules with selectors into entries ahead of the one for any traffic', () => {
    const set = policies('  - protocol: tcp', '    ports: [25]', '    action: require', '  - action: use');
    const noKey = run(set, '192.0.2.10', { ...SECURE, ipseckey: 'none' });
    expect(noKey.flows.map((f) => [f.selector.protocol, f.install.kind, f.servfail])).toEqual([[6, 'block', true], [undefined, 'none', false]]);
    expect(noKey.servfail).toBe(true);
  });

  it('does nothing when no rule matches, also after a rule for some traffic only', () => {
    expect(run(policies(''), '192.0.2.10').flows).toEqual([expect.objectContaining({ install: { kind: 'none' }, source: { kind: 'default' }, reason: 'no rule matched' })]);
    const narrow = run(policies('  - protocol: udp', '    action: block'), '192.0.2.10');
    expect(narrow.flows.map((f) => [f.install.kind, f.source.kind])).toEqual([['block', 'rule'], ['none', 'default']]);
  });

  it('holds the answer for the strictest rule that installs something', () => {
    const set = policies('  - protocol: tcp', '    action: require', '    timeout-ms: 800', '  - action: use', '    timeout-ms: 3000');
    expect(run(set, '192.0.2.10').timeout).toEqual({ ms: 800, then: 'servfail' });
    expect(run(policies('  - action: use', '    timeout-ms: 3000'), '192.0.2.10').timeout).toEqual({ ms: 3000, then: 'answer' });
  });

  it('takes the first usable key source in the rule\'s order', () => {
    const set = policies('  - action: use', '    keys: [cert, ipseckey]');
    expect(decidingFlow(run(set, '192.0.2.10', { ipseckey: 'secure', cert: 'secure', tlsa: [] })).install).toMatchObject({ keySource: 'cert' });
    expect(decidingFlow(run(set, '192.0.2.10', { ipseckey: 'secure', cert: 'bogus', tlsa: [] })).install).toMatchObject({ keySource: 'ipseckey' });
    expect(decidingFlow(run(policies('  - action: use', '    keys: [cert]'), '192.0.2.10')).install).toEqual({ kind: 'none' });
  });

  it('reports the TLS side: DANE mode, LDAP and the TLSA ports asked for', () => {
    const keys: KeyOutcomes = { ...SECURE, tlsa: [{ port: 443, protocol: 'tcp', state: 'secure' }, { port: 25, protocol: 'tcp', state: 'insecure' }] };
    const strict = run(policies('  - action: require', '    tlsa-ports: [443, 25]'), '192.0.2.10', keys);
    expect(strict.tls).toEqual({ dane: 'require', ldap: true, tlsa: [
      { port: 443, protocol: 'tcp', state: 'secure', usable: true }, { port: 25, protocol: 'tcp', state: 'insecure', usable: false },
    ] });
    expect(run(policies('  - action: use', '    flags: [no-dane, no-ldap]'), '192.0.2.10', keys).tls).toEqual({ dane: 'off', ldap: false, tlsa: [] });
    expect(run(policies('  - action: clear'), '192.0.2.10', keys).tls).toEqual({ dane: 'off', ldap: false, tlsa: [] });
  });

  it('writes the address canonically and says what it did in one line', () => {
    const decision = run(policies('  - domains: host.example', '    description: the host', '    action: require'), '2001:DB8:0::10');
    expect(decision.address).toBe('2001:db8::10');
    expect(summarizeDecision(decision)).toBe('host.example 2001:db8::10: require: secure ipseckey by rule p.yaml:2:5 (the host)');
  });

  it('refuses an input address that is not an address', () => {
    expect(() => run(USE_ANYWHERE, 'host.example')).toThrow(/"host\.example" is not an IP address/);
  });
});

describe('failure shunts in decisions', () => {
  it('sends traffic in clear under use, and blocks with SERVFAIL under require, for the shunt lifetime', () => {
    const shunts = new ShuntTable();
    shunts.recordFailure('192.0.2.10', 900, NOW, 'IKE_SA failed');
    expect(decidingFlow(run(USE_ANYWHERE, '192.0.2.10', SECURE, context(shunts, NOW + 899))).install).toEqual({ kind: 'pass' });
    const required = run(policies('  - action: require'), '192.0.2.10', SECURE, context(shunts, NOW + 899));
    expect([decidingFlow(required).install, required.servfail]).toEqual([{ kind: 'block' }, true]);
    expect(required.shunt).toMatchObject({ address: '192.0.2.10', expiresEpoch: NOW + 900 });
  });

  it('tries again once the shunt expires, and under require that is never clear', () => {
    const shunts = new ShuntTable();
    shunts.recordFailure('192.0.2.10', 900, NOW, 'IKE_SA failed');
    const require = policies('  - action: require');
    for (const ipseckey of ['secure', 'none', 'bogus', 'timeout'] as const) {
      const decision = run(require, '192.0.2.10', { ...SECURE, ipseckey }, context(shunts, NOW + 900));
      expect(['policy', 'block']).toContain(decidingFlow(decision).install.kind);
      expect(decision.shunt).toBeUndefined();
    }
  });

  it('never lets a clear shunt recorded under use reach an address whose rule became require', () => {
    const shunts = new ShuntTable();
    shunts.recordFailure('192.0.2.10', 900, NOW, 'IKE_SA failed under use');
    expect(decidingFlow(run(USE_ANYWHERE, '192.0.2.10', SECURE, context(shunts))).install).toEqual({ kind: 'pass' });
    const reloaded = run(policies('  - action: require'), '192.0.2.10', SECURE, context(shunts));
    expect([decidingFlow(reloaded).install, reloaded.servfail]).toEqual([{ kind: 'block' }, true]);
  });
});

describe('policyLifetimeSeconds', () => {
  it('clamps the TTL to the rule and never outlives the key', () => {
    const clamp = { minSeconds: 60, maxSeconds: 3600 };
    expect(policyLifetimeSeconds(5, clamp)).toBe(60);
    expect(policyLifetimeSeconds(600, clamp)).toBe(600);
    expect(policyLifetimeSeconds(86_400, clamp)).toBe(3600);
    expect(policyLifetimeSeconds(5, clamp, 30)).toBe(30);
  });
});

describe('keys through another gateway and at the name asked for', () => {
  const GATEWAY_ONLY: KeyOutcomes = { ipseckey: 'none', cert: 'none', tlsa: [], ipseckeyViaGateway: 'secure' };
  const AT_QUERY_NAME: KeyOutcomes = { ipseckey: 'none', cert: 'none', tlsa: [], queryName: { ipseckey: 'secure', cert: 'none' } };

  it('uses an IPSECKEY for another gateway only under tunnel: true (RFC 4025 §1.2)', () => {
    expect(decidingFlow(run(policies('  - action: use'), '192.0.2.10', GATEWAY_ONLY)).install).toEqual({ kind: 'none' });
    const flow = decidingFlow(run(policies('  - action: use', '    tunnel: true'), '192.0.2.10', GATEWAY_ONLY));
    expect(flow.install).toEqual({ kind: 'policy', level: 'use', keySource: 'ipseckey', mode: 'tunnel' });
    expect(flow.reason).toMatch(/via a gateway \(tunnel\)/);
  });

  it('prefers the host itself over a gateway when both have keys', () => {
    const keys: KeyOutcomes = { ...GATEWAY_ONLY, ipseckey: 'secure' };
    expect(decidingFlow(run(policies('  - action: require', '    tunnel: true'), '192.0.2.10', keys)).install).toEqual({ kind: 'policy', level: 'require', keySource: 'ipseckey' });
  });

  it('uses keys at the name asked for only under query-name-keys: true', () => {
    expect(decidingFlow(run(policies('  - action: require'), '192.0.2.10', AT_QUERY_NAME)).install).toEqual({ kind: 'block' });
    const flow = decidingFlow(run(policies('  - action: require', '    query-name-keys: true'), '192.0.2.10', AT_QUERY_NAME));
    expect(flow.install).toEqual({ kind: 'policy', level: 'require', keySource: 'ipseckey', keyOwner: 'query-name' });
  });

  it('refuses tunnel and query-name-keys on actions that negotiate nothing', () => {
    expect(() => policies('  - action: clear', '    tunnel: true')).toThrow(/"tunnel" has no effect with action clear/);
    expect(() => policies('  - action: block', '    query-name-keys: yes')).toThrow(/query-name-keys/);
  });
});
