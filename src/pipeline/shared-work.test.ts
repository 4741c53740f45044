import { describe, expect, it } from 'vitest';
import { SharedWork } from './shared-work.js';

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

describe('SharedWork', () => {
  it('starts the work once for every caller that joins while it runs', async () => {
    const work = new SharedWork<string>();
    const gate = deferred<string>();
    let starts = 0;
    let merges = 0;
    const start = async (): Promise<string> => { starts += 1; return gate.promise; };
    const a = work.join('k', new AbortController().signal, start, () => { merges += 1; });
    const b = work.join('k', new AbortController().signal, start, () => { merges += 1; });
    gate.resolve('answer');
    await expect(Promise.all([a, b])).resolves.toEqual(['answer', 'answer']);
    expect({ starts, merges, size: work.size }).toEqual({ starts: 1, merges: 1, size: 0 });
  });

  it('lets one caller give up without failing the others or aborting the work', async () => {
    const work = new SharedWork<string>();
    const gate = deferred<string>();
    let workSignal: AbortSignal | undefined;
    const first = new AbortController();
    const a = work.join('k', first.signal, async (signal) => { workSignal = signal; return gate.promise; });
    const b = work.join('k', new AbortController().signal, async () => 'not started');
    first.abort(new Error('client left'));
    await expect(a).rejects.toThrow('client left');
    expect(workSignal?.aborted).toBe(false);
    gate.resolve('answer');
    await expect(b).resolves.toBe('answer');
  });

  it('aborts the work when the last caller leaves, and starts afresh for the next', async () => {
    const work = new SharedWork<string>();
    let workSignal: AbortSignal | undefined;
    const callers = [new AbortController(), new AbortController()];
    const waits = callers.map((c) => work.join('k', c.signal, (signal) => {
      workSignal = signal;
      return new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    }));
    for (const c of callers) c.abort(new Error('gone'));
    await Promise.all(waits.map((w) => expect(w).rejects.toThrow('gone')));
    expect(workSignal?.aborted).toBe(true);
    expect(work.size).toBe(0);
    await expect(work.join('k', new AbortController().signal, async () => 'fresh')).resolves.toBe('fresh');
  });

  it('rejects a caller whose signal is already aborted without starting anything', async () => {
    const work = new SharedWork<string>();
    let starts = 0;
    await expect(work.join('k', AbortSignal.abort(new Error('too late')), async () => { starts += 1; return 'x'; })).rejects.toThrow('too late');
    expect({ starts, size: work.size }).toEqual({ starts: 0, size: 0 });
  });

  it('hands a failure of the work to every caller', async () => {
    const work = new SharedWork<string>();
    const gate = deferred<string>();
    const a = work.join('k', new AbortController().signal, () => gate.promise);
    const b = work.join('k', new AbortController().signal, () => gate.promise);
    gate.reject(new Error('no upstream answered'));
    await expect(a).rejects.toThrow('no upstream answered');
    await expect(b).rejects.toThrow('no upstream answered');
  });
});
