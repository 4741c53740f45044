/**
 * A deadline as an AbortSignal, with explicit disposal. Node 20's AbortSignal.any() keeps every
 * dependent signal registered on a long-lived parent until garbage collection, and
 * AbortSignal.timeout() keeps its timer for the whole period; at tens of thousands of queries a
 * second both cost memory and time. This one clears its timer and parent listener when done.
 */
export interface Deadline {
  readonly signal: AbortSignal;
  dispose(): void;
}

export function deadline(parent: AbortSignal, timeoutMs: number, what: string): Deadline {
  const controller = new AbortController();
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { signal: controller.signal, dispose: () => undefined };
  }
  const onParentAbort = (): void => controller.abort(parent.reason);
  parent.addEventListener('abort', onParentAbort, { once: true });
  const timer = setTimeout(() => controller.abort(new Error(`${what} timed out after ${timeoutMs} ms`)), timeoutMs);
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      parent.removeEventListener('abort', onParentAbort);
    },
  };
}
