/**
 * Work several callers wait on: an upstream query merged with identical ones in flight, a key
 * RRset validated once for A and AAAA. The work runs under an AbortController of its own; each
 * caller waits under its own signal and, when that aborts, stops waiting alone. The work itself is
 * aborted only when the last caller has left, so one client giving up (a timeout, a tunnel whose
 * client hung up) never fails the others that joined it.
 */
interface Entry<T> {
  readonly controller: AbortController;
  promise: Promise<T>;
  waiters: number;
}

export class SharedWork<T> {
  private readonly entries = new Map<string, Entry<T>>();

  /** Pieces of work running now. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Waits for the work under `key`, starting it with `start` when none is running (`onMerge` is
   * told when an existing one is joined). Rejects with the signal's reason when it aborts first.
   */
  join(key: string, signal: AbortSignal, start: (signal: AbortSignal) => Promise<T>, onMerge?: () => void): Promise<T> {
    if (signal.aborted) return Promise.reject(signal.reason);
    let entry = this.entries.get(key);
    if (entry) {
      onMerge?.();
    } else {
      const created: Entry<T> = { controller: new AbortController(), promise: Promise.resolve(undefined as T), waiters: 0 };
      created.promise = Promise.resolve()
        .then(() => start(created.controller.signal))
        .finally(() => this.forget(key, created));
      // Every waiter may have left: the outcome then has nobody to reach.
      created.promise.catch(() => undefined);
      this.entries.set(key, created);
      entry = created;
    }
    return this.wait(key, entry, signal);
  }

  private wait(key: string, entry: Entry<T>, signal: AbortSignal): Promise<T> {
    entry.waiters += 1;
    return new Promise<T>((resolve, reject) => {
      let waiting = true;
      const leave = (): void => {
        waiting = false;
        signal.removeEventListener('abort', onAbort);
        entry.waiters -= 1;
      };
      const onAbort = (): void => {
        if (!waiting) return;
        leave();
        if (entry.waiters === 0) {
          this.forget(key, entry);
          entry.controller.abort(signal.reason);
        }
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      entry.promise.then(
        (value) => { if (waiting) { leave(); resolve(value); } },
        (error: unknown) => { if (waiting) { leave(); reject(error); } },
      );
    });
  }

  private forget(key: string, entry: Entry<T>): void {
    if (this.entries.get(key) === entry) this.entries.delete(key);
  }
}
