import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decide } from './decide.js';
import { decidingFlow, type KeyOutcomes } from './decision.js';
import { excludedRanges } from './exclusions.js';
import { parsePolicyFile } from './policy-file.js';
import { loadPolicyDir } from './policy-dir.js';
import { SHIPPED_POLICIES_DIR } from './policies-command.js';
import { findShadowedRules } from './shadow.js';

const SECURE: KeyOutcomes = { ipseckey: 'secure', cert: 'none', tlsa: [] };
const CONTEXT = { exclusions: excludedRanges({ upstreams: ['192.0.2.53'], localAddresses: [] }), nowSeconds: 0 };

describe('the shipped policies/', () => {
  it('holds default.yaml, lab.yaml and strict.example.yaml, and every one of them parses', () => {
    const names = readdirSync(SHIPPED_POLICIES_DIR).filter((n) => /\.ya?ml$/.test(n)).sort();
    expect(names).toEqual(['default.yaml', 'lab.yaml', 'strict.example.yaml']);
    for (const name of names) {
      const file = join(SHIPPED_POLICIES_DIR, name);
      expect(parsePolicyFile({ file, text: readFileSync(file, 'utf8') }).rules.length).toBeGreaterThan(0);
    }
  });

  it('loads lab.yaml before the fallback default.yaml, and not the example', async () => {
    const set = await loadPolicyDir(SHIPPED_POLICIES_DIR);
    expect(set.files.map((f) => f.slice(SHIPPED_POLICIES_DIR.length))).toEqual(['lab.yaml', 'default.yaml']);
    expect(findShadowedRules(set)).toEqual([]);
  });

  it('uses DNSSEC-secure keys opportunistically anywhere, and nothing else', async () => {
    const set = await loadPolicyDir(SHIPPED_POLICIES_DIR);
    const decideFor = (keys: KeyOutcomes) => decidingFlow(decide(set, { name: 'www.example.org', address: '203.0.113.7', keys }, CONTEXT));
    expect(decideFor(SECURE).install).toEqual({ kind: 'policy', level: 'use', keySource: 'ipseckey' });
    expect(decideFor({ ...SECURE, ipseckey: 'insecure' }).install).toEqual({ kind: 'none' });
    expect(decideFor({ ...SECURE, ipseckey: 'bogus' }).install).toEqual({ kind: 'none' });
  });

  it('requires IPsec for alice, bob and bogus in lab.example, failing closed', async () => {
    const set = await loadPolicyDir(SHIPPED_POLICIES_DIR);
    for (const name of ['alice.lab.example', 'BOB.lab.example.', 'bogus.lab.example']) {
      const ok = decide(set, { name, address: '2001:db8:1ab::b', keys: SECURE }, CONTEXT);
      expect(decidingFlow(ok).install).toEqual({ kind: 'policy', level: 'require', keySource: 'ipseckey' });
      expect(decidingFlow(ok).settings.initiate).toBe('on-answer');
      const missing = decide(set, { name, address: '192.0.2.66', keys: { ...SECURE, ipseckey: 'none', cert: 'secure' } }, CONTEXT);
      expect([decidingFlow(missing).install, missing.servfail]).toEqual([{ kind: 'block' }, true]);
    }
    const carol = decide(set, { name: 'carol.lab.example', address: '192.0.2.67', keys: SECURE }, CONTEXT);
    expect(decidingFlow(carol).install).toMatchObject({ level: 'use' });
    const bogus = decide(set, { name: 'bogus.lab.example', address: '192.0.2.22', keys: { ...SECURE, ipseckey: 'bogus' } }, CONTEXT);
    expect([decidingFlow(bogus).install, bogus.servfail]).toEqual([{ kind: 'block' }, true]);
    // plain.lab.example has no key: the fallback default installs nothing and answers.
    const plain = decide(set, { name: 'plain.lab.example', address: '192.0.2.21', keys: { ...SECURE, ipseckey: 'none' } }, CONTEXT);
    expect([decidingFlow(plain).install, plain.servfail]).toEqual([{ kind: 'none' }, false]);
  });

  it('makes the strict example require for its domain and networks, printers excepted', () => {
    const file = join(SHIPPED_POLICIES_DIR, 'strict.example.yaml');
    const { rules } = parsePolicyFile({ file, text: readFileSync(file, 'utf8') });
    const set = { files: [file], rules };
    const decideFor = (name: string, address: string) => decidingFlow(decide(set, { name, address, keys: { ...SECURE, ipseckey: 'none' } }, CONTEXT));
    expect(decideFor('www.bank.example.com', '203.0.113.9').install).toEqual({ kind: 'block' });
    expect(decideFor('anything.example', '2001:db8:1:2::3').install).toEqual({ kind: 'block' });
    expect(decideFor('printer.example', '192.0.2.130').install).toEqual({ kind: 'none' });
    expect(decideFor('other.example', '203.0.113.9').source).toEqual({ kind: 'default' });
    expect(findShadowedRules(set)).toEqual([]);
  });
});
