/**
 * Lifecycle of the lab servers tests start (BIND's named in bind-lab.ts, Unbound in unbound.ts):
 * each runs from a temp directory it owns, is stopped by its PID, and its directory goes with it.
 * Set OEDNS_KEEP_LAB=1 to keep the directories (configs, zones, logs).
 */
import { rm } from 'node:fs/promises';
import type { ResultPromise } from 'execa';

/** Stops a child by its PID (SIGTERM; execa sends SIGKILL after forceKillAfterDelay, 5 s) and waits for it. */
export async function stopChild(child: ResultPromise): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await child;
}

/** Removes a lab's temp directory, unless OEDNS_KEEP_LAB=1; `owner` names the lab in the note. */
export async function removeLabDir(dir: string, owner: string): Promise<void> {
  if (process.env['OEDNS_KEEP_LAB'] === '1') {
    process.stderr.write(`${owner}: kept ${dir}\n`);
    return;
  }
  await rm(dir, { recursive: true, force: true });
}

/** Runs `action` on the first call only; every call gets its promise, so stop() may be called twice. */
export function once(action: () => Promise<void>): () => Promise<void> {
  let pending: Promise<void> | undefined;
  return () => (pending ??= action());
}
