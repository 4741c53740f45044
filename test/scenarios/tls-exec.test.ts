/**
 * `oedns tls-exec` (UCSPI-SSL's sslclient, seed 001 §7.5) against the TLS lab's `openssl s_server
 * -rev` peers: the program reads the peer on descriptor 6 and writes to it on 7, and finds the TLS
 * state in its environment (UCSPI-SSL and mod_ssl names, and oedns' own: how the peer was
 * authenticated, by which TLSA record, on DNS data of which DNSSEC status). A connection that
 * fails its checks prints the ERR line and exits 111 without running the program.
 * Needs dist/ (npx tsc -p tsconfig.json) for the process runs.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_FLAGS } from '../../src/tls/index.js';
import { runTlsExec, type TlsExecOptions } from '../../src/tls/exec.js';
import type { TlsRuntime } from '../../src/tls-runtime.js';
import { oednsCommand } from '../support/tls-commands.js';
import { comboHost, host, startTlsLab, type TlsLab } from '../support/tls-lab.js';

let lab: TlsLab;
let runtime: TlsRuntime;
let dir: string;
let oedns: readonly string[];

/** A UCSPI program: writes its input to fd 7, reads fd 6 to EOF, and leaves what it saw and its environment in a file. */
const PROGRAM = `
const fs = require('node:fs');
fs.writeSync(7, process.argv[2]);
let data = '';
const buffer = Buffer.alloc(4096);
for (;;) {
  const n = fs.readSync(6, buffer);
  if (n === 0) break;
  data += buffer.toString('utf8', 0, n);
}
fs.writeFileSync(process.argv[1], JSON.stringify({ data, env: process.env }));
`;

beforeAll(async () => {
  lab = await startTlsLab();
  runtime = await lab.runtime({ handshakeTimeoutMs: 3000 });
  dir = await mkdtemp(join(tmpdir(), 'oedns-tls-exec-'));
  oedns = await oednsCommand(dir);
}, 120_000);

afterAll(async () => {
  await lab?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

let runs = 0;
/** Runs tls-exec in-process with the program above; what the program saw, and the exit status. */
async function run(name: string, port: number, options: Partial<TlsExecOptions> = {}): Promise<{ status: number; data: string; env: Record<string, string> }> {
  const out = join(dir, `run-${++runs}.json`);
  const status = await runTlsExec({
    name, port, flags: NO_FLAGS, program: process.execPath, args: ['-e', PROGRAM, out, 'hello\nCLOSE\n'],
    engine: runtime.engine, lookup: runtime.lookup, log: runtime.log, ...options,
  });
  const seen = JSON.parse(await readFile(out, 'utf8')) as { data: string; env: Record<string, string> };
  return { status, ...seen };
}

describe('tls-exec in-process', () => {
  it('gives the program the peer on fds 6 and 7 and the TLS state in UCSPI-SSL, mod_ssl and oedns variables', async () => {
    const name = comboHost(3, 1, 1);
    const { status, data, env } = await run(name, lab.ports.good);
    expect(status).toBe(0);
    // s_server -rev answers each line reversed and ends the connection at CLOSE.
    expect(data).toBe('olleh\n');
    const good = lab.pki.good.x509;
    expect(env).toMatchObject({
      PROTO: 'SSL', SSLREMOTEIP: '127.0.0.1', SSLREMOTEPORT: String(lab.ports.good), SSLREMOTEHOST: 'u3s1m1.tls.test', SSLLOCALIP: '127.0.0.1',
      SSL_PROTOCOL: 'TLSv1.3', SSL_SERVER_S_DN: 'CN=good.tls.test', SSL_SERVER_I_DN: 'CN=oedns TLS lab intermediate',
      SSL_SERVER_V_START: good.validFrom, SSL_SERVER_V_END: good.validTo, SSL_SERVER_M_SERIAL: good.serialNumber.toUpperCase(),
      OEDNS_IDENTITY: 'u3s1m1.tls.test.', OEDNS_AUTH: 'dane', OEDNS_DANE: '3 1 1', OEDNS_TLSA_OWNER: `_${lab.ports.good}._tcp.u3s1m1.tls.test.`,
      OEDNS_DNSSEC: 'secure',
    });
    expect(env['SSLLOCALPORT']).toMatch(/^[0-9]+$/);
    expect(env['SSL_CIPHER']).toMatch(/^TLS_/);
  });

  it('reports DANE-TA with its record, and PKIX (no-dane) without DANE variables, dropping inherited forgeries', async () => {
    expect((await run(comboHost(2, 0, 1), lab.ports.good)).env).toMatchObject({ OEDNS_AUTH: 'dane', OEDNS_DANE: '2 0 1' });
    const { env } = await run(host('notlsa'), lab.ports.good, {
      flags: { ...NO_FLAGS, noDane: true }, env: { ...process.env, OEDNS_DANE: '3 1 1', OEDNS_TLSA_OWNER: 'forged.', SSL_CLIENT_S_DN: 'kept' },
    });
    expect(env).toMatchObject({ OEDNS_AUTH: 'pkix', OEDNS_DNSSEC: 'unused', OEDNS_IDENTITY: 'notlsa.tls.test.', SSL_CLIENT_S_DN: 'kept' });
    expect(env['OEDNS_DANE']).toBeUndefined();
    expect(env['OEDNS_TLSA_OWNER']).toBeUndefined();
  });

  it('exits with the program\'s status, and 128 + the signal when a signal ended it', async () => {
    const base = { flags: NO_FLAGS, engine: runtime.engine, lookup: runtime.lookup, log: runtime.log };
    expect(await runTlsExec({ ...base, name: comboHost(3, 1, 1), port: lab.ports.good, program: 'sh', args: ['-c', 'exit 7'] })).toBe(7);
    expect(await runTlsExec({ ...base, name: comboHost(3, 1, 1), port: lab.ports.good, program: 'sh', args: ['-c', 'kill -TERM $$'] })).toBe(143);
  });
});

describe('tls-exec as a process', () => {
  const exec = (args: readonly string[]) => execa(oedns[0]!, [...oedns.slice(1), 'tls-exec', ...lab.cliArgs, '--log-level', 'warn', ...args], { reject: false, timeout: 30_000 });

  it('runs `sh -c` with the network on fds 6 and 7 and the variables set', async () => {
    const result = await exec([comboHost(3, 1, 1), String(lab.ports.good), '--', 'sh', '-c',
      'printf "hello\\nCLOSE\\n" >&7; cat <&6; echo "auth=$OEDNS_AUTH dane=$OEDNS_DANE proto=$PROTO host=$SSLREMOTEHOST"']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe('olleh\nauth=dane dane=3 1 1 proto=SSL host=u3s1m1.tls.test');
  });

  it('prints ERR and exits 111 without running the program when the peer fails its checks', async () => {
    const marker = join(dir, 'ran');
    const result = await exec([host('mismatch'), String(lab.ports.good), '--', 'touch', marker]);
    expect(result.exitCode).toBe(111);
    expect(result.stderr).toMatch(/^oedns: ERR TLSA_MISMATCH .+$/m);
    await expect(readFile(marker)).rejects.toThrow(/ENOENT/);
    const flagged = await exec(['--flag', 'no-dane', host('mismatch'), String(lab.ports.good), '--', 'true']);
    expect(flagged.exitCode).toBe(0);
  });

  it('exits 100 on a usage error', async () => {
    const result = await exec([comboHost(3, 1, 1), String(lab.ports.good)]);
    expect(result.exitCode).toBe(100);
    expect(result.stderr).toMatch(/name the program/);
  });
});
