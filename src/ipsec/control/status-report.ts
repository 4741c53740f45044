/**
 * What `oedns status` shows: the IPsec policies oedns holds now and a little about the process.
 * `statusReport` is pure (the clock is an argument); `parseStatusReport` checks a report that
 * came over the control socket before anything prints it.
 */
import type { ManagedPolicy } from '../policy-manager.js';
import type { PolicySpec } from '../backend.js';

/** Bumped when a field changes meaning or goes away (new fields do not bump it). */
export const STATUS_FORMAT = 1;

export type StatusAction = 'protect' | 'block' | 'pass' | 'responder';

export interface StatusPolicy {
  /** Owners holding the entry, `name./TYPE` (`alice.lab.example./A`), sorted. */
  readonly names: readonly string[];
  /** null: any local address. */
  readonly local: string | null;
  readonly remote: string;
  readonly family: 4 | 6;
  /** protocol null: any traffic; ports empty: all ports (or ICMP types). */
  readonly selector: { readonly protocol: number | null; readonly ports: readonly { readonly first: number; readonly last: number }[] };
  readonly action: StatusAction;
  /** Set for `protect` only. */
  readonly level: 'require' | 'use' | null;
  readonly mode: 'transport' | 'tunnel' | null;
  /** The tunnel's far end (`protect` in tunnel mode). */
  readonly gateway: string | null;
  /** The peer's IKE identity (FQDN), for IKE backends. */
  readonly peer: string | null;
  readonly backend: string;
  /** ISO 8601 time the last reference lapses. */
  readonly expiresAt: string;
  /** Whole seconds until then, 0 once past (the entry goes at the next sweep). */
  readonly secondsLeft: number;
}

export interface StatusReport {
  readonly format: number;
  readonly pid: number;
  readonly version: string;
  /** ISO 8601 times. */
  readonly startedAt: string;
  readonly generatedAt: string;
  readonly uptimeSeconds: number;
  /** DNS listeners, `ADDR:PORT`. */
  readonly listen: readonly string[];
  /** `none`, `dry-run`, `xfrm`, ... */
  readonly backend: string;
  readonly policies: readonly StatusPolicy[];
  /** Cheap counters the process keeps (queries, cache hits, ...), by name. */
  readonly counters: Readonly<Record<string, number>>;
}

export interface StatusInput {
  readonly backend: string;
  readonly policies: readonly ManagedPolicy[];
  readonly nowMs: number;
  readonly startedAtMs: number;
  readonly pid: number;
  readonly version: string;
  readonly listen: readonly string[];
  readonly counters?: Readonly<Record<string, number>> | undefined;
}

/** Builds the report; policies sorted by first name, remote and local address, then selector (any first). */
export function statusReport(input: StatusInput): StatusReport {
  const policies = input.policies.map((p) => statusPolicy(p, input.backend, input.nowMs));
  policies.sort((a, b) => compare(a.names[0] ?? '', b.names[0] ?? '') || compare(a.remote, b.remote) || compare(a.local ?? '', b.local ?? '') ||
    (a.selector.protocol ?? -1) - (b.selector.protocol ?? -1) || (a.selector.ports[0]?.first ?? -1) - (b.selector.ports[0]?.first ?? -1));
  return {
    format: STATUS_FORMAT,
    pid: input.pid,
    version: input.version,
    startedAt: isoTime(input.startedAtMs, input.nowMs),
    generatedAt: isoTime(input.nowMs, input.nowMs),
    uptimeSeconds: Math.max(0, Math.floor((input.nowMs - input.startedAtMs) / 1000)),
    listen: [...input.listen],
    backend: input.backend,
    policies,
    counters: { ...(input.counters ?? {}) },
  };
}

function statusPolicy(managed: ManagedPolicy, backend: string, nowMs: number): StatusPolicy {
  const spec: PolicySpec = managed.spec;
  const action = spec.action;
  return {
    names: [...managed.owners].sort(compare),
    local: spec.local ?? null,
    remote: spec.remote,
    family: spec.family,
    selector: { protocol: spec.selector.protocol ?? null, ports: (spec.selector.ports ?? []).map((r) => ({ first: r.first, last: r.last })) },
    action: action.kind,
    level: action.kind === 'protect' ? action.level : null,
    mode: action.kind === 'protect' ? action.mode : null,
    gateway: action.kind === 'protect' ? action.gateway ?? null : null,
    peer: spec.peer?.identity ?? null,
    backend,
    expiresAt: isoTime(managed.expiresAtMs, nowMs),
    secondsLeft: Number.isFinite(managed.expiresAtMs) ? Math.max(0, Math.floor((managed.expiresAtMs - nowMs) / 1000)) : 0,
  };
}

/** Largest magnitude a JavaScript Date holds (ECMA-262 §21.4.1.22); beyond it toISOString throws. */
const MAX_DATE_MS = 8.64e15;

/** ISO text of `ms`, or of `fallbackMs` when `ms` is no date (an entry without owners has -Infinity). */
function isoTime(ms: number, fallbackMs: number): string {
  return new Date(Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS ? ms : fallbackMs).toISOString();
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
