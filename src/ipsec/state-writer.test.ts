import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PolicySpec } from './backend.js';
import { policyKey } from './policy-key.js';
import { journalPath, prepareStateDir, readStateFile, statePath, StateFileError, type IpsecState, type StateEntry, type StateInFlight } from './state-file.js';
import { StateWriter, type CompactionBound } from './state-writer.js';

const NOW = 1_700_000_000_000;
const protect = (remote: string): PolicySpec => ({ family: 4, remote, selector: {}, action: { kind: 'protect', level: 'require', mode: 'transport' } });

/** A PolicyManager's books, reduced to what the writer reads, telling the writer of each change. */
function books(dir: string, bound?: CompactionBound) {
  const entries = new Map<string, StateEntry>();
  const inFlight = new Map<number, StateInFlight>();
  let clock = NOW;
  let snapshots = 0;
  let nextId = 0;
  const writer = new StateWriter(dir, {
    snapshot: (): IpsecState => {
      snapshots++;
      return { backend: 'xfrm', pid: 1, writtenAtMs: clock, entries: [...entries.values()], inFlight: [...inFlight].map(([id, b]) => ({ ...b, id })) };
    },
    entry: (key) => entries.get(key),
    nowMs: () => ++clock,
  }, bound);
  return {
    writer,
    snapshots: () => snapshots,
    begin(batch: StateInFlight): number {
      inFlight.set(++nextId, batch);
      writer.begin(nextId, batch);
      return nextId;
    },
    end(id: number): void {
      inFlight.delete(id);
      writer.end(id);
    },
    hold(spec: PolicySpec, owner: string): void {
      entries.set(policyKey(spec), { spec, owners: [[owner, NOW + 60_000]] });
      writer.touch(policyKey(spec), spec);
    },
    drop(spec: PolicySpec): void {
      entries.delete(policyKey(spec));
      writer.touch(policyKey(spec), spec);
    },
    /** What a reader after a crash would see, and what the books say. */
    async compare(): Promise<[unknown, unknown]> {
      const read = await readStateFile(dir);
      if (read.kind !== 'ok') throw new Error(`state ${read.kind}`);
      return [
        { entries: read.state.entries, inFlight: read.state.inFlight },
        JSON.parse(JSON.stringify({ entries: [...entries.values()], inFlight: [...inFlight].map(([id, b]) => ({ ...b, id })) })),
      ];
    },
  };
}

let dir: string;
beforeEach(async () => {
  dir = join(await mkdtemp(join(tmpdir(), 'oedns-writer-test-')), 'state');
});
afterEach(() => rm(join(dir, '..'), { recursive: true, force: true }));

const journalLines = async (): Promise<string[]> => (await readFile(journalPath(dir), 'utf8')).trim().split('\n');

describe('StateWriter (a snapshot, then one journal line per write)', () => {
  it('writes a snapshot first, then only what changed, and reads back as the books are', async () => {
    const b = books(dir);
    b.hold(protect('192.0.2.1'), 'a./A');
    await b.writer.save();
    expect(b.snapshots()).toBe(1);
    const id = b.begin({ owner: 'b./A', specs: [protect('192.0.2.2')] });
    await b.writer.saveCovering(id);
    b.hold(protect('192.0.2.2'), 'b./A');
    b.end(id);
    await b.writer.save();
    b.drop(protect('192.0.2.1'));
    await b.writer.save();
    expect(b.snapshots()).toBe(1);
    // The header, then three lines: the intent, its outcome, the release. The first entry is in none of the two before its release.
    const lines = await journalLines();
    expect(lines).toHaveLength(4);
    expect(lines[1]).not.toContain('192.0.2.1');
    expect(lines[2]).not.toContain('192.0.2.1');
    const [read, held] = await b.compare();
    expect(read).toEqual(held);
  });

  it('serves every request made during a write with one write after it', async () => {
    const b = books(dir);
    await b.writer.save();
    const first = (b.hold(protect('192.0.2.1'), 'a./A'), b.writer.save());
    const rest = Array.from({ length: 20 }, (_, i) => (b.hold(protect(`192.0.2.${i + 10}`), 'a./A'), b.writer.save()));
    await Promise.all([first, ...rest]);
    expect(await journalLines()).toHaveLength(3);
    const [read, held] = await b.compare();
    expect(read).toEqual(held);
  });

  it('lets a batch wait for a running write that already holds its intent, and writes none for one that ended unseen', async () => {
    const b = books(dir);
    await b.writer.save();
    const id = b.begin({ specs: [protect('192.0.2.1')] });
    const running = b.writer.save();
    await b.writer.saveCovering(id);
    await running;
    await b.writer.saveCovering(id);
    expect(await journalLines()).toHaveLength(2);
    // Begun and ended between two writes: no line names it.
    b.end(b.begin({ specs: [protect('192.0.2.2')] }));
    b.end(id);
    await b.writer.save();
    const lines = await journalLines();
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[2]!)).toEqual({ atMs: expect.any(Number), end: [1] });
  });

  it('compacts into a snapshot once the journal passes its bound, starting the journal over', async () => {
    const b = books(dir, { minLines: 3, entriesFactor: 1, maxBytes: 1 << 20 });
    await b.writer.save();
    for (let i = 1; i <= 4; i++) {
      b.hold(protect(`192.0.2.${i}`), `h${i}./A`);
      await b.writer.save();
    }
    // A snapshot of nothing (bound: 3 lines), 3 lines, then the fourth write is a snapshot again.
    expect(b.snapshots()).toBe(2);
    expect(await journalLines()).toHaveLength(1);
    const header = JSON.parse((await journalLines())[0]!) as { journal: string };
    expect(JSON.parse(await readFile(statePath(dir), 'utf8')).journal).toBe(header.journal);
    const [read, held] = await b.compare();
    expect(read).toEqual(held);
  });

  it('writes a snapshot after a failed write, so nothing the failed one held is lost', async () => {
    const b = books(dir);
    await b.writer.save();
    await rm(journalPath(dir));
    b.hold(protect('192.0.2.1'), 'a./A');
    await expect(b.writer.save()).rejects.toThrow(/cannot write .*ipsec-state\.journal/);
    b.hold(protect('192.0.2.2'), 'b./A');
    await b.writer.save();
    expect(b.snapshots()).toBe(2);
    const [read, held] = await b.compare();
    expect(read).toEqual(held);
  });

  it('rejects when the directory cannot be used, and idle() waits without throwing', async () => {
    await prepareStateDir(dir);
    await writeFile(join(dir, 'a-file'), '');
    const b = books(join(dir, 'a-file', 'state'));
    await expect(b.writer.saveCovering(b.begin({ specs: [] }))).rejects.toThrow(StateFileError);
    void b.writer.save().catch(() => undefined);
    await b.writer.idle();
  });
});
