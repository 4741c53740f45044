import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PolicySpec } from './backend.js';
import {
  decodeState, encodeState, JOURNAL_FILE_NAME, journalPath, moveStateAside, prepareStateDir, readStateFile, STATE_FILE_NAME, StateFileError,
  statePath, writeStateFile, type IpsecState,
} from './state-file.js';
import { encodeGroup, startJournal } from './state-journal.js';

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
    ['an unknown version', { version: 3 }, /unknown version 3/],
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

  it('still reads a version 1 file (no journal, in-flight batches without a number)', () => {
    const text = JSON.stringify({ ...JSON.parse(encodeState(state)), version: 1 });
    expect(decodeState(text)).toEqual(JSON.parse(JSON.stringify(state)));
  });

  it('keeps the name of a backend this build does not know', () => {
    const text = JSON.stringify({ ...JSON.parse(encodeState(state)), backend: 'libreswan' });
    expect(decodeState(text).backend).toBe('libreswan');
  });

  it('moves a file aside under a name that says why, and its journal with it', async () => {
    await prepareStateDir(dir);
    await writeStateFile(dir, state);
    const aside = await moveStateAside(dir, 'corrupt', NOW);
    expect(aside).toBe(`${statePath(dir)}.corrupt-${NOW}`);
    expect(await readStateFile(dir)).toEqual({ kind: 'missing' });
    expect(JSON.parse(await readFile(aside, 'utf8')).pid).toBe(42);
    await writeStateFile(dir, state, 'j1');
    await startJournal(dir, 'j1');
    await moveStateAside(dir, 'vici', NOW);
    expect((await readdir(dir)).sort()).toEqual([`${JOURNAL_FILE_NAME}.vici-${NOW}`, `${STATE_FILE_NAME}.corrupt-${NOW}`, `${STATE_FILE_NAME}.vici-${NOW}`]);
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

describe('the IPsec state file with its journal', () => {
  const later: IpsecState['entries'][number] = { spec: nd, owners: [['bob.example./AAAA', NOW + 60_000]] };

  it('reads the snapshot and replays the journal that continues it', async () => {
    await prepareStateDir(dir);
    await writeStateFile(dir, { ...state, inFlight: [{ id: 7, owner: 'bob.example./AAAA', specs: [nd] }] }, 'j1');
    await startJournal(dir, 'j1');
    await writeFile(journalPath(dir), encodeGroup({ atMs: NOW + 5, begin: [], end: [7], set: [later], gone: [spec] }), { flag: 'a' });
    const read = await readStateFile(dir);
    expect(read).toEqual({ kind: 'ok', state: { ...state, writtenAtMs: NOW + 5, entries: [later], inFlight: [] }, journal: { groups: 1, tornLine: false, stale: false } });
    expect((await stat(journalPath(dir))).mode & 0o777).toBe(0o600);
  });

  it('ignores a journal left from an older snapshot (the process died compacting)', async () => {
    await prepareStateDir(dir);
    await writeStateFile(dir, state, 'new');
    await writeFile(journalPath(dir), `{"journal":"old"}\n${encodeGroup({ atMs: NOW, begin: [], end: [], set: [], gone: [spec] })}`);
    expect(await readStateFile(dir)).toEqual({ kind: 'ok', state: JSON.parse(JSON.stringify(state)), journal: { groups: 0, tornLine: false, stale: true } });
  });

  it('reports a corrupt snapshot as corrupt, whatever its journal says', async () => {
    await prepareStateDir(dir);
    await writeFile(statePath(dir), encodeState(state, 'j1').slice(0, 60));
    await startJournal(dir, 'j1');
    expect(await readStateFile(dir)).toEqual({ kind: 'corrupt', reason: expect.stringMatching(/^not JSON/) });
  });

  it('reports a journal damaged before its last line as corrupt, naming the line', async () => {
    await prepareStateDir(dir);
    await writeStateFile(dir, state, 'j1');
    const line = encodeGroup({ atMs: NOW, begin: [], end: [], set: [later], gone: [] });
    await writeFile(journalPath(dir), `{"journal":"j1"}\n${line.slice(0, 30)}\n${line}`);
    expect(await readStateFile(dir)).toEqual({ kind: 'corrupt', reason: 'journal line 2 is not JSON' });
  });
});
