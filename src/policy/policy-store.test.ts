import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRootLogger, type Logger } from '../core/log.js';
import { PolicyError } from './errors.js';
import { loadPolicyDir } from './policy-dir.js';
import { PolicyStore } from './policy-store.js';
import { EMPTY_POLICY_SET, type PolicySet } from './rule.js';

let dir: string;
let logLines: Record<string, unknown>[];
let log: Logger;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'oedns-policies-'));
  logLines = [];
  log = createRootLogger('info', { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) }).child({ mod: 'policy' });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const USE = 'rules:\n  - action: use\n';
const REQUIRE = 'rules:\n  - action: require\n';

describe('loading a directory', () => {
  it('loads *.yaml and *.yml in lexical order, skipping examples, hidden files and other names', async () => {
    for (const [name, text] of [['b.yml', REQUIRE], ['a.yaml', USE], ['B.yaml', USE], ['strict.example.yaml', 'not: [valid'], ['.a.yaml.swp', 'x'], ['.hidden.yaml', 'x'], ['notes.txt', 'x']]) {
      writeFileSync(join(dir, name ?? ''), text ?? '');
    }
    const set = await loadPolicyDir(dir);
    expect(set.files).toEqual(['B.yaml', 'a.yaml', 'b.yml'].map((f) => join(dir, f)));
  });

  it('names a missing directory', async () => {
    await expect(loadPolicyDir(join(dir, 'nope'))).rejects.toThrow(new RegExp(`^${join(dir, 'nope')}: cannot read the policy directory: ENOENT`));
  });
});

describe('PolicyStore', () => {
  it('fails to open on a broken set (a startup error)', async () => {
    writeFileSync(join(dir, 'a.yaml'), 'rules:\n  - action: maybe\n');
    await expect(PolicyStore.open({ dir, log })).rejects.toBeInstanceOf(PolicyError);
  });

  it('keeps the previous set when a reload fails, and logs why', async () => {
    writeFileSync(join(dir, 'a.yaml'), USE);
    const store = await PolicyStore.open({ dir, log });
    const before = store.current;
    writeFileSync(join(dir, 'a.yaml'), 'rules:\n  - action: use\n    networks: 10.0.0.1/8\n');
    const result = await store.reload();
    expect(result.ok).toBe(false);
    expect(store.current).toBe(before);
    expect(logLines.at(-1)).toMatchObject({
      level: 50, mod: 'policy', code: 'ERR_POLICY', msg: 'policy reload failed; keeping the previous policies',
      issues: [`${join(dir, 'a.yaml')}:3:15: bad CIDR in "networks": "10.0.0.1/8" has host bits set (did you mean 10.0.0.0/8?)`],
    });
  });

  it('keeps the previous set when the directory disappears', async () => {
    writeFileSync(join(dir, 'a.yaml'), USE);
    const store = await PolicyStore.open({ dir, log });
    rmSync(dir, { recursive: true });
    expect((await store.reload()).ok).toBe(false);
    expect(store.current.rules).toHaveLength(1);
  });

  it('swaps in a good set, tells subscribers, and logs a summary', async () => {
    writeFileSync(join(dir, 'a.yaml'), USE);
    const store = await PolicyStore.open({ dir, log });
    const seen: PolicySet[] = [];
    store.onChange((set) => seen.push(set));
    writeFileSync(join(dir, 'b.yaml'), REQUIRE);
    const result = await store.reload();
    expect(result).toMatchObject({ ok: true, summary: { files: 2, rules: 2, actions: { use: 1, require: 1 } } });
    expect(seen).toEqual([store.current]);
    expect(logLines.at(-1)).toMatchObject({ level: 30, msg: 'policies reloaded', files: 2, rules: 2 });
  });

  it('runs one reload at a time and folds the calls that arrive meanwhile into one more', async () => {
    const releases: (() => void)[] = [];
    let loads = 0;
    const load = async (): Promise<PolicySet> => {
      loads += 1;
      if (loads > 1) await new Promise<void>((resolve) => releases.push(resolve));
      return EMPTY_POLICY_SET;
    };
    const store = await PolicyStore.open({ dir, log, load });
    const first = store.reload();
    const second = store.reload();
    const third = store.reload();
    expect(second).toBe(third);
    releases.shift()?.();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    releases.shift()?.();
    await second;
    expect(loads).toBe(3);
  });

  it('reloads once after a burst of changes in the watched directory', async () => {
    writeFileSync(join(dir, 'a.yaml'), USE);
    let loads = 0;
    const store = await PolicyStore.open({ dir, log, load: (d) => { loads += 1; return loadPolicyDir(d); } });
    const changed = new Promise<PolicySet>((resolve) => store.onChange(resolve));
    store.watch(100);
    writeFileSync(join(dir, 'b.yaml'), REQUIRE);
    writeFileSync(join(dir, 'c.yaml'), REQUIRE);
    writeFileSync(join(dir, 'notes.txt'), 'ignored');
    const set = await changed;
    store.close();
    expect(set.rules.map((r) => r.action)).toEqual(['use', 'require', 'require']);
    expect(loads).toBe(2);
  });
});
