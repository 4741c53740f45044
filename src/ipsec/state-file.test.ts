import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PolicySpec } from './backend.js';
import {
  decodeState, encodeState, moveStateAside, prepareStateDir, readStateFile, STATE_FILE_NAME, StateFileError, statePath, StateWriter,
  writeStateFile, type IpsecState,
} from './state-file.js';

const NOW = 1_700_000_000_000;
const spec: PolicySpec = {
  family: 4, remote: '192.0.2.10', selector: {}, action: { kind: 'protect', level: 'require', mode: 'transport' },
  peer: { identity: 'alice.example.', publicKeyPem: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' },
};
const nd: PolicySpec = { family: 6, remote: '2001:db8::10', selector: { protocol: 58, ports: [{ first: 133, last: 136 }] }, action: { kind: 'pass' } };
const state: IpsecState = {
  backend: 'xfrm', pid: 42, writtenAtMs: NOW,
  entries: [{ spec, owners: [['alice.example./A', NOW + 300_000]] }],
  inFlight: [{ owner: 'bob.example./AAAA', specs: [nd] }, { specs: [spec] }],
};

let dir: string;
beforeEach(async () => {
  dir = join(await mkdtemp(join(tmpdir(), 'oedns-state-test-')), 'state');
});
afterEach(() => rm(join(dir, '..'), { recursive: true, force: true }));

describe('the IPsec state file', () => {
  it('creates its directory 0700 and the file 0600, and reads back what it wrote', async () => {
    expect(await prepareStateDir(dir)).toBeUndefined();
    await writeStateFile(dir, state);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(statePath(dir))).mode & 0o777).toBe(0o600);
    expect(await readStateFile(dir)).toEqual({ kind: 'ok', state: JSON.parse(JSON.stringify(state)) });
    // Only the file itself: the temp file was renamed over it.
    expect(await readdir(dir)).toEqual([STATE_FILE_NAME]);
  });

  it('replaces the whole file, keeping 0600 even over a temp file left with another mode', async () => {
    await prepareStateDir(dir);
    await writeFile(`${statePath(dir)}.tmp-${process.pid}`, 'half a file', { mode: 0o644 });
    await writeStateFile(dir, state);
    await writeStateFile(dir, { ...state, entries: [] });
    expect((await stat(statePath(dir))).mode & 0o777).toBe(0o600);
    const read = await readStateFile(dir);
    expect(read.kind === 'ok' && read.state.entries).toEqual([]);
  });

  it('reports a missing file as missing and a damaged one as corrupt, naming the field', async () => {
    await prepareStateDir(dir);
    expect(await readStateFile(dir)).toEqual({ kind: 'missing' });
    await writeFile(statePath(dir), encodeState(state).slice(0, 40));
    expect(await readStateFile(dir)).toEqual({ kind: 'corrupt', reason: expect.stringMatching(/^not JSON/) });
    const bad = JSON.parse(encodeState(state));
    bad.entries[0].spec.remote = '192.0.2.10; rm -rf /';
    await writeFile(statePath(dir), JSON.stringify(bad));
    expect(await readStateFile(dir)).toEqual({ kind: 'corrupt', reason: 'entries[0].spec.remote is not an IPv4 address' });
  });

  it.each([
    ['an unknown version', { version: 2 }, /unknown version 2/],
    ['a backend that is no name', { backend: '../x' }, /backend "\.\.\/x" is not a backend name/],
    ['owners that are not pairs', { entries: [{ spec, owners: [['a./A']] }] }, /entries\[0\]\.owners\[0\] is not \[owner, expiry ms\]/],
    ['an unknown action', { entries: [{ spec: { ...spec, action: { kind: 'encrypt-please' } }, owners: [] }] }, /entries\[0\]\.spec\.action\.kind is an unknown action "encrypt-please"/],
    ['a port out of range', { inFlight: [{ specs: [{ ...nd, selector: { protocol: 6, ports: [{ first: 1, last: 70000 }] } }] }] }, /inFlight\[0\]\.specs\[0\]\.selector\.ports\[0\]\.last is not an integer/],
    ['a family that is neither', { entries: [{ spec: { ...spec, family: 5 }, owners: [] }] }, /entries\[0\]\.spec\.family is not 4 or 6/],
  ])('refuses a state with %s (ERR_IPSEC_STATE)', (_what, change, message) => {
    const text = JSON.stringify({ ...JSON.parse(encodeState(state)), ...change });
    expect(() => decodeState(text)).toThrow(message);
    try {
      decodeState(text);
    } catch (error) {
      expect(error).toBeInstanceOf(StateFileError);
      expect((error as StateFileError).code).toBe('ERR_IPSEC_STATE');
    }
  });

  it('keeps the name of a backend this build does not know', () => {
    const text = JSON.stringify({ ...JSON.parse(encodeState(state)), backend: 'libreswan' });
    expect(decodeState(text).backend).toBe('libreswan');
  });

  it('moves a file aside under a name that says why', async () => {
    await prepareStateDir(dir);
    await writeStateFile(dir, state);
    const aside = await moveStateAside(dir, 'corrupt', NOW);
    expect(aside).toBe(`${statePath(dir)}.corrupt-${NOW}`);
    expect(await readStateFile(dir)).toEqual({ kind: 'missing' });
    expect(JSON.parse(await readFile(aside, 'utf8')).pid).toBe(42);
  });

  it('warns about a directory open to others and never changes its mode; refuses a file as directory', async () => {
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o755);
    expect(await prepareStateDir(dir)).toMatch(/accessible to group or others \(mode 755\)/);
    expect((await stat(dir)).mode & 0o777).toBe(0o755);
    const file = join(dir, 'plain');
    await writeFile(file, '');
    await expect(prepareStateDir(file)).rejects.toThrow(StateFileError);
    await expect(writeStateFile(join(dir, 'missing', 'deeper'), state)).rejects.toThrow(/cannot write .*ipsec-state\.json/);
  });
});

describe('StateWriter (coalesced writes)', () => {
  it('serves every request made during a write with one write after it', async () => {
    await prepareStateDir(dir);
    let snapshots = 0;
    const writer = new StateWriter(dir, () => ({ state: { ...state, writtenAtMs: ++snapshots }, generation: snapshots }));
    const first = writer.save();
    const rest = Array.from({ length: 20 }, () => writer.save());
    await Promise.all([first, ...rest]);
    expect(snapshots).toBe(2);
    const read = await readStateFile(dir);
    expect(read.kind === 'ok' && read.state.writtenAtMs).toBe(2);
  });

  it('lets a change wait for a running write that already holds its intent, and asks for one otherwise', async () => {
    await prepareStateDir(dir);
    let generation = 0;
    let snapshots = 0;
    const writer = new StateWriter(dir, () => {
      snapshots++;
      return { state, generation };
    });
    generation = 1;
    const running = writer.save();
    await writer.saveCovering(1);
    await running;
    expect(snapshots).toBe(1);
    await writer.saveCovering(1);
    expect(snapshots).toBe(1);
    generation = 2;
    await writer.saveCovering(2);
    expect(snapshots).toBe(2);
  });

  it('rejects when the write fails, and idle() waits without throwing', async () => {
    await prepareStateDir(dir);
    await writeFile(join(dir, 'a-file'), '');
    const writer = new StateWriter(join(dir, 'a-file', 'state'), () => ({ state, generation: 1 }));
    await expect(writer.saveCovering(1)).rejects.toThrow(StateFileError);
    void writer.save().catch(() => undefined);
    await writer.idle();
  });
});
