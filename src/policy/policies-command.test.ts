import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultPoliciesDir, runPoliciesCheck, SHIPPED_POLICIES_DIR } from './policies-command.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'oedns-check-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function check(options: { dir?: string; name?: string; address?: string; upstreams?: string[] } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const status = await runPoliciesCheck({ dir: options.dir ?? dir, ...options, write: (l) => out.push(l), writeError: (l) => err.push(l) });
  return { status, out, err };
}

describe('oedns policies check', () => {
  it('accepts the shipped policies and lists the files in the order their rules are tried', async () => {
    const { status, out, err } = await check({ dir: SHIPPED_POLICIES_DIR });
    expect(status).toBe(0);
    expect(err).toEqual([]);
    expect(out).toEqual([
      `${SHIPPED_POLICIES_DIR}: 2 files, 2 rules (require 1, use 1), tried in this order:`,
      `  ${join(SHIPPED_POLICIES_DIR, 'lab.yaml')}: 1 rule`,
      `  ${join(SHIPPED_POLICIES_DIR, 'default.yaml')}: 1 rule`,
    ]);
  });

  it('exits 2 and prints every error as file:line:col', async () => {
    writeFileSync(join(dir, 'a.yaml'), 'rules:\n  - action: use\n    flags: [no-dnssec]\n    dnssec: secure\n  - action: nope\n');
    const { status, err } = await check();
    expect(status).toBe(2);
    expect(err).toEqual([
      `error: ${join(dir, 'a.yaml')}:3:13: conflicting settings: "no-dnssec" accepts unsigned keys but "dnssec: secure" refuses them; keep one`,
      expect.stringMatching(new RegExp(`^error: ${join(dir, 'a.yaml')}:5:13: unknown action "nope"`)),
      `${dir}: 2 errors; the set is rejected`,
    ]);
  });

  it('exits 2 for a directory that does not exist', async () => {
    const { status, err } = await check({ dir: join(dir, 'missing') });
    expect(status).toBe(2);
    expect(err[0]).toMatch(/cannot read the policy directory: ENOENT/);
  });

  it('warns, without failing, about an empty set and about rules never reached', async () => {
    expect((await check()).err).toEqual(['warning: no rules: oedns will install nothing for any address']);
    writeFileSync(join(dir, 'a.yaml'), 'rules:\n  - action: use\n  - domains: a.example\n    action: require\n');
    const { status, err } = await check();
    expect(status).toBe(0);
    expect(err).toEqual([`warning: rule ${join(dir, 'a.yaml')}:3:5 is never reached: the earlier rule ${join(dir, 'a.yaml')}:2:5 matches everything it matches`]);
  });

  it('prints the rule a name and address meet, why, and the outcome for each key state', async () => {
    cpSync(SHIPPED_POLICIES_DIR, dir, { recursive: true });
    const { status, out } = await check({ name: 'bob.lab.example', address: '192.0.2.11' });
    expect(status).toBe(0);
    const lab = join(dir, 'lab.yaml');
    expect(out.slice(3)).toEqual([
      'bob.lab.example 192.0.2.11:',
      `  matched rule ${lab}:11:5 (alice and bob, always encrypted; bogus fails closed): name bob.lab.example matches bob.lab.example; any address`,
      expect.stringMatching(/^    action require; domains alice\.lab\.example, bob\.lab\.example, bogus\.lab\.example; networks any; traffic any; dnssec secure; keys ipseckey; backend default; initiate on-answer;/),
      '  decision by key state (the same state for every key source):',
      '    none     any traffic: block and answer SERVFAIL (require: no key)',
      '    insecure any traffic: block and answer SERVFAIL (require: key is not DNSSEC-secure and the rule needs dnssec: secure)',
      '    secure   any traffic: require (ipseckey) (require: secure ipseckey)',
      '    bogus    any traffic: block and answer SERVFAIL (require: key is bogus (accepted only with ignore-bogus and insecure-ok))',
      '    timeout  any traffic: block and answer SERVFAIL (require: key lookup timed out)',
    ]);
  });

  it('shows the Neighbor Discovery bypass ahead of what is installed for an IPv6 address', async () => {
    cpSync(SHIPPED_POLICIES_DIR, dir, { recursive: true });
    const { out } = await check({ name: 'bob.lab.example', address: '2001:db8::b' });
    expect(out).toContain('    secure   ipv6-icmp type 133,134,135,136 traffic: pass (built-in exclusion neighbor-discovery) | any traffic: require (ipseckey) (require: secure ipseckey)');
  });

  it('shows an upstream resolver excluded, as serve would', async () => {
    cpSync(SHIPPED_POLICIES_DIR, dir, { recursive: true });
    const { out } = await check({ name: 'ns.example', address: '192.0.2.53', upstreams: ['192.0.2.53:53'] });
    expect(out).toContain('  the address is covered by the built-in exclusion upstream: only rules naming it in "networks" apply');
    expect(out).toContain(`  skipped rule ${join(dir, 'default.yaml')}:13:5 (opportunistic, DNSSEC-secure keys only): address 192.0.2.53 is excluded (upstream) and the rule's networks do not name it`);
  });

  it('exits 2 for an address or upstream that is not one', async () => {
    writeFileSync(join(dir, 'a.yaml'), 'rules:\n  - action: use\n');
    expect(await check({ name: 'a.example', address: 'a.example' })).toMatchObject({ status: 2, err: ['error: --address "a.example" is not an IPv4 or IPv6 address'] });
    expect((await check({ name: 'a.example', address: '192.0.2.1', upstreams: ['dns.example'] })).status).toBe(2);
  });

  it('finds policies/ beside the config file, else the shipped folder', () => {
    expect(defaultPoliciesDir('/etc/oedns/oedns.yaml')).toBe('/etc/oedns/policies');
    expect(defaultPoliciesDir()).toBe(SHIPPED_POLICIES_DIR);
  });
});

describe('policiesCommand (the yargs module for src/cli.ts)', () => {
  it('runs check with --policies and sets the exit status', async () => {
    const { default: yargs } = await import('yargs');
    const { policiesCommand } = await import('./policies-command.js');
    const writes: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => writes.push(String(chunk)) > 0);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => writes.push(String(chunk)) > 0);
    try {
      writeFileSync(join(dir, 'a.yaml'), 'rules:\n  - action: maybe\n');
      await yargs(['policies', 'check', '--policies', dir]).command(policiesCommand).strict().parseAsync();
      expect(process.exitCode).toBe(2);
      writeFileSync(join(dir, 'a.yaml'), 'rules:\n  - action: use\n');
      await yargs(['policies', 'check', '--policies', dir, '--name', 'a.example', '--address', '192.0.2.1']).command(policiesCommand).strict().parseAsync();
      expect(process.exitCode).toBe(0);
    } finally {
      process.exitCode = undefined;
      stdout.mockRestore();
      stderr.mockRestore();
    }
    expect(writes.join('')).toMatch(/unknown action "maybe"[\s\S]*matched rule .*a\.yaml:2:5/);
  });
});
