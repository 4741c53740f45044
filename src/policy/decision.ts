/**
 * The policy engine's input and output. The input is what the keys pipeline learned about one
 * address of one name; the output is what to install, what to answer, and which rule said so.
 * Key material is not part of either: the decision names the key source to take it from, and
 * the pipeline hands that key (a `Secure<…>` one unless the rule accepts less) to the backend.
 */
import type { Exclusion } from './exclusions.js';
import type { MatchNames } from './match.js';
import { describeRule, type PolicyRule, type RuleSettings, type Selector, type TimeoutBehaviour, type TlsaPort } from './rule.js';
import type { Shunt } from './shunts.js';
import type { Action, KeySource } from './vocabulary.js';

/** The DNSSEC status of a key RRset, as the validator found it (indeterminate counts as bogus). */
export const KEY_STATES = ['none', 'insecure', 'secure', 'bogus'] as const;
export type KeyState = (typeof KEY_STATES)[number];

/** A key state, or `timeout` when the lookup had not finished within the rule's timeout. */
export type KeyOutcome = KeyState | 'timeout';
export const KEY_OUTCOMES: readonly KeyOutcome[] = [...KEY_STATES, 'timeout'];

export interface TlsaOutcome extends TlsaPort {
  readonly state: KeyOutcome;
}

/** What each key source gave for the name. A source not fetched is `none`. */
export interface KeyOutcomes {
  readonly ipseckey: KeyOutcome;
  readonly cert: KeyOutcome;
  readonly tlsa: readonly TlsaOutcome[];
  /** An IPSECKEY usable only through a gateway other than the host (tunnel mode, rule `tunnel`). */
  readonly ipseckeyViaGateway?: KeyOutcome | undefined;
  /** Keys at the name the client asked for, when a CNAME led from it to the host (rule `query-name-keys`). */
  readonly queryName?: { readonly ipseckey: KeyOutcome; readonly cert: KeyOutcome } | undefined;
}

export interface PolicyInput extends MatchNames {
  /** The address from the name's A/AAAA RRset (IPv4 or IPv6 text; IPv4-mapped is IPv4). */
  readonly address: string;
  readonly keys: KeyOutcomes;
}

/** What a backend puts in place for one flow to the address. */
export type Install =
  /** Nothing: traffic flows as without oedns. */
  | { readonly kind: 'none' }
  /**
   * A transport-mode policy with the key from `keySource` (xfrm `level required|use`); `mode:
   * 'tunnel'` when the key is an IPSECKEY's for another gateway, `keyOwner: 'query-name'` when it
   * was published at the name asked for.
   */
  | {
    readonly kind: 'policy'; readonly level: 'require' | 'use'; readonly keySource: KeySource;
    readonly mode?: 'tunnel' | undefined; readonly keyOwner?: 'query-name' | undefined;
  }
  /** No initiating policy; the peer's IKE is accepted with the key (VICI conn without trap). */
  | { readonly kind: 'responder'; readonly keySource: KeySource }
  /** A drop policy. */
  | { readonly kind: 'block' }
  /** An explicit bypass, above any trap (the clear shunt; Neighbor Discovery). */
  | { readonly kind: 'pass' };

/** Why a flow was decided as it was. */
export type DecisionSource =
  | { readonly kind: 'rule'; readonly rule: PolicyRule }
  | { readonly kind: 'exclusion'; readonly exclusion: Exclusion }
  /** No rule matched: nothing is done. */
  | { readonly kind: 'default' };

/** One SPD entry's worth of decision. */
export interface FlowDecision {
  readonly selector: Selector;
  readonly action: Action;
  readonly install: Install;
  /** The client gets SERVFAIL instead of the address (require without a usable key). */
  readonly servfail: boolean;
  readonly source: DecisionSource;
  /** Backend, initiate mode, lifetime clamp, timeout, shunt lifetime, proposals. */
  readonly settings: RuleSettings;
  readonly reason: string;
}

/** TLSA use on the TLS path (a later issue), with the same rule and flags. */
export interface TlsDecision {
  /** `require`: a DANE match is needed; `use`: checked when usable; `off`: not checked. */
  readonly dane: 'require' | 'use' | 'off';
  /** LDAP user lookup (seed 000), off under `no-ldap`. */
  readonly ldap: boolean;
  readonly tlsa: readonly (TlsaOutcome & { readonly usable: boolean })[];
}

export interface Decision {
  readonly name: string;
  readonly queryName: string | undefined;
  /** The address in canonical text (RFC 5952; IPv4-mapped written as IPv4). */
  readonly address: string;
  /** True when any flow says SERVFAIL. */
  readonly servfail: boolean;
  /**
   * SPD entries in order, first match per packet. Never empty; the last one covers any traffic
   * and is the deciding one. An IPv6 decision that installs anything starts with the Neighbor
   * Discovery bypass.
   */
  readonly flows: readonly FlowDecision[];
  /** How long to hold the answer for the installs, and what to answer then (the strictest flow's). */
  readonly timeout: TimeoutBehaviour;
  readonly tls: TlsDecision;
  /** The failure shunt in force for the address, if any. */
  readonly shunt: Shunt | undefined;
}

/** The flow that decides any traffic: the last one. */
export function decidingFlow(decision: Decision): FlowDecision {
  const last = decision.flows[decision.flows.length - 1];
  if (last === undefined) throw new Error('a decision always has a flow');
  return last;
}

/** `file:line:col`, `exclusion loopback`, or `no rule matched`. */
export function describeSource(source: DecisionSource): string {
  switch (source.kind) {
    case 'rule': return `rule ${describeRule(source.rule)}`;
    case 'exclusion': return `built-in exclusion ${source.exclusion}`;
    case 'default': return 'no rule matched';
  }
}

export function describeInstall(install: Install): string {
  switch (install.kind) {
    case 'none': return 'nothing';
    case 'policy': return `${install.level} (${install.keySource})`;
    case 'responder': return `responder (${install.keySource})`;
    case 'block': return 'block';
    case 'pass': return 'pass';
  }
}
