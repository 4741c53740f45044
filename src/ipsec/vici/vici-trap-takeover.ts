/**
 * A trap-triggered negotiation the peer refused (AUTHENTICATION_FAILED: its oedns may be learning
 * this host's key) is taken over by an initiate after the first retry delay, once per conn per
 * cool-down, and only if the conn is still the one that was refused. charon 5.9 reports neither
 * the refusal nor the failure of a trap-triggered negotiation; the vici backend reads both from
 * charon's log (vici-log.ts) and the initiate reports its outcome like any other.
 */
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { PolicySpec } from '../backend.js';
import { pause } from './vici-initiate.js';

/** A trap-triggered negotiation of one conn is taken over by an initiate at most this often. */
export const TRAP_TAKEOVER_COOL_DOWN_MS = 30_000;

export interface TrapTakeoverOptions {
  /** The protect spec of an oedns conn, as loaded now (identity compared: a replaced conn is not taken over). */
  readonly loaded: (conn: string) => { readonly spec: PolicySpec } | undefined;
  /** Whether an initiate of the conn is running (its refusals are handled there). */
  readonly initiating: (conn: string) => boolean;
  /** Runs the initiate (serialised with the backend's other work). */
  readonly initiate: (conn: string, spec: PolicySpec) => Promise<void>;
  readonly delayMs: number;
  readonly signal: AbortSignal;
  readonly log: Logger;
  readonly nowMs?: () => number;
}

export class TrapTakeover {
  /** conn → when it was last taken over. */
  private readonly last = new Map<string, number>();
  private readonly nowMs: () => number;

  constructor(private readonly options: TrapTakeoverOptions) {
    this.nowMs = options.nowMs ?? (() => performance.now());
  }

  /** charon logged that the peer refused the negotiation of `conn` (an IKE_SA name). */
  refused(conn: string): void {
    const { options } = this;
    if (options.initiating(conn)) return;
    const loaded = options.loaded(conn);
    if (!loaded || loaded.spec.action.kind !== 'protect') return;
    const now = this.nowMs();
    for (const [name, at] of this.last) if (now - at >= TRAP_TAKEOVER_COOL_DOWN_MS) this.last.delete(name);
    if (this.last.has(conn)) return;
    this.last.set(conn, now);
    options.log.info({ conn, remote: loaded.spec.remote, retryInMs: options.delayMs }, 'vici: peer refused our authentication on a trap; initiating');
    void pause(options.delayMs, options.signal).then((go) => {
      // Still the same conn (not removed or replaced meanwhile)?
      if (!go || options.loaded(conn) !== loaded) return undefined;
      return options.initiate(conn, loaded.spec);
    }).catch((error: unknown) => options.log.error({ conn, err: errorMessage(error) }, 'vici: initiate after a refused trap failed'));
  }
}
