/**
 * The helper and its client over a real UNIX socket in a temporary directory, with the dry-run
 * backend (nothing reaches the kernel). Hostile input is written raw to the socket.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackendError } from '../../core/errors.js';
import type { InstalledPolicy, IpsecBackend, PolicyChange, PolicySpec } from '../backend.js';
import { DryRunBackend } from '../dry-run.js';
import { encodeChange, MAX_CHANGES_PER_BATCH, MAX_LINE_BYTES } from './grammar.js';
import { HelperBackend, HelperReplyError } from './helper-backend.js';
import { HELPER_SOCKET_MODE, HelperServer } from './helper-server.js';

const log = pino({ level: 'silent' });
const signal = (): AbortSignal => AbortSignal.timeout(10_000);
const keyPem = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string;

const spec = (n: number, extra: Partial<PolicySpec> = {}): PolicySpec => ({
  family: 4, local: '10.9.0.1', remote: `10.9.${Math.floor(n / 250)}.${(n % 250) + 2}`, selector: {},
  action: { kind: 'protect', level: 'require', mode: 'transport' }, peer: { identity: `host${n}.lab.example.`, publicKeyPem: keyPem }, ...extra,
});
const add = (policy: PolicySpec): PolicyChange => ({ op: 'add', policy });
const remove = (policy: PolicySpec): PolicyChange => ({ op: 'remove', policy });

/** Writes raw text and collects what the helper answers until it closes or `lines` lines came. */
function raw(path: string, text: string | Buffer, lines = Infinity): Promise<{ lines: string[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let received = '';
    const done = (closed: boolean): void => {
      socket.destroy();
      resolve({ lines: received.split('\n').filter((l) => l !== ''), closed });
    };
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (received.split('\n').length - 1 >= lines) done(false);
    });
    socket.on('close', () => done(true));
    socket.on('error', reject);
    socket.write(text);
  });
}

/** A backend whose apply() waits until release() is called, then applies to `inner`. */
function gated(inner: IpsecBackend): { slow: IpsecBackend; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => { release = resolve; });
  const slow: IpsecBackend = {
    name: 'xfrm',
    apply: async (changes, s) => { await gate; await inner.apply(changes, s); },
    list: (s) => inner.list(s),
    removeAll: (s) => inner.removeAll(s),
  };
  return { slow, release };
}

describe('the IPsec helper with the dry-run backend over a UNIX socket', () => {
  let dir: string;
  let path: string;
  let backend: DryRunBackend;
  let server: HelperServer;
  let client: HelperBackend;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oedns-helper-'));
    path = join(dir, 'helper.sock');
    backend = new DryRunBackend();
    server = await HelperServer.listen({ socketPath: path, backend, log });
    client = new HelperBackend({ socketPath: path, log });
  });
  afterEach(async () => {
    await client.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies, lists and removes policies for a HelperBackend, learning the backend name at HELLO', async () => {
    expect(client.name).toBe('helper');
    await client.connect(signal());
    expect(client.name).toBe(backend.name);
    await client.apply([add(spec(1)), add(spec(2, { selector: { protocol: 6, ports: [{ first: 443, last: 443 }] } }))], signal());
    expect(backend.applied.map((c) => c.policy.remote)).toEqual(['10.9.0.3', '10.9.0.4']);
    expect(backend.applied[0]?.policy).toEqual(spec(1));

    const listed = await client.list(signal());
    expect(listed).toHaveLength(2);
    expect(listed[0]).toMatchObject({ remote: '10.9.0.3', backend: 'xfrm', peer: { identity: 'host1.lab.example.' } });

    await client.apply([remove(spec(1))], signal());
    expect(await client.list(signal())).toHaveLength(1);
    await client.removeAll(signal());
    expect(await client.list(signal())).toEqual([]);
  });

  it('creates its socket with mode 0660', async () => {
    expect((await stat(path)).mode & 0o777).toBe(HELPER_SOCKET_MODE);
  });

  it.skipIf(process.getuid?.() !== 0)('gives the socket to the --group group (root only)', async () => {
    const other = join(dir, 'grouped.sock');
    const grouped = await HelperServer.listen({ socketPath: other, backend, log, gid: 65534 });
    expect((await stat(other)).gid).toBe(65534);
    await grouped.close();
  });

  it('refuses a whole batch when one line is bad: nothing applied, the connection stays', async () => {
    const good = encodeChange(add(spec(1)));
    const bad = good.replace('identity=host1.lab.example.', 'identity=host1;reboot');
    const reply = await raw(path, `HELLO 1\nAPPLY 2\n${good}\n${bad}\nLIST\n`, 3);
    expect(reply.lines[0]).toBe('OK 1 xfrm');
    expect(reply.lines[1]).toMatch(/^ERR ERR_IPSEC_HELPER_GRAMMAR batch line 2 of 2: identity "host1;reboot" is not a lowercase host name$/);
    expect(reply.lines[2]).toBe('OK 0');
    expect(backend.applied).toEqual([]);
  });

  it('a newline smuggled into an identity splits the line, and both halves are refused', async () => {
    const line = encodeChange(add(spec(1))).replace('identity=host1.lab.example.', 'identity=host1.lab.example.\nREMOVE-ALL');
    const reply = await raw(path, `HELLO 1\nAPPLY 1\n${line}\n`);
    expect(reply.lines).toEqual([
      'OK 1 xfrm',
      'ERR ERR_IPSEC_HELPER_GRAMMAR batch line 1 of 1: identity and key come together',
      'ERR ERR_IPSEC_HELPER_GRAMMAR REMOVE-ALL takes no arguments',
    ]);
    expect(reply.closed).toBe(true);
    expect(backend.applied).toEqual([]);
  });

  it('answers ERR and closes on an oversized line, a control byte or an unknown request', async () => {
    await client.apply([add(spec(1))], signal());
    const long = await raw(path, `HELLO 1\nAPPLY 1\nADD family=4 remote=10.0.0.2 action=pass ${'x'.repeat(MAX_LINE_BYTES)}\n`);
    expect(long.lines.at(-1)).toMatch(/^ERR ERR_IPSEC_HELPER_GRAMMAR line longer than 16384 bytes$/);
    expect(long.closed).toBe(true);
    const nul = await raw(path, 'HELLO 1\nREMOVE-ALL\0\n');
    expect(nul.lines).toEqual(['OK 1 xfrm', 'ERR ERR_IPSEC_HELPER_GRAMMAR line has a byte outside printable ASCII']);
    const unknown = await raw(path, 'HELLO 1\nFLUSH\n');
    expect(unknown.lines).toEqual(['OK 1 xfrm', 'ERR ERR_IPSEC_HELPER_GRAMMAR unknown request "FLUSH"']);
    expect(backend.applied).toHaveLength(1);
    expect(await client.list(signal())).toHaveLength(1);
  });

  it('wants HELLO first, in its own version', async () => {
    expect((await raw(path, 'REMOVE-ALL\n')).lines).toEqual(['ERR ERR_IPSEC_HELPER_GRAMMAR the first request is HELLO']);
    expect((await raw(path, 'HELLO 2\nREMOVE-ALL\n')).lines).toEqual(['ERR ERR_IPSEC_HELPER_GRAMMAR protocol version 2 is not 1']);
  });

  it('drops a batch whose client went away before its last line', async () => {
    const reply = await raw(path, `HELLO 1\nAPPLY 2\n${encodeChange(add(spec(1)))}\n`, 1);
    expect(reply.lines).toEqual(['OK 1 xfrm']);
    expect(await client.list(signal())).toEqual([]);
    expect(backend.applied).toEqual([]);
  });

  it('reports a backend failure as ERR ERR_IPSEC_BACKEND and carries on', async () => {
    backend.failWhen = (c) => c.policy.remote === '10.9.0.4';
    const failed = await client.apply([add(spec(2))], signal()).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(HelperReplyError);
    expect(failed).toBeInstanceOf(BackendError);
    expect((failed as HelperReplyError).helperCode).toBe('ERR_IPSEC_BACKEND');
    expect((failed as Error).message).toMatch(/refused apply: ERR_IPSEC_BACKEND: dry-run: refused add 10\.9\.0\.4/);
    await client.apply([add(spec(1))], signal());
    expect(await client.list(signal())).toHaveLength(1);
  });

  it('refuses a bad spec on the resolver side before sending anything', async () => {
    const evil = spec(1, { peer: { identity: 'a.example\nREMOVE-ALL', publicKeyPem: keyPem } });
    await expect(client.apply([add(spec(2)), add(evil)], signal())).rejects.toThrow(/refused before sending: identity/);
    expect(backend.applied).toEqual([]);
    expect(server.connections).toBe(0);
  });

  it('splits a batch longer than the helper takes, keeping a remove and its re-add together', async () => {
    const batches: PolicyChange[][] = [];
    const counting: IpsecBackend = { name: 'xfrm', apply: async (changes) => { batches.push([...changes]); }, list: async () => [], removeAll: async () => undefined };
    const countingPath = join(dir, 'counting.sock');
    const countingServer = await HelperServer.listen({ socketPath: countingPath, backend: counting, log });
    const countingClient = new HelperBackend({ socketPath: countingPath });
    const specs = Array.from({ length: MAX_CHANGES_PER_BATCH + 10 }, (_, i) => spec(i, { peer: undefined }));
    const changes = specs.map(add);
    // The batch boundary would fall between the removal and the re-adding of one entry.
    changes.splice(MAX_CHANGES_PER_BATCH - 1, 0, remove(specs[MAX_CHANGES_PER_BATCH - 1]!));
    await countingClient.apply(changes, signal());
    expect(batches.map((b) => b.length)).toEqual([MAX_CHANGES_PER_BATCH - 1, 12]);
    expect(batches.flat()).toEqual(changes);
    await countingClient.close();
    await countingServer.close();
  });

  it('reconnects after the helper restarted, and fails cleanly while it is away', async () => {
    await client.apply([add(spec(1))], signal());
    await server.close();
    await expect(client.list(signal())).rejects.toThrow(BackendError);
    server = await HelperServer.listen({ socketPath: path, backend, log });
    expect(await client.list(signal())).toHaveLength(1);
  });

  it('an aborted request drops the connection; the helper still finishes the batch', async () => {
    const { slow, release } = gated(backend);
    const slowPath = join(dir, 'slow.sock');
    const slowServer = await HelperServer.listen({ socketPath: slowPath, backend: slow, log });
    const slowClient = new HelperBackend({ socketPath: slowPath });
    const controller = new AbortController();
    const pending = slowClient.apply([add(spec(1))], controller.signal).catch((e: unknown) => e);
    await expect.poll(() => slowServer.connections).toBe(1);
    expect(backend.applied).toEqual([]);
    controller.abort();
    expect(await pending).toBeInstanceOf(BackendError);
    release();
    await expect.poll(() => backend.applied.length).toBe(1);
    const listed: readonly InstalledPolicy[] = await slowClient.list(signal());
    expect(listed).toHaveLength(1);
    await slowClient.close();
    await slowServer.close();
  });

  it('on close finishes the backend call in progress and refuses the ones queued behind it', async () => {
    const { slow, release } = gated(backend);
    const logged: string[] = [];
    const capture = pino({ level: 'debug' }, { write: (line: string) => { logged.push(line); } });
    const slowPath = join(dir, 'slow.sock');
    const slowServer = await HelperServer.listen({ socketPath: slowPath, backend: slow, log: capture });
    const first = new HelperBackend({ socketPath: slowPath });
    const second = new HelperBackend({ socketPath: slowPath });
    const firstDone = first.apply([add(spec(1))], signal());
    const secondDone = second.apply([add(spec(2))], signal()).catch((e: unknown) => e);
    await expect.poll(() => logged.filter((l) => l.includes('"IPsec helper request queued"')).length).toBe(2);
    const closed = slowServer.close();
    release();
    await firstDone;
    const refused = await secondDone;
    expect(refused).toBeInstanceOf(HelperReplyError);
    expect((refused as HelperReplyError).helperCode).toBe('ERR_IPSEC_HELPER_STOPPING');
    await closed;
    expect(backend.applied.map((c) => c.policy.remote)).toEqual(['10.9.0.3']);
    await first.close();
    await second.close();
  });
});

describe('the helper socket path', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oedns-helper-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('replaces a stale socket, refuses a live one and never removes another file', async () => {
    const path = join(dir, 'helper.sock');
    const stale = createServer();
    await new Promise<void>((resolve) => stale.listen(path, resolve));
    const live = HelperServer.listen({ socketPath: path, backend: new DryRunBackend(), log });
    await expect(live).rejects.toMatchObject({ code: 'ERR_LISTEN', message: expect.stringMatching(/another process listens/) });
    // A server closed without removing its file leaves a stale socket behind.
    await new Promise<void>((resolve) => stale.close(() => resolve()));
    await writeFile(join(dir, 'keep'), 'x');
    const server = await HelperServer.listen({ socketPath: path, backend: new DryRunBackend(), log });
    await server.close();
    await expect(HelperServer.listen({ socketPath: join(dir, 'keep'), backend: new DryRunBackend(), log })).rejects.toThrow(/is not a socket/);
  });
});
