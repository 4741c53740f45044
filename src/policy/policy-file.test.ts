import { describe, expect, it } from 'vitest';
import { formatCidr } from './cidr.js';
import { formatIssue, PolicyError } from './errors.js';
import { parsePolicyFile, parsePolicySet } from './policy-file.js';

function issuesOf(text: string, file = 'p.yaml'): readonly string[] {
  try {
    parsePolicyFile({ file, text });
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).code).toBe('ERR_POLICY');
    return (error as PolicyError).issues.map(formatIssue);
  }
  throw new Error('expected a PolicyError');
}

/** A file with one rule made of `lines` (indented under "- "). */
function rule(...lines: string[]): string {
  return `rules:\n  - ${lines.join('\n    ')}\n`;
}

describe('parsePolicyFile: what a rule reads as', () => {
  it('reads every field, with Libreswan aliases and defaults', () => {
    const file = parsePolicyFile({ file: 'p.yaml', text: rule(
      'description: bank', 'domains: [bank.example.com, ".bank.example.com", "*.cdn.example.com"]',
      'networks: [192.0.2.0/24, "2001:db8::/32", 198.51.100.7]', 'protocol: tcp', 'ports: [443, "8000-8080"]',
      'action: private', 'keys: [cert, ipseckey]', 'tlsa-ports: [443, "853/udp"]', 'backend: vici', 'min-ttl: 60', 'max-ttl: 3600',
      'timeout-ms: 2500', 'shunt-lifetime: 120', 'proposals: { ike: [aes256gcm16-x25519], esp: [aes256gcm16] }',
    ) });
    const [r] = file.rules;
    expect(r).toMatchObject({
      position: { file: 'p.yaml', line: 2, column: 5 }, index: 0, description: 'bank', action: 'require', actionSpelling: 'private',
      dnssec: 'secure', flags: [], keySources: ['cert', 'ipseckey'],
      selector: { protocol: 6, ports: [{ first: 443, last: 443 }, { first: 8000, last: 8080 }], icmpTypes: [] },
      tlsa: [{ port: 443, protocol: 'tcp' }, { port: 853, protocol: 'udp' }],
      settings: {
        backend: 'vici', initiate: 'on-answer', lifetime: { minSeconds: 60, maxSeconds: 3600 }, timeout: { ms: 2500, then: 'servfail' },
        shuntLifetimeSeconds: 120, proposals: { ike: ['aes256gcm16-x25519'], esp: ['aes256gcm16'] },
      },
    });
    expect(r?.domains.map((d) => d.kind)).toEqual(['exact', 'suffix', 'wildcard']);
    expect(r?.networks.map(formatCidr)).toEqual(['192.0.2.0/24', '2001:db8::/32', '198.51.100.7/32']);
  });

  it('gives defaults: any name and address, dnssec secure, both key sources, 15-minute shunts', () => {
    const [r] = parsePolicyFile({ file: 'p.yaml', text: rule('action: private-or-clear') }).rules;
    expect(r).toMatchObject({
      domains: [], networks: [], action: 'use', dnssec: 'secure', keySources: ['ipseckey', 'cert'],
      settings: { backend: undefined, initiate: 'on-traffic', lifetime: { minSeconds: 0, maxSeconds: 86400 }, timeout: { ms: 1500, then: 'answer' }, shuntLifetimeSeconds: 900 },
    });
  });

  it('reads no-dnssec as dnssec insecure-ok, and "*" as any name', () => {
    const [r] = parsePolicyFile({ file: 'p.yaml', text: rule('domains: "*"', 'action: use', 'flags: [no-dnssec, ignore-bogus]') }).rules;
    expect(r).toMatchObject({ domains: [], dnssec: 'insecure-ok', flags: ['no-dnssec', 'ignore-bogus'] });
  });

  it('reads an empty or comment-only file as no rules, and version 1 and fallback', () => {
    expect(parsePolicyFile({ file: 'p.yaml', text: '' }).rules).toEqual([]);
    expect(parsePolicyFile({ file: 'p.yaml', text: '# nothing\n' }).rules).toEqual([]);
    expect(parsePolicyFile({ file: 'p.yaml', text: 'rules:\n#  - action: use\n' }).rules).toEqual([]);
    expect(parsePolicyFile({ file: 'p.yaml', text: 'version: 1\nfallback: true\nrules: []\n' })).toEqual({ file: 'p.yaml', fallback: true, rules: [] });
  });
});

describe('parsePolicySet: order', () => {
  it('numbers rules across files in the order given, fallback files last', () => {
    const set = parsePolicySet([
      { file: 'a.yaml', text: 'fallback: true\n' + rule('action: use') },
      { file: 'b.yaml', text: rule('action: require') + '  - action: clear\n' },
      { file: 'c.yaml', text: rule('action: block') },
    ]);
    expect(set.files).toEqual(['b.yaml', 'c.yaml', 'a.yaml']);
    expect(set.rules.map((r) => [r.position.file, r.index, r.action])).toEqual([
      ['b.yaml', 0, 'require'], ['b.yaml', 1, 'clear'], ['c.yaml', 2, 'block'], ['a.yaml', 3, 'use'],
    ]);
  });

  it('reports the issues of every broken file together and loads none of them', () => {
    const error = (() => {
      try {
        parsePolicySet([{ file: 'a.yaml', text: rule('action: usee') }, { file: 'b.yaml', text: rule('action: use') }, { file: 'c.yaml', text: rule('acton: use') }]);
      } catch (e) {
        return e as PolicyError;
      }
      throw new Error('expected a PolicyError');
    })();
    expect(error.issues.map((i) => i.position.file)).toEqual(['a.yaml', 'c.yaml', 'c.yaml']);
    expect(error.message.split('\n')).toHaveLength(3);
  });
});

/** [what, file text, expected "line:col: message" (a regex for the message)]. */
const ERRORS: readonly [string, string, string, RegExp][] = [
  ['invalid YAML', 'rules: [\n', '2:1', /^not valid YAML: Flow sequence/],
  ['an unquoted * (a YAML alias)', rule('domains: *', 'action: use'), '2:14', /^not valid YAML: .*\(write the wildcard quoted: "\*"\)$/],
  ['a duplicate key', rule('action: use', 'action: clear'), '3:5', /^not valid YAML: Map keys must be unique/],
  ['two documents', 'rules: []\n---\nrules: []\n', '2:1', /^not valid YAML: Source contains multiple documents/],
  ['a YAML alias', `rules:\n  - action: &a use\n  - action: *a\n`, '3:13', /^"action": YAML aliases are not allowed in policies$/],
  ['a file that is a list', '- action: use\n', '1:1', /^a policy file must be a mapping with "rules"/],
  ['an unknown file key', 'rule: []\n', '1:1', /^unknown key "rule" in the file \(did you mean "rules"\?\); known keys: version, fallback, rules$/],
  ['an unknown version', 'version: 2\n', '1:10', /^"version" must be a whole number from 1 to 1, got 2$/],
  ['a fallback that is not boolean', 'fallback: yes\n', '1:11', /^"fallback" must be true or false, got yes$/],
  ['rules that are not a list', 'rules: {action: use}\n', '1:8', /^"rules" must be a list of rules/],
  ['a key with no value', 'version:\nrules: []\n', '1:1', /^"version" has no value$/],
  ['a rule that is not a mapping', 'rules:\n  - use\n', '2:5', /^a rule must be a mapping of keys \(description, domains,/],
  ['a key that is not a word', rule('action: use', '1: x'), '3:5', /^a rule has a key that is not a plain word$/],
  ['an unknown rule key', rule('action: use', 'descripton: x'), '3:5', /^unknown key "descripton" in a rule \(did you mean "description"\?\); known keys: description, domains/],
  ['a rule without action', rule('domains: example.org'), '2:5', /^a rule needs an "action": one of require, use, clear-or-private, clear, block, private, private-or-clear$/],
  ['an unknown action', rule('action: requre'), '2:13', /^unknown action "requre" \(did you mean "require"\?\); known: require, use, clear-or-private, clear, block, private, private-or-clear$/],
  ['an action that is a list', rule('action: [use]'), '2:13', /^"action" must be a single value, not a list$/],
  ['a description that is not text', rule('action: use', 'description: 7'), '3:18', /^"description" must be text, got 7$/],
  ['a bad domain', rule('action: use', 'domains: [ex ample.org]'), '3:15', /^bad domain in "domains": "ex ample.org" is not a domain pattern/],
  ['a partial wildcard label', rule('action: use', 'domains: "w*.example.org"'), '3:14', /^bad domain in "domains": "w\*\.example\.org": "\*" must be a whole label/],
  ['a wildcard in a suffix', rule('action: use', 'domains: ".*.example.org"'), '3:14', /^bad domain in "domains": "\.\*\.example\.org": a suffix pattern takes no "\*"/],
  ['a domain that is a number', rule('action: use', 'domains: [7]'), '3:15', /^"domains" takes text, got 7$/],
  ['a CIDR that is not an address', rule('action: use', 'networks: 192.0.2/24'), '3:15', /^bad CIDR in "networks": "192\.0\.2" is not an IPv4 or IPv6 address$/],
  ['a prefix too long', rule('action: use', 'networks: 192.0.2.0/33'), '3:15', /^bad CIDR in "networks": prefix length "33" is not a number from 0 to 32$/],
  ['host bits set', rule('action: use', 'networks: 192.0.2.1/24'), '3:15', /^bad CIDR in "networks": "192\.0\.2\.1\/24" has host bits set \(did you mean 192\.0\.2\.0\/24\?\)$/],
  ['a zone index', rule('action: use', 'networks: "fe80::1%eth0"'), '3:15', /^bad CIDR in "networks": "fe80::1%eth0" has a zone index/],
  ['an IPv4-mapped network', rule('action: use', 'networks: "::ffff:192.0.2.0/120"'), '3:15', /^bad CIDR in "networks": ::ffff:c000:200\/120 is IPv4-mapped; write the IPv4 network/],
  ['an unknown protocol', rule('action: use', 'protocol: tcpp'), '3:15', /^unknown protocol "tcpp"; known: any, icmp, tcp, udp, ipv6-icmp, icmpv6, sctp, or a number from 0 to 255$/],
  ['a bad port', rule('action: use', 'protocol: tcp', 'ports: [0]'), '4:13', /^bad port "0" in "ports": a port from 1 to 65535, or a range "first-last"$/],
  ['a backwards port range', rule('action: use', 'protocol: udp', 'ports: "90-80"'), '4:12', /^bad port "90-80" in "ports"/],
  ['ports without a port protocol', rule('action: use', 'protocol: icmp', 'ports: [80]'), '4:5', /^"ports" needs "protocol" tcp, udp or sctp$/],
  ['ICMP types without ICMP', rule('action: use', 'icmp-types: [8]'), '3:5', /^"icmp-types" needs "protocol" icmp or ipv6-icmp$/],
  ['a bad ICMP type', rule('action: use', 'protocol: icmp', 'icmp-types: [256]'), '4:18', /^bad ICMP type "256" in "icmp-types": a number from 0 to 255$/],
  ['a bad TLSA port', rule('action: use', 'tlsa-ports: ["443/quic"]'), '3:18', /^bad TLSA port "443\/quic" in "tlsa-ports"/],
  ['an unknown DNSSEC level', rule('action: use', 'dnssec: insecure'), '3:13', /^unknown dnssec "insecure" \(did you mean "secure"\?\); known: secure, insecure-ok$/],
  ['an unknown flag', rule('action: use', 'flags: [no-dnsec]'), '3:13', /^unknown flags "no-dnsec" \(did you mean "no-dnssec"\?\); known: no-dnssec, ignore-bogus, no-dane, no-ldap$/],
  ['a flag given twice', rule('action: use', 'flags: [no-ldap, no-ldap]'), '3:22', /^"no-ldap" is listed twice in "flags"$/],
  ['an unknown key source', rule('action: use', 'keys: [tlsa]'), '3:12', /^unknown keys "tlsa"; known: ipseckey, cert$/],
  ['an unknown backend', rule('action: use', 'backend: strongswan'), '3:14', /^unknown backend "strongswan"; known: xfrm, setkey, vici, racoon$/],
  ['an unknown initiate mode', rule('action: use', 'initiate: on-packet'), '3:15', /^unknown initiate "on-packet"; known: on-traffic, on-answer$/],
  ['an unknown timeout behaviour', rule('action: use', 'on-timeout: drop'), '3:17', /^unknown on-timeout "drop"; known: answer, servfail$/],
  ['a negative min-ttl', rule('action: use', 'min-ttl: -1'), '3:14', /^"min-ttl" must be a whole number from 0 to 604800, got -1$/],
  ['a zero timeout', rule('action: use', 'timeout-ms: 0'), '3:17', /^"timeout-ms" must be a whole number from 1 to 86400000, got 0$/],
  ['a shunt lifetime in words', rule('action: use', 'shunt-lifetime: 15m'), '3:21', /^"shunt-lifetime" must be a whole number from 1 to 604800, got 15m$/],
  ['a bad proposal', rule('action: use', 'proposals: { ike: ["aes 256"] }'), '3:24', /^bad IKE proposal "aes 256": strongSwan keywords joined by "-"/],
  ['an unknown proposal key', rule('action: use', 'proposals: { ah: [sha256] }'), '3:18', /^unknown key "ah" in "proposals"; known keys: ike, esp$/],
  ['empty proposals', rule('action: use', 'proposals: {}'), '3:16', /^"proposals" is empty; give "ike" or "esp"$/],
  ['no-dnssec with dnssec secure', rule('action: use', 'dnssec: secure', 'flags: [no-dnssec]'), '4:13', /^conflicting settings: "no-dnssec" accepts unsigned keys but "dnssec: secure" refuses them; keep one$/],
  ['ignore-bogus without unsigned keys', rule('action: use', 'flags: [ignore-bogus]'), '3:13', /^conflicting settings: "ignore-bogus" treats a bogus key as an unsigned one, which "dnssec: secure" refuses anyway/],
  ['no-dane with TLSA ports', rule('action: use', 'tlsa-ports: [443]', 'flags: [no-dane]'), '4:13', /^conflicting settings: "no-dane" switches TLSA off but "tlsa-ports" asks for TLSA records; keep one$/],
  ['min-ttl above max-ttl', rule('action: use', 'min-ttl: 600', 'max-ttl: 60'), '3:5', /^conflicting settings: "min-ttl" \(600\) exceeds "max-ttl" \(60\)$/],
  ['require answering at its timeout', rule('action: private', 'on-timeout: answer'), '3:5', /^conflicting settings: "on-timeout: answer" with action private would answer before the traffic is protected; require always answers SERVFAIL/],
  ['block answering at its timeout', rule('action: block', 'on-timeout: answer'), '3:5', /^conflicting settings: "on-timeout: answer" with action block/],
  ['require without key sources', rule('action: require', 'keys: []'), '3:5', /^action require with no key source can never be satisfied/],
  ['clear with a DNSSEC level', rule('action: clear', 'dnssec: secure'), '3:5', /^"dnssec" has no effect with action clear, which negotiates nothing; remove it$/],
  ['block with key sources', rule('action: block', 'keys: [ipseckey]'), '3:5', /^"keys" has no effect with action block/],
  ['clear-or-private on xfrm', rule('action: clear-or-private', 'backend: xfrm'), '3:5', /^action clear-or-private answers the peer's IKE and needs an IKE backend \(vici or racoon\), not xfrm$/],
  ['clear-or-private with initiate', rule('action: clear-or-private', 'initiate: on-answer'), '3:5', /^"initiate" has no effect with action clear-or-private, which never initiates; remove it$/],
  ['proposals for another backend', rule('action: use', 'backend: xfrm', 'proposals: { esp: [aes256gcm16] }'), '4:5', /^"proposals" are hints for the vici backend; this rule uses xfrm$/],
];

describe('parsePolicyFile: every error names file:line:col and what is wrong', () => {
  it.each(ERRORS)('rejects %s', (_what, text, where, message) => {
    const issues = issuesOf(text);
    expect(issues).toHaveLength(1);
    const [first = ''] = issues;
    expect(first.slice(0, `p.yaml:${where}: `.length)).toBe(`p.yaml:${where}: `);
    expect(first.slice(`p.yaml:${where}: `.length)).toMatch(message);
  });

  it('reports every issue in a file, not just the first, in file order, and rejects the file whole', () => {
    const text = `rules:\n  - action: use\n  - acton: use\n  - networks: 10.0.0.1/8\n    action: use\n    dnssec: high\n    polcy: x\n`;
    expect(issuesOf(text)).toEqual([
      expect.stringMatching(/^p\.yaml:3:5: unknown key "acton"/),
      expect.stringMatching(/^p\.yaml:3:5: a rule needs an "action"/),
      expect.stringMatching(/^p\.yaml:4:15: bad CIDR in "networks": "10\.0\.0\.1\/8" has host bits set \(did you mean 10\.0\.0\.0\/8\?\)/),
      expect.stringMatching(/^p\.yaml:6:13: unknown dnssec "high"/),
      expect.stringMatching(/^p\.yaml:7:5: unknown key "polcy" in a rule; known keys: /),
    ]);
  });

  it('puts every issue on its own line of the error message', () => {
    expect(() => parsePolicyFile({ file: 'x/y.yaml', text: rule('action: usee', 'dnssec: maybe') }))
      .toThrow(/^x\/y\.yaml:2:13: unknown action "usee".*\nx\/y\.yaml:3:13: unknown dnssec "maybe"/);
  });
});
