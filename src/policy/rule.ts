/** A parsed policy rule and the set of them: what the files say, with where they said it. */
import type { Cidr } from './cidr.js';
import type { DomainPattern } from './domain-pattern.js';
import type { SourcePosition } from './errors.js';
import { PROTOCOL_NAMES, type Action, type Backend, type DnssecLevel, type Initiate, type KeySource, type NegativeFlag, type OnTimeout } from './vocabulary.js';

/** An inclusive port range; a single port has `first === last`. */
export interface PortRange {
  readonly first: number;
  readonly last: number;
}

/**
 * The traffic a rule's SPD entries cover, narrower than "any" when it names a protocol.
 * `ports` applies to TCP/UDP/SCTP, `icmpTypes` to ICMP/ICMPv6; empty means all of them.
 */
export interface Selector {
  /** IANA protocol number; undefined for every protocol. */
  readonly protocol: number | undefined;
  readonly ports: readonly PortRange[];
  readonly icmpTypes: readonly number[];
}

export const ANY_SELECTOR: Selector = { protocol: undefined, ports: [], icmpTypes: [] };

/** A TLSA lookup the rule asks for: `_PORT._PROTOCOL.NAME` (RFC 6698 §3). */
export interface TlsaPort {
  readonly port: number;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
}

/** Lifetime of an installed policy: the DNS TTL, clamped to [minSeconds, maxSeconds]. */
export interface LifetimeClamp {
  readonly minSeconds: number;
  readonly maxSeconds: number;
}

/** How long the client's answer is held for keys and install, and what it gets after that. */
export interface TimeoutBehaviour {
  readonly ms: number;
  readonly then: OnTimeout;
}

/** Hints for the VICI backend's `load-conn` (strongSwan proposal syntax, e.g. `aes256gcm16-x25519`). */
export interface IkeProposals {
  readonly ike: readonly string[];
  readonly esp: readonly string[];
}

/** What a decision carries from its rule to the backend, besides the action. */
export interface RuleSettings {
  /** undefined: the daemon's configured backend. */
  readonly backend: Backend | undefined;
  readonly initiate: Initiate;
  readonly lifetime: LifetimeClamp;
  readonly timeout: TimeoutBehaviour;
  readonly shuntLifetimeSeconds: number;
  readonly proposals: IkeProposals | undefined;
  /**
   * An IPSECKEY whose gateway is another host may be used: tunnel mode to that gateway (RFC 4025
   * §1.2). Off by default: oedns then only talks to the host itself, in transport mode.
   */
  readonly tunnel: boolean;
  /**
   * When a CNAME chain led from the name asked for to the host, keys published at the name asked
   * for count too (after the host's own): for a service name pointing at a host the operator
   * does not control. Off by default.
   */
  readonly queryNameKeys: boolean;
}

export interface PolicyRule {
  /** Where the rule's mapping starts, for explanations and logs. */
  readonly position: SourcePosition;
  /** Place in the whole set: rules are tried in this order and the first match wins. */
  readonly index: number;
  readonly description: string | undefined;
  /** Empty: any name. */
  readonly domains: readonly DomainPattern[];
  /** Empty: any address (built-in exclusions still apply). */
  readonly networks: readonly Cidr[];
  readonly selector: Selector;
  readonly action: Action;
  /** The action as written (`private`, `private-or-clear`, …), for explanations. */
  readonly actionSpelling: string;
  /** Effective level: `insecure-ok` when `dnssec: insecure-ok` or the `no-dnssec` flag is given. */
  readonly dnssec: DnssecLevel;
  readonly flags: readonly NegativeFlag[];
  /** IPsec key sources in the order they are preferred; empty for `clear` and `block`. */
  readonly keySources: readonly KeySource[];
  readonly tlsa: readonly TlsaPort[];
  readonly settings: RuleSettings;
}

/** Every rule of a policy directory, in the order they are tried. */
export interface PolicySet {
  /** The files loaded, in the order their rules are tried. */
  readonly files: readonly string[];
  readonly rules: readonly PolicyRule[];
}

export const EMPTY_POLICY_SET: PolicySet = { files: [], rules: [] };

/** `file:line:col`, and the description when the rule has one. */
export function describeRule(rule: PolicyRule): string {
  const where = `${rule.position.file}:${rule.position.line}:${rule.position.column}`;
  return rule.description === undefined ? where : `${where} (${rule.description})`;
}

export function isNarrow(selector: Selector): boolean {
  return selector.protocol !== undefined;
}

export function formatSelector(selector: Selector): string {
  if (selector.protocol === undefined) return 'any';
  const ports = selector.ports.map((r) => (r.first === r.last ? String(r.first) : `${r.first}-${r.last}`));
  const types = selector.icmpTypes.map(String);
  const detail = ports.length > 0 ? ` port ${ports.join(',')}` : types.length > 0 ? ` type ${types.join(',')}` : '';
  const name = Object.entries(PROTOCOL_NAMES).find(([, n]) => n === selector.protocol)?.[0] ?? String(selector.protocol);
  return `${name}${detail}`;
}
