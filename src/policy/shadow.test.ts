import { describe, expect, it } from 'vitest';
import { parsePolicySet } from './policy-file.js';
import { findShadowedRules } from './shadow.js';

function shadowed(...lines: string[]): [number, number][] {
  const set = parsePolicySet([{ file: 'p.yaml', text: ['rules:', ...lines].join('\n') }]);
  return findShadowedRules(set).map((s) => [s.rule.position.line, s.by.position.line]);
}

describe('rules no traffic can reach', () => {
  it('finds a narrower rule after a broader one', () => {
    expect(shadowed('  - domains: .example.org', '    action: use', '  - domains: www.example.org', '    action: require')).toEqual([[4, 2]]);
    expect(shadowed('  - networks: 192.0.2.0/24', '    action: require', '  - networks: 192.0.2.128/28', '    action: clear')).toEqual([[4, 2]]);
    expect(shadowed('  - action: use', '  - protocol: tcp', '    ports: [443]', '    action: require')).toEqual([[3, 2]]);
    expect(shadowed('  - protocol: tcp', '    ports: ["1-1024"]', '    action: use', '  - protocol: tcp', '    ports: [443]', '    action: require')).toEqual([[5, 2]]);
  });

  it('says which rule hides which, by place and description', () => {
    const set = parsePolicySet([{ file: 'p.yaml', text: 'rules:\n  - action: use\n    description: all\n  - domains: a.example\n    action: require\n' }]);
    expect(findShadowedRules(set).map((s) => s.message)).toEqual(['rule p.yaml:4:5 is never reached: the earlier rule p.yaml:2:5 (all) matches everything it matches']);
  });

  it('does not report a rule the earlier one covers only in part', () => {
    expect(shadowed('  - domains: www.example.org', '    action: require', '  - domains: .example.org', '    action: use')).toEqual([]);
    expect(shadowed('  - domains: .example.org', '    action: use', '  - networks: 192.0.2.0/24', '    action: require')).toEqual([]);
    expect(shadowed('  - protocol: tcp', '    action: use', '  - protocol: udp', '    action: require')).toEqual([]);
    expect(shadowed('  - protocol: tcp', '    ports: [443]', '    action: use', '  - protocol: tcp', '    action: require')).toEqual([]);
    expect(shadowed('  - domains: "*.example.org"', '    action: use', '  - domains: .example.org', '    action: require')).toEqual([]);
  });

  it('does not report a rule that names an excluded range the earlier rule cannot reach', () => {
    expect(shadowed('  - action: use', '  - networks: 127.0.0.0/8', '    action: block')).toEqual([]);
    expect(shadowed('  - networks: 0.0.0.0/0', '    action: use', '  - networks: 127.0.0.0/8', '    action: block')).toEqual([]);
    expect(shadowed('  - networks: 127.0.0.0/8', '    action: use', '  - networks: 127.0.0.1', '    action: block')).toEqual([[4, 2]]);
  });
});
