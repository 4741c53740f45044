/**
 * Built-in exclusions: addresses and traffic no rule acts on by accident.
 *
 * An excluded address is skipped by every rule except one that names it explicitly: a rule
 * names an exclusion when one of its `networks` contains the address AND lies entirely inside
 * the excluded range (`networks: 127.0.0.0/8` names loopback; `0.0.0.0/0`, `*` or a domain do
 * not; for an upstream resolver or a local address, only its own /32 or /128 names it). So a
 * name in DNS can never make oedns act on loopback or cut it off from its resolvers: whoever
 * controls a zone controls which addresses its names resolve to, not the networks in a rule.
 *
 * ICMPv6 Neighbor Discovery (types 133–136) is traffic, not an address: every decision that
 * installs something for an IPv6 address gets a bypass for it ahead of its own entries, unless
 * a matching rule names it (`protocol: ipv6-icmp` with `icmp-types` among 133–136).
 */
import { cidrContains, cidrWithin, hostCidr, parseAddress, parseCidr, type Cidr, type IpAddress } from './cidr.js';
import type { PolicyRule } from './rule.js';
import { IpProtocol, NEIGHBOR_DISCOVERY_TYPES } from './vocabulary.js';

export const Exclusion = {
  Loopback: 'loopback',
  LinkLocal: 'link-local',
  /** Multicast, and the IPv4 limited broadcast address. */
  Multicast: 'multicast',
  /** 0.0.0.0/8 ("this network", RFC 1122 §3.2.1.3) and :: (RFC 4291 §2.5.2). */
  Unspecified: 'unspecified',
  /** The upstream resolvers oedns forwards to: a policy on them could deadlock DNS. */
  Upstream: 'upstream',
  /** This host's own addresses: a policy to oneself means nothing. */
  Local: 'local',
  NeighborDiscovery: 'neighbor-discovery',
} as const;
export type Exclusion = (typeof Exclusion)[keyof typeof Exclusion];

/** The addresses the exclusions need from the running daemon. */
export interface ExclusionContext {
  /** Addresses of the upstream resolvers (without ports). */
  readonly upstreams: readonly string[];
  /** Addresses of this host's interfaces. */
  readonly localAddresses: readonly string[];
}

export const NO_RUNTIME_EXCLUSIONS: ExclusionContext = { upstreams: [], localAddresses: [] };

export interface ExcludedRange {
  readonly exclusion: Exclusion;
  readonly range: Cidr;
}

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (typeof parsed === 'string') throw new Error(`built-in exclusion ${text}: ${parsed}`);
  return parsed;
}

/** RFC 6890 special-purpose ranges that are never a peer for opportunistic encryption. */
const FIXED_RANGES: readonly ExcludedRange[] = [
  ...['127.0.0.0/8', '::1/128'].map((t) => ({ exclusion: Exclusion.Loopback, range: cidr(t) })),
  ...['169.254.0.0/16', 'fe80::/10'].map((t) => ({ exclusion: Exclusion.LinkLocal, range: cidr(t) })),
  ...['224.0.0.0/4', '255.255.255.255/32', 'ff00::/8'].map((t) => ({ exclusion: Exclusion.Multicast, range: cidr(t) })),
  ...['0.0.0.0/8', '::/128'].map((t) => ({ exclusion: Exclusion.Unspecified, range: cidr(t) })),
];

/** Every excluded range, the fixed ones and the host's; a bad runtime address is a bug upstream. */
export function excludedRanges(context: ExclusionContext): readonly ExcludedRange[] {
  const hosts = (texts: readonly string[], exclusion: Exclusion): ExcludedRange[] => texts.map((text) => {
    const address = parseAddress(text);
    if (address === undefined) throw new Error(`${exclusion} address "${text}" is not an IP address`);
    return { exclusion, range: hostCidr(address) };
  });
  return [...FIXED_RANGES, ...hosts(context.upstreams, Exclusion.Upstream), ...hosts(context.localAddresses, Exclusion.Local)];
}

/** The exclusions covering an address (an upstream on 127.0.0.53 is both loopback and upstream). */
export function exclusionsOf(address: IpAddress, ranges: readonly ExcludedRange[]): readonly ExcludedRange[] {
  return ranges.filter((r) => cidrContains(r.range, address));
}

/** Whether a rule names every exclusion covering `address`, and so may act on it. */
export function ruleNamesExclusions(rule: PolicyRule, address: IpAddress, covering: readonly ExcludedRange[]): boolean {
  return covering.every((excluded) =>
    rule.networks.some((network) => cidrContains(network, address) && cidrWithin(network, excluded.range)));
}

/** Whether a rule acts on Neighbor Discovery explicitly (then no bypass is added for it). */
export function ruleNamesNeighborDiscovery(rule: PolicyRule): boolean {
  return rule.selector.protocol === IpProtocol.Ipv6Icmp
    && rule.selector.icmpTypes.some((t) => NEIGHBOR_DISCOVERY_TYPES.includes(t));
}
