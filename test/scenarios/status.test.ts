/**
 * `oedns status` against a real oedns process (dist/cli.js) over its control socket: the policies
 * a keyed answer installed (dry-run backend), the table and the JSON; one oedns per socket; a
 * socket a killed oedns left behind is taken over; after SIGTERM the socket is gone.
 */
import { statSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../src/ipsec/control/index.js';
import { Rcode, RRType } from '../../src/wire/index.js';
import { startKeysLab, KEYS_LAB_HOSTS, KEYS_TTL_SECONDS, type KeysLab } from '../support/keys-lab.js';
import { DIST_CLI, queryMessage, question, spawnOedns, udpQuery } from '../support/oedns-harness.js';
import { freePort } from '../support/free-port.js';

let keys: KeysLab;
let dir: string;
let socket: string;
let port: number;
const children: ResultPromise[] = [];

async function serve(): Promise<{ process: ResultPromise; output: () => string }> {
  const started = await spawnOedns([
    'serve', '--listen', `127.0.0.1:${port}`, '--upstream', `${keys.lab.address}:${keys.lab.port}`, '--trust-anchor', keys.anchorFile,
    '--ipsec-backend', 'dry-run', '--state-dir', join(dir, 'state'), '--control-socket', socket, '--log-level', 'info',
  ]);
  children.push(started.process);
  return started;
}

const status = (...args: string[]) => execa('node', [DIST_CLI, 'status', '--control-socket', socket, ...args], { reject: false });

beforeAll(async () => {
  keys = await startKeysLab();
  dir = await mkdtemp(join(tmpdir(), 'oedns-status-'));
  // A directory that does not exist yet: oedns makes it.
  socket = join(dir, 'run', 'control.sock');
  port = await freePort();
}, 60_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.allSettled(children);
  await keys?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('oedns status', () => {
  it('shows the policies a keyed answer installed, as a table and as JSON', async () => {
    const oedns = await serve();
    expect(oedns.output()).toContain('"oedns serving"');
    expect(statSync(socket).mode & 0o777).toBe(0o660);
    const reply = await udpQuery(port, queryMessage(1, question(KEYS_LAB_HOSTS.alice.name, RRType.A), { edns: true }));
    expect(reply.rcode).toBe(Rcode.NoError);

    const json = await status('--json');
    expect(json.exitCode).toBe(0);
    const report = JSON.parse(json.stdout) as StatusReport;
    expect(report).toMatchObject({ pid: oedns.process.pid, backend: 'dry-run', listen: [`127.0.0.1:${port}`] });
    const policy = report.policies.find((p) => p.remote === KEYS_LAB_HOSTS.alice.ipv4);
    expect(policy).toMatchObject({ names: ['alice.keys.test./A'], family: 4, action: 'protect', level: 'use', mode: 'transport', peer: 'alice.keys.test.' });
    expect(policy!.secondsLeft).toBeGreaterThan(0);
    expect(policy!.secondsLeft).toBeLessThanOrEqual(KEYS_TTL_SECONDS);

    const table = await status();
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toMatch(/alice\.keys\.test\.\/A\s+\S+\s+192\.0\.2\.10\b/);
  });

  it('refuses a second oedns on the same socket, and the first keeps answering', async () => {
    const second = await spawnOedns([
      'serve', '--listen', `127.0.0.1:${await freePort()}`, '--upstream', `${keys.lab.address}:${keys.lab.port}`,
      '--state-dir', join(dir, 'state2'), '--control-socket', socket,
    ]);
    const result = await second.process;
    expect(result.exitCode).toBe(2);
    expect(second.output()).toMatch(/another oedns is running/);
    expect((await status('--json')).exitCode).toBe(0);
  });

  it('takes over the socket a killed oedns left behind; after SIGTERM it is gone and status says so', async () => {
    const first = children[0]!;
    first.kill('SIGKILL');
    await first;
    expect(existsSync(socket)).toBe(true);
    const again = await serve();
    expect(again.output()).toContain('"oedns serving"');
    expect((await status('--json')).exitCode).toBe(0);
    again.process.kill('SIGTERM');
    await again.process;
    expect(existsSync(socket)).toBe(false);
    const gone = await status();
    expect(gone.exitCode).toBe(1);
    expect(gone.stderr).toMatch(/is oedns running\? no control socket at/);
  });
});
