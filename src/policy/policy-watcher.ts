/**
 * Watches a policy directory and calls back once things have been quiet for `debounceMs`: an
 * editor's save (temporary file, rename, chmod) or a `cp -r` becomes one reload, not ten.
 * Only names that would be loaded count (not hidden files, examples or other extensions). A directory replaced as a whole (a symlink swap)
 * is not seen: SIGHUP covers that.
 */
import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from '../core/log.js';
import { isPolicyFileName } from './policy-dir.js';

/** Long enough to cover an editor's write-rename-chmod, short enough to feel immediate. */
export const DEFAULT_DEBOUNCE_MS = 250;

function relevant(filename: string | null): boolean {
  return filename === null || isPolicyFileName(filename);
}

export class PolicyWatcher {
  private readonly watcher: FSWatcher;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(dir: string, private readonly onSettled: () => void, log: Logger, private readonly debounceMs = DEFAULT_DEBOUNCE_MS) {
    this.watcher = watch(dir, { persistent: false }, (_event, filename) => {
      if (relevant(filename)) this.poke();
    });
    this.watcher.on('error', (error) => {
      log.warn({ dir, err: error }, 'policy directory watch stopped; reload with SIGHUP');
      this.close();
    });
  }

  private poke(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closed) this.onSettled();
    }, this.debounceMs);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.watcher.close();
  }
}
