/**
 * The lab end to end (issue 7), in both places it runs: `lab/lab.sh test` brings up dns, alice
 * and bob in network namespaces (BIND serving the signed lab hierarchy, charon and oedns with the
 * vici backend on each host), runs the seven scenarios of lab/test.mjs and takes the lab down.
 *   - on this machine (`--no-esp`): IKE with the keys from DNS, both ends, and fail-closed
 *     behaviour; this kernel has no ESP, so no CHILD_SA is installed;
 *   - inside User-Mode-Linux (`lab/uml/run.sh -- lab/lab.sh test --esp`): the full data path,
 *     ESP on the wire and no cleartext, checked with tcpdump.
 * Each run gets its own LAB_DIR and namespace prefix. Needs root, BIND, strongSwan, tcpdump, and
 * for the second user-mode-linux (scripts/test.sh installs them all), and a built dist/ (npm test
 * builds first). OEDNS_KEEP_LAB=1 keeps the directories (results.json, logs, captures).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { removeLabDir } from '../support/lab-process.js';

const REPO = resolve(import.meta.dirname, '../..');
const LAB = join(REPO, 'lab/lab.sh');
const UML_RUN = join(REPO, 'lab/uml/run.sh');
/** The whole host run takes about 40 s; inside UML about 4 minutes (everything is 5-10x slower there). */
const HOST_SECONDS = 300;
const UML_SECONDS = 720;
const SCENARIOS = 7;

const root = process.getuid?.() === 0;
const labAvailable = root && existsSync(join(REPO, 'dist/cli.js')) && existsSync('/usr/sbin/named')
  && existsSync('/usr/lib/ipsec/charon') && existsSync('/usr/sbin/swanctl') && existsSync('/usr/bin/tcpdump');
const umlAvailable = labAvailable && existsSync('/usr/bin/linux.uml');

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await removeLabDir(dir, 'lab test');
});

/** The TAP lines of a run: every scenario must be `ok`, and the summary must say so. */
function expectAllPassed(output: string): void {
  const lines = output.split('\n');
  const ok = lines.filter((l) => /^ok \d+ - /.test(l));
  const notOk = lines.filter((l) => /^not ok \d+ - /.test(l));
  expect(notOk, output).toEqual([]);
  expect(ok).toHaveLength(SCENARIOS);
  expect(output).toMatch(new RegExp(`^# ${SCENARIOS} passed, 0 failed`, 'm'));
}

describe.skipIf(!labAvailable)('the lab (lab/lab.sh test)', () => {
  it('on this machine: IKE with the keys from DNS at both ends, fail closed without ESP', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oedns-lab-host-'));
    dirs.push(dir);
    const labDir = join(dir, 'lab');
    const run = await execa(LAB, ['test', '--no-esp'], {
      env: { LAB_DIR: labDir, LAB_PREFIX: `oe${process.pid}-` }, reject: false, all: true, timeout: HOST_SECONDS * 1000, forceKillAfterDelay: 5_000,
    });
    expect(run.exitCode, run.all).toBe(0);
    expectAllPassed(run.all ?? '');
    expect(run.all).toMatch(/mode no-esp/);
  }, (HOST_SECONDS + 30) * 1000);

  it.skipIf(!umlAvailable)('inside User-Mode-Linux: ESP on the wire, no cleartext', async () => {
    const results = await mkdtemp(join(tmpdir(), 'oedns-lab-uml-'));
    dirs.push(results);
    const run = await execa(UML_RUN, ['--timeout', String(UML_SECONDS - 30), '--results', results, '--', LAB, 'test', '--esp'], {
      reject: false, all: true, timeout: UML_SECONDS * 1000, forceKillAfterDelay: 5_000,
    });
    const console = await readFile(join(results, 'uml-run/output.log'), 'utf8').catch(() => run.all ?? '');
    expect(run.exitCode, console).toBe(0);
    expectAllPassed(console);
    expect(console).toMatch(/mode esp/);
  }, (UML_SECONDS + 30) * 1000);
});
