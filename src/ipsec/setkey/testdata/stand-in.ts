/**
 * Test helper: writes stand-in `setkey` and `racoonctl` executables (small sh wrappers around
 * fake-tool.mjs) into a fresh directory, and reads back what they were asked to do.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FAKE_TOOL = join(import.meta.dirname, 'fake-tool.mjs');

export interface StandInRule {
  readonly tool: 'setkey' | 'racoonctl';
  /** Regular expression tested against a setkey statement, or racoonctl's joined argv. */
  readonly match: string;
  readonly stdout?: string;
  readonly stderr?: string;
  readonly exitCode?: number;
}

export interface StandInCall {
  readonly tool: 'setkey' | 'racoonctl';
  readonly args: readonly string[];
  readonly stdin: string;
  readonly exitCode: number;
  readonly files?: readonly string[];
}

export interface StandIns {
  readonly dir: string;
  readonly setkeyPath: string;
  readonly racoonctlPath: string;
  control(rules: readonly StandInRule[], peerDir?: string): void;
  calls(): StandInCall[];
  /** The simulated SPD: `src dst upperspec -P dir` selectors with their policy. */
  spd(): { selector: string; policy: string }[];
}

export function makeStandIns(): StandIns {
  const dir = mkdtempSync(join(tmpdir(), 'oedns-setkey-'));
  const wrapper = (tool: string): string => {
    const path = join(dir, tool);
    writeFileSync(path, `#!/bin/sh\nexec '${process.execPath}' '${FAKE_TOOL}' '${dir}' ${tool} "$@"\n`);
    chmodSync(path, 0o755);
    return path;
  };
  const json = <T>(name: string, fallback: T): T => (existsSync(join(dir, name)) ? (JSON.parse(readFileSync(join(dir, name), 'utf8')) as T) : fallback);
  return {
    dir,
    setkeyPath: wrapper('setkey'),
    racoonctlPath: wrapper('racoonctl'),
    control: (rules, peerDir) => writeFileSync(join(dir, 'control.json'), JSON.stringify({ rules, peerDir })),
    calls: () => (existsSync(join(dir, 'calls.jsonl')) ? readFileSync(join(dir, 'calls.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as StandInCall) : []),
    spd: () => json('spd.json', []),
  };
}
