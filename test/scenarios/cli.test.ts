/**
 * The real `oedns` process: startup errors that name the fix, the resolv.conf default with
 * loop detection, SIGHUP reload (good and broken config), SIGTERM shutdown.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, startAuthServer, type AuthServer } from '../support/bind-lab.js';
import { freePort } from '../support/free-port.js';
import { DIST_CLI, sleep, spawnOedns } from '../support/oedns-harness.js';
import { aRecord, replyTo, startScriptedUpstream } from '../support/scripted-upstream.js';

let authA: AuthServer;
let authB: AuthServer;
let dir: string;

beforeAll(async () => {
  authA = await startAuthServer({ zones: [{ origin: 'example.test.', records: ['www 300 IN A 192.0.2.1'] }] });
  authB = await startAuthServer({ zones: [{ origin: 'example.test.', records: ['www 300 IN A 192.0.2.2', 'new 300 IN A 192.0.2.22'] }] });
  dir = await mkdtemp(join(tmpdir(), 'oedns-cli-'));
});
afterAll(async () => {
  await authA?.stop();
  await authB?.stop();
});

async function runToExit(args: string[], options: { withoutBindCapability?: boolean } = {}): Promise<{ exitCode: number; stderr: string }> {
  // Dropping CAP_NET_BIND_SERVICE from the bounding set leaves root without it after exec, so
  // the test needs no other user (who might not be able to read the checkout).
  const command = options.withoutBindCapability
    ? ['setpriv', '--bounding-set', '-net_bind_service', 'node', DIST_CLI, ...args]
    : ['node', DIST_CLI, ...args];
  const r = await execa(command[0]!, command.slice(1), { reject: false, timeout: 10_000 });
  return { exitCode: r.exitCode ?? -1, stderr: r.stderr };
}

describe('startup errors', () => {
  const unprivilegedPortStart = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'));
  // Where the sysctl lets anyone bind port 53 there is no privilege error to provoke.
  it.skipIf(unprivilegedPortStart <= 53)('refuses to bind port 53 without privilege and names the fix', async () => {
    const r = await runToExit(['serve', '--listen', '127.0.0.1:53', '--upstream', '127.0.0.1:5399'], { withoutBindCapability: true });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/cannot listen on 127\.0\.0\.1:53 \(udp\): permission denied/);
    expect(r.stderr).toMatch(/CAP_NET_BIND_SERVICE/);
    expect(r.stderr).toMatch(/--listen 127\.0\.0\.1:5353/);
  });

  it('refuses an upstream that is its own listening address (loop)', async () => {
    const port = await freePort();
    const r = await runToExit(['serve', '--listen', `127.0.0.1:${port}`, '--upstream', `127.0.0.1:${port}`]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/ERR_FORWARDING_LOOP/);
    expect(r.stderr).toMatch(/loop back to oedns/);
  });

  it('refuses a resolv.conf that lists only oedns itself', async () => {
    const resolv = join(dir, 'resolv-self.conf');
    await writeFile(resolv, 'nameserver 127.0.0.1\noptions edns0\n');
    const r = await runToExit(['serve', '--listen', '127.0.0.1:53', '--resolv-conf', resolv]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/lists only 127\.0\.0\.1, which is oedns itself/);
  });

  it('reports a broken config file by name', async () => {
    const config = join(dir, 'broken.yaml');
    await writeFile(config, 'listen: [127.0.0.1:5300\nupstreem: 1\n');
    const r = await runToExit(['serve', '--config', config]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`config file ${config}`);
  });

  it('refuses a broken policy directory with ERR_POLICY, naming file, line and column', async () => {
    const policies = join(dir, 'policies-broken');
    await mkdir(policies, { recursive: true });
    await writeFile(join(policies, 'rules.yaml'), 'rules:\n  - domains: x.test\n    action: encrypt-please\n');
    const port = await freePort();
    const r = await runToExit(['serve', '--listen', `127.0.0.1:${port}`, '--upstream', '127.0.0.1:5399', '--policies', policies]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/rules\.yaml:3:\d+.*encrypt-please/);
    expect(r.stderr).toContain('"code":"ERR_POLICY"');
  });

  it('checks the shipped policies with oedns policies check', async () => {
    const ok = await execa('node', [DIST_CLI, 'policies', 'check', '--policies', join(import.meta.dirname, '..', '..', 'policies')], { reject: false });
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toMatch(/2 files, 2 rules/);
  });
});

describe('running process', () => {
  it('forwards to the resolv.conf nameservers, skipping its own address', async () => {
    // resolv.conf has no port syntax, so this upstream sits on port 53 of another loopback address.
    const upstream = await startScriptedUpstream(({ query, reply }) => reply(replyTo(query, [aRecord(query.questions[0]!.name, '192.0.2.53')])), { address: '127.0.0.153', port: 53 });
    const resolv = join(dir, 'resolv-default.conf');
    await writeFile(resolv, `# written by the test\nnameserver 127.0.0.154\nnameserver 127.0.0.153\n`);
    const { process: child, output } = await spawnOedns(['serve', '--listen', '127.0.0.154:53', '--resolv-conf', resolv, '--insecure', 'test']);
    try {
      expect(output()).toContain('"upstreams":["127.0.0.153:53"],"upstreamSource":"resolv.conf"');
      expect((await dig({ address: '127.0.0.154', port: 53 }, ['host.example.test', 'A'])).stdout).toMatch(/192\.0\.2\.53/);
    } finally {
      child.kill('SIGTERM');
      await child;
      await upstream.stop();
    }
  });

  it('reloads on SIGHUP, keeps running on a broken reload, stops on SIGTERM', async () => {
    const port = await freePort();
    const config = join(dir, 'oedns.yaml');
    await writeFile(config, `listen: 127.0.0.1:${port}\nupstream:\n  - 127.0.0.1:${authA.port}\nlog-level: info\n`);
    const { process: child, output } = await spawnOedns(['serve', '--config', config, '--insecure', 'test']);
    const server = { address: '127.0.0.1', port };
    try {
      expect(output()).toContain('"oedns serving"');
      expect((await dig(server, ['www.example.test', 'A'])).stdout).toMatch(/192\.0\.2\.1\b/);

      // New upstream and a second listen address.
      const port2 = await freePort();
      await writeFile(config, `listen: [127.0.0.1:${port}, 127.0.0.1:${port2}]\nupstream: 127.0.0.1:${authB.port}\ncache-max-entries: 10\n`);
      child.kill('SIGHUP');
      await waitFor(() => output().includes('"configuration reloaded"'));
      expect((await dig(server, ['new.example.test', 'A'])).stdout).toMatch(/192\.0\.2\.22/);
      expect((await dig({ address: '127.0.0.1', port: port2 }, ['new.example.test', 'A'])).stdout).toMatch(/192\.0\.2\.22/);

      // The first address dropped: it stops answering, the second goes on.
      await writeFile(config, `listen: 127.0.0.1:${port2}\nupstream: 127.0.0.1:${authB.port}\n`);
      child.kill('SIGHUP');
      await waitFor(() => output().split('"configuration reloaded"').length === 3);
      expect((await dig(server, ['+tries=1', '+time=1', 'new.example.test', 'A'])).exitCode).not.toBe(0);
      const second = { address: '127.0.0.1', port: port2 };

      await writeFile(config, 'upstream: [not-an-address\n');
      child.kill('SIGHUP');
      await waitFor(() => output().includes('reload failed; keeping the running configuration'));
      expect((await dig(second, ['new.example.test', 'A'])).stdout).toMatch(/192\.0\.2\.22/);

      child.kill('SIGTERM');
      const result = await child;
      expect(result.exitCode).toBe(0);
      expect(output()).toContain('"oedns stopped"');
    } finally {
      child.kill('SIGKILL');
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await sleep(25);
  }
}
