/**
 * `initiate` of one oedns conn's CHILD_SA, as the vici backend runs it: bounded by charon's own
 * timeout plus a grace and the caller's signal, with the reason of a failure taken from charon's
 * control-log (vici-outcome.ts). When the peer refused this host's authentication
 * (AUTHENTICATION_FAILED), its oedns may be looking this host's key up right now (its
 * PeerLearner), so the initiate is tried again after each of the retry delays.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { PolicySpec } from '../backend.js';
import type { ViciClient } from './vici-client.js';
import { viciInitiate, type ViciControlLog } from './vici-commands.js';
import { childName } from './vici-conn.js';
import { ViciCommandError } from './vici-errors.js';
import { peerRefusedAuth } from './vici-log.js';
import { initiateFailureReason } from './vici-outcome.js';

export const DEFAULT_INITIATE_TIMEOUT_MS = 5_000;
/** Beyond charon's own initiate timeout, how long oedns waits for its answer. */
const INITIATE_GRACE_MS = 1_000;
/**
 * Pauses before each new initiate when the peer refused this host's authentication: the peer's
 * oedns is looking this host's key up (tens of ms on a LAN, more with a slow resolver or in UML).
 */
export const RETRY_DELAYS_MS: readonly number[] = [50, 200, 600];

export interface InitiateOutcome {
  readonly address: string;
  readonly ok: boolean;
  readonly reason: string;
  readonly spec: PolicySpec;
}

export interface InitiateOptions {
  readonly timeoutMs: number;
  readonly retryDelaysMs: readonly number[];
  readonly log: Logger;
}

export async function initiateWithRetries(
  client: ViciClient, name: string, spec: PolicySpec, options: InitiateOptions, signal: AbortSignal,
): Promise<InitiateOutcome> {
  const startedMs = performance.now();
  const bounded = AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs + INITIATE_GRACE_MS)]);
  let attempts = 0;
  let result: InitiateOutcome & { refused: boolean };
  for (;;) {
    attempts += 1;
    result = await initiateOnce(client, name, spec, options, bounded);
    const delay = options.retryDelaysMs[attempts - 1];
    if (result.ok || !result.refused || delay === undefined || bounded.aborted) break;
    options.log.info({ conn: name, remote: spec.remote, attempt: attempts, retryInMs: delay }, 'vici: peer refused our authentication; trying again');
    if (!(await pause(delay, bounded))) break;
  }
  const { refused: _refused, ...outcome } = result;
  options.log[outcome.ok ? 'info' : 'warn']({ conn: name, remote: spec.remote, ok: outcome.ok, reason: outcome.reason, attempts, ms: elapsed(startedMs) }, 'vici initiate');
  return outcome;
}

async function initiateOnce(
  client: ViciClient, name: string, spec: PolicySpec, options: InitiateOptions, signal: AbortSignal,
): Promise<InitiateOutcome & { refused: boolean }> {
  const logs: ViciControlLog[] = [];
  try {
    await viciInitiate(client, { child: childName(spec.action), ike: name, timeoutMs: options.timeoutMs, loglevel: 1 }, signal, (l) => {
      logs.push(l);
      options.log.trace({ conn: name, line: l.msg }, 'vici initiate log');
    });
    return { address: spec.remote, ok: true, reason: 'CHILD_SA established', spec, refused: false };
  } catch (error) {
    const reason = error instanceof ViciCommandError ? initiateFailureReason(logs, error.errmsg) : `initiate not completed: ${errorMessage(error)}`;
    return { address: spec.remote, ok: false, reason, spec, refused: peerRefusedAuth(logs.map((l) => l.msg)) };
  }
}

/** Resolves true after `ms`, false at once when `signal` aborts first. */
export function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return sleep(ms, true, { signal }).catch(() => false);
}

/** Milliseconds since `startedMs` (performance.now()), to a tenth. */
export function elapsed(startedMs: number): number {
  return Math.round((performance.now() - startedMs) * 10) / 10;
}
