/**
 * ESP for real, inside User-Mode-Linux: this machine's kernel has XFRM but no ESP, so
 * lab/uml/run.sh boots the Debian UML kernel (the host's / as a read-only hostfs root, the ESP
 * modules loaded) and runs lab/uml/esp-smoke.sh in it: manual `ip xfrm` SAs and then two charons
 * with Ed25519 raw keys, transport mode, IPv4 and IPv6, tcpdump on the veth seeing only ESP.
 * Asserts run.sh carries the script's exit status back and every check printed `ok`. One boot
 * takes about 3 s and the smoke test 12-20 s. Needs root, user-mode-linux and kmod
 * (scripts/test.sh installs them), strongSwan and tcpdump. OEDNS_KEEP_LAB=1 keeps the results
 * directory (console log, captures, charon logs).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { removeLabDir } from '../support/lab-process.js';

const REPO = resolve(import.meta.dirname, '../..');
const RUN = join(REPO, 'lab/uml/run.sh');
const UML_KERNEL = '/usr/bin/linux.uml';
/** run.sh's own limit for the whole guest; the test waits a little longer than that. */
const GUEST_SECONDS = 240;

const umlAvailable = process.getuid?.() === 0 && existsSync(UML_KERNEL)
  && existsSync('/usr/lib/ipsec/charon') && existsSync('/usr/sbin/swanctl') && existsSync('/usr/bin/tcpdump');

/** The checks esp-smoke.sh reports, each of which must be `ok`. */
const EXPECTED_OK = [
  'manual: ESP SAs (rfc4106(gcm(aes))) and transport policies installed',
  'manual: ping a -> b (IPv4)',
  'manual: ping b -> a (IPv4)',
  'manual: ping a -> b (IPv6)',
  'manual: ping b -> a (IPv6)',
  'manual: the capture shows ESP both ways, IPv4 and IPv6',
  'manual: the capture shows no plaintext ICMP/ICMPv6 echo',
  'charon: alice loads her key and conns (swanctl --load-all)',
  'charon: alice initiates smoke4',
  'charon: alice lists smoke4 INSTALLED, TRANSPORT',
  'charon: bob lists smoke4 INSTALLED, TRANSPORT',
  'charon: ping a -> b (IPv6) through the trap policy',
  'charon: alice lists smoke6 INSTALLED, TRANSPORT',
  'charon: bob lists smoke6 INSTALLED, TRANSPORT',
  'charon: the capture shows ESP both ways, IPv4 and IPv6',
  'charon: the capture shows no plaintext ICMP/ICMPv6 echo',
];

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

let results: string | undefined;

describe.skipIf(!umlAvailable)('ESP inside User-Mode-Linux (lab/uml)', () => {
  afterAll(async () => {
    if (results) await removeLabDir(results, 'uml smoke test');
  });

  it('boots UML, runs esp-smoke.sh in it and carries its exit status back', async () => {
    results = await mkdtemp(join(tmpdir(), 'oedns-uml-test-'));
    const run = await execa(RUN, ['--timeout', String(GUEST_SECONDS), '--results', results, '--', 'lab/uml/esp-smoke.sh'], {
      cwd: REPO, reject: false, all: true, timeout: (GUEST_SECONDS + 30) * 1000, forceKillAfterDelay: 5_000,
    });
    const output = run.all ?? '';
    // On failure the whole console (the TAP lines with their `#` diagnostics) is the message.
    expect(run.exitCode, output).toBe(0);
    expect(output).not.toMatch(/^not ok/m);
    for (const line of EXPECTED_OK) expect(output).toMatch(new RegExp(`^ok \\d+ - ${escape(line)}`, 'm'));
    expect(output).toMatch(/^1\.\.\d+$/m);
    // run.sh's record of the run: the exit status the guest wrote and the saved console output.
    expect((await readFile(join(results, 'uml-run/exit-status'), 'utf8')).trim()).toBe('0');
    expect(await readFile(join(results, 'uml-run/output.log'), 'utf8')).toMatch(/^ok \d+ - charon: alice initiates smoke4/m);
  }, (GUEST_SECONDS + 60) * 1000);

  it('gives the command what a lab needs (node, ip netns, unshare -m, writable /etc/netns, LAB_* and UML_RESULTS) and carries its exit status back', async () => {
    // Each line prints one fact; the command exits 7 so the status is seen to travel.
    const script = [
      'echo "kernel $(uname -r)"',
      'echo "node $(node -e \'console.log(1 + 1)\')"',
      'ip netns add probe && ip -n probe link set lo up && echo "netns $(ls /run/netns)"',
      'mkdir -p /etc/netns/probe && echo "nameserver 192.0.2.53" > /etc/netns/probe/resolv.conf && echo "resolv $(ip netns exec probe cat /etc/resolv.conf)"',
      'unshare -m --propagation private -- sh -c \'mount -t tmpfs tmpfs /run && echo unshare ok\'',
      'echo "lab dir $LAB_DIR"',
      'echo written > "$UML_RESULTS/probe" && echo "results $UML_RESULTS"',
      'exit 7',
    ].join('\n');
    const run = await execa(RUN, ['--timeout', '60', '--', 'bash', '-c', script], {
      cwd: REPO, reject: false, all: true, timeout: 90_000, forceKillAfterDelay: 5_000, env: { LAB_DIR: '/tmp/oedns-lab-probe' },
    });
    expect(run.exitCode, run.all).toBe(7);
    const output = run.all ?? '';
    const kernel = (await execa(UML_KERNEL, ['--version'])).stdout.split('\n')[0]!.trim();
    expect(output).toContain(`kernel ${kernel}`);
    expect(output).toMatch(/^node 2$/m);
    expect(output).toMatch(/^netns probe$/m);
    expect(output).toMatch(/^resolv nameserver 192\.0\.2\.53$/m);
    expect(output).toMatch(/^unshare ok$/m);
    expect(output).toMatch(/^lab dir \/tmp\/oedns-lab-probe$/m);
    const dir = /^results (\S+)$/m.exec(output)?.[1];
    expect(dir).toBeDefined();
    expect(await readFile(join(dir!, 'probe'), 'utf8')).toBe('written\n');
    expect((await readFile(join(dir!, 'uml-run/exit-status'), 'utf8')).trim()).toBe('7');
    await removeLabDir(dir!, 'uml environment test');
  }, 120_000);

  it('stops a guest that overruns --timeout and fails with 124', async () => {
    const started = Date.now();
    const run = await execa(RUN, ['--timeout', '8', '--', 'sleep', '600'], {
      cwd: REPO, reject: false, all: true, timeout: 60_000, forceKillAfterDelay: 5_000,
    });
    expect(run.exitCode, run.all).toBe(124);
    expect(run.all).toMatch(/did not finish within 8s/);
    expect(Date.now() - started).toBeLessThan(30_000);
    const dir = /uml: results in (\S+)/.exec(run.all ?? '')?.[1];
    if (dir) await removeLabDir(dir, 'uml timeout test');
  }, 90_000);
});
