import { execFile } from 'node:child_process';
import { chmod, link, lstat, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRootLogger } from '../../core/log.js';
import { controlRequest, fetchStatus, pingControl } from './control-client.js';
import { ControlSocketError, MAX_REQUEST_BYTES } from './control-protocol.js';
import { ControlServer, type ControlServerOptions } from './control-server.js';
import { runStatus } from './status-command.js';
import { statusReport, type StatusReport } from './status-report.js';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);
const REPORT: StatusReport = statusReport({
  backend: 'dry-run', nowMs: NOW, startedAtMs: NOW - 60_000, pid: 4242, version: '0.1.0', listen: ['127.0.0.1:5353'],
  policies: [{
    spec: { family: 4, remote: '192.0.2.10', selector: {}, action: { kind: 'protect', level: 'require', mode: 'transport' } },
    owners: ['alice.lab.example./A'], expiresAtMs: NOW + 300_000,
  }],
});

let dir: string;
const servers: ControlServer[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oedns-ctl-'));
});
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  await rm(dir, { recursive: true, force: true });
});

function logLines(): { log: ReturnType<typeof createRootLogger>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } });
  return { log: createRootLogger('debug', sink), lines };
}

async function open(options: Partial<ControlServerOptions> = {}): Promise<ControlServer> {
  const server = await ControlServer.open({ path: join(dir, 'control.sock'), explicit: true, status: () => REPORT, log: createRootLogger('silent'), ...options });
  servers.push(server);
  return server;
}

/** Sends raw bytes (then half-closes when `end`) and returns everything the server wrote before closing. */
function raw(path: string, bytes: string | Uint8Array, end = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const chunks: Buffer[] = [];
    socket.on('connect', () => (end ? socket.end(bytes) : socket.write(bytes)));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString()));
  });
}

const errorOf = (text: string): unknown => (JSON.parse(text) as { error?: unknown }).error;

describe('ControlServer: requests', () => {
  it('answers status with the report and ping with its pid, one line each', async () => {
    const server = await open();
    expect(server.listening).toBe(true);
    expect(await fetchStatus(server.path)).toEqual(REPORT);
    expect(await pingControl(server.path)).toBe(process.pid);
    expect(await raw(server.path, 'ping\r\n')).toBe(`${JSON.stringify({ ok: true, pong: true, pid: process.pid })}\n`);
    expect(server.stats).toMatchObject({ requests: 3, badRequests: 0 });
  });

  it('answers a request whose line ends with the end of input instead of LF', async () => {
    const server = await open();
    expect(JSON.parse(await raw(server.path, 'ping', true))).toMatchObject({ ok: true, pong: true });
  });

  it('answers bad requests with an ERR_CONTROL_REQUEST line and goes on serving', async () => {
    const server = await open();
    for (const junk of ['hello\n', 'status please\n', '\n', new Uint8Array([0xff, 0x00, 0x1b, 0x0a]), '{"cmd":"status"}\n']) {
      const text = await raw(server.path, junk);
      expect(text.endsWith('\n')).toBe(true);
      expect(errorOf(text)).toMatchObject({ code: 'ERR_CONTROL_REQUEST' });
    }
    expect(JSON.parse(await raw(server.path, '', true))).toMatchObject({ ok: false, error: { message: expect.stringMatching(/empty request/) } });
    expect(await fetchStatus(server.path)).toEqual(REPORT);
    expect(server.stats.badRequests).toBe(6);
  });

  it('refuses a line longer than MAX_REQUEST_BYTES without waiting for its end', async () => {
    const server = await open();
    const text = await raw(server.path, 'p'.repeat(MAX_REQUEST_BYTES * 40));
    expect(errorOf(text)).toMatchObject({ code: 'ERR_CONTROL_REQUEST', message: `request line longer than ${MAX_REQUEST_BYTES - 1} bytes` });
    expect(errorOf(await raw(server.path, `${'x'.repeat(MAX_REQUEST_BYTES)}\n`))).toMatchObject({ code: 'ERR_CONTROL_REQUEST' });
  });

  it('answers a client that sends nothing with an error once the request time is up', async () => {
    const server = await open({ requestTimeoutMs: 50 });
    expect(errorOf(await raw(server.path, ''))).toMatchObject({ code: 'ERR_CONTROL_REQUEST', message: 'no request line within 50 ms' });
  });

  it('answers ERR_CONTROL_BUSY beyond maxConnections', async () => {
    const server = await open({ maxConnections: 1 });
    const idle = connect(server.path);
    await new Promise((resolve) => idle.once('connect', resolve));
    await expect(controlRequest(server.path, 'ping')).rejects.toMatchObject({ code: 'ERR_CONTROL_RESPONSE', responseCode: 'ERR_CONTROL_BUSY' });
    idle.destroy();
    await new Promise((resolve) => idle.once('close', resolve));
    await expect.poll(() => pingControl(server.path).catch(() => 0)).toBe(process.pid);
    expect(server.stats.busy).toBeGreaterThanOrEqual(1);
  });

  it('answers ERR_CONTROL_INTERNAL when the status cannot be built, and logs the error', async () => {
    const { log, lines } = logLines();
    const server = await open({ log, status: () => { throw new Error('boom'); } });
    expect(errorOf(await raw(server.path, 'status\n'))).toMatchObject({ code: 'ERR_CONTROL_INTERNAL' });
    expect(lines).toContainEqual(expect.objectContaining({ level: 50, err: 'boom', msg: 'building the status failed' }));
    expect(await pingControl(server.path)).toBe(process.pid);
  });

  it('accepts a status function that returns a promise', async () => {
    const server = await open({ status: async () => REPORT });
    expect(await fetchStatus(server.path)).toEqual(REPORT);
  });
});

describe('ControlServer: the socket file', () => {
  it('is a socket of mode 0660 in a parent directory it creates with 0755, with no staging left behind', async () => {
    const path = join(dir, 'run', 'oedns', 'control.sock');
    await open({ path });
    const st = await lstat(path);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o660);
    expect((await stat(join(dir, 'run', 'oedns'))).mode & 0o777).toBe(0o755);
    expect(await readdir(join(dir, 'run', 'oedns'))).toEqual(['control.sock']);
  });

  it('gives the socket the group passed as gid', async () => {
    const gid = process.getgid?.() ?? 0;
    const server = await open({ gid });
    expect((await lstat(server.path)).gid).toBe(gid);
  });

  it('replaces a stale socket (nothing listening: ECONNREFUSED)', async () => {
    const path = join(dir, 'control.sock');
    const old = createServer();
    await new Promise<void>((resolve) => old.listen(join(dir, 'old.sock'), resolve));
    await link(join(dir, 'old.sock'), path);
    await new Promise((resolve) => old.close(resolve));
    await expect(pingControl(path)).rejects.toThrow(/nothing listens/);
    const { log, lines } = logLines();
    const server = await open({ path, log });
    expect(await pingControl(path)).toBe(process.pid);
    expect(server.listening).toBe(true);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'control socket listening' }));
  });

  it('refuses a live socket: explicit is an error naming the other oedns, default path a warning', async () => {
    const first = await open();
    await expect(open()).rejects.toThrow(ControlSocketError);
    await expect(open()).rejects.toThrow(/another oedns is running: its control socket .*control\.sock answers/);
    const { log, lines } = logLines();
    const second = await open({ explicit: false, log });
    expect(second.listening).toBe(false);
    expect(lines).toContainEqual(expect.objectContaining({ level: 40, msg: 'control socket not opened; oedns status will not reach this process' }));
    await second.close();
    expect(await pingControl(first.path)).toBe(process.pid);
  });

  it('refuses to replace a file that is not a socket', async () => {
    const path = join(dir, 'control.sock');
    await writeFile(path, 'keep me');
    await expect(open({ path })).rejects.toThrow(/exists and is not a socket/);
    expect((await lstat(path)).isFile()).toBe(true);
  });

  it('refuses a path too long for a UNIX socket, and one whose directory cannot be made', async () => {
    await expect(open({ path: join(dir, 'x'.repeat(120)) })).rejects.toThrow(/too long for a UNIX socket/);
    await writeFile(join(dir, 'file'), '');
    await expect(open({ path: join(dir, 'file', 'sub', 'control.sock') })).rejects.toThrow(/cannot create the control socket's directory/);
    expect((await open({ path: join(dir, 'file', 'control.sock'), explicit: false })).listening).toBe(false);
  });

  it('removes its socket file on close, but not a file someone put there since', async () => {
    const server = await open();
    await server.close();
    await expect(lstat(server.path)).rejects.toMatchObject({ code: 'ENOENT' });
    const other = await open();
    await rename(other.path, join(dir, 'moved.sock'));
    await writeFile(other.path, 'not ours');
    await other.close();
    expect((await lstat(other.path)).isFile()).toBe(true);
  });

  it.runIf(process.getuid?.() === 0)('lets only the owner and the socket group connect (checked as nobody)', async () => {
    await chmod(dir, 0o755);
    const asNobody = async (path: string): Promise<string> => {
      const script = `const s=require('net').connect(process.argv[1]);s.on('connect',()=>s.write('ping\\n'));` +
        `s.on('data',(d)=>process.stdout.write(d));s.on('error',(e)=>process.stdout.write(e.code))`;
      const { stdout } = await promisify(execFile)(process.execPath, ['-e', script, path], { uid: 65534, gid: 65534 });
      return stdout;
    };
    const closed = await open({ path: join(dir, 'a', 'control.sock') });
    expect(await asNobody(closed.path)).toBe('EACCES');
    const grouped = await open({ path: join(dir, 'b', 'control.sock'), gid: 65534 });
    expect(JSON.parse(await asNobody(grouped.path))).toMatchObject({ ok: true, pong: true });
  });
});

describe('oedns status (runStatus)', () => {
  const run = async (path: string, json = false) => {
    const out: string[] = [];
    const err: string[] = [];
    const status = await runStatus({ path, json, write: (l) => out.push(l), writeError: (l) => err.push(l) });
    return { status, out, err };
  };

  it('prints the table, or the JSON report with --json', async () => {
    const server = await open();
    const table = await run(server.path);
    expect(table.status).toBe(0);
    expect(table.out.join('\n')).toMatch(/^alice\.lab\.example\.\/A +\* +192\.0\.2\.10 +any +require +dry-run +2025-01-01T12:05:00Z \(in 5m 00s\)$/m);
    const json = await run(server.path, true);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.out.join('\n'))).toEqual(REPORT);
  });

  it('exits 1 with "is oedns running?" when no control socket is there', async () => {
    const path = join(dir, 'none', 'control.sock');
    expect(await run(path)).toEqual({ status: 1, out: [], err: [`oedns: is oedns running? no control socket at ${path}`] });
  });

  it('exits 1 when the socket answers something that is not oedns', async () => {
    const path = join(dir, 'other.sock');
    const impostor = createServer((s) => s.resume().end('220 smtp ready\r\n'));
    await new Promise<void>((resolve) => impostor.listen(path, resolve));
    try {
      const result = await run(path);
      expect(result.status).toBe(1);
      expect(result.err[0]).toMatch(/not JSON/);
    } finally {
      await new Promise((resolve) => impostor.close(resolve));
    }
  });
});

it('keeps the parent directory mode of an existing directory', async () => {
  const parent = join(dir, 'existing');
  await mkdir(parent, { mode: 0o750 });
  await chmod(parent, 0o750);
  await open({ path: join(parent, 'control.sock') });
  expect((await stat(parent)).mode & 0o777).toBe(0o750);
});
