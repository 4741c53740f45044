/**
 * The words of the policy language: one `as const` table per set of values (STYLE §3), the
 * aliases users may write, and the defaults a rule gets for what it leaves out.
 */

/** What a rule does with traffic to a matching address. Spelled as Libreswan's policy groups. */
export const Action = {
  /** Must be encrypted: policy level require with a usable key; otherwise drop and SERVFAIL. */
  Require: 'require',
  /** Opportunistic: policy level use with a usable key; otherwise nothing. */
  Use: 'use',
  /** Never initiate, but accept IPsec when the peer initiates (responder side, IKE backends). */
  ClearOrPrivate: 'clear-or-private',
  /** Never install anything. */
  Clear: 'clear',
  /** Always drop. */
  Block: 'block',
} as const;
export type Action = (typeof Action)[keyof typeof Action];
export const ACTIONS: readonly Action[] = Object.values(Action);

/** Libreswan's group names (`/etc/ipsec.d/policies/private` …) accepted as action names. */
export const ACTION_ALIASES: Readonly<Record<string, Action>> = {
  private: Action.Require,
  'private-or-clear': Action.Use,
};

/** Which DNSSEC status a key needs to count. */
export const DnssecLevel = {
  /** Only DNSSEC-secure keys: protects against an active attacker. */
  Secure: 'secure',
  /** Unsigned keys count too: protects against a passive eavesdropper only. */
  InsecureOk: 'insecure-ok',
} as const;
export type DnssecLevel = (typeof DnssecLevel)[keyof typeof DnssecLevel];

/**
 * The negative flags of the DANE+LDAP TLS daemon (seed 000, §4.1.1): security is switched off
 * only by naming what is switched off. They mean the same on the TLS path.
 */
export const NegativeFlag = {
  /** Keys count without DNSSEC: the same as `dnssec: insecure-ok`. */
  NoDnssec: 'no-dnssec',
  /** A bogus key is treated as an unsigned one instead of failing. Needs unsigned keys accepted. */
  IgnoreBogus: 'ignore-bogus',
  /** TLSA records are neither fetched nor checked (TLS path). */
  NoDane: 'no-dane',
  /** Users are not looked up in an LDAP key server (TLS path). */
  NoLdap: 'no-ldap',
} as const;
export type NegativeFlag = (typeof NegativeFlag)[keyof typeof NegativeFlag];

/** DNS records an IPsec key may come from. TLSA is fetched per port, for the TLS path. */
export const KeySource = { Ipseckey: 'ipseckey', Cert: 'cert' } as const;
export type KeySource = (typeof KeySource)[keyof typeof KeySource];

export const Backend = { Xfrm: 'xfrm', Setkey: 'setkey', Vici: 'vici', Racoon: 'racoon' } as const;
export type Backend = (typeof Backend)[keyof typeof Backend];

/** Backends with an IKE daemon that can answer a peer's IKE (needed by `clear-or-private`). */
export const IKE_BACKENDS: readonly Backend[] = [Backend.Vici, Backend.Racoon];

/** When the SA is brought up: by the first packet (trap), or as soon as the DNS answer arrives. */
export const Initiate = { OnTraffic: 'on-traffic', OnAnswer: 'on-answer' } as const;
export type Initiate = (typeof Initiate)[keyof typeof Initiate];

/** What the client gets when keys or the install are not ready within the rule's timeout. */
export const OnTimeout = { Answer: 'answer', Servfail: 'servfail' } as const;
export type OnTimeout = (typeof OnTimeout)[keyof typeof OnTimeout];

/** IANA Assigned Internet Protocol Numbers — the ones a rule may name. */
export const IpProtocol = { Icmp: 1, Tcp: 6, Udp: 17, Ipv6Icmp: 58, Sctp: 132 } as const;
export type IpProtocol = (typeof IpProtocol)[keyof typeof IpProtocol];

export const PROTOCOL_NAMES: Readonly<Record<string, number>> = {
  icmp: IpProtocol.Icmp,
  tcp: IpProtocol.Tcp,
  udp: IpProtocol.Udp,
  'ipv6-icmp': IpProtocol.Ipv6Icmp,
  icmpv6: IpProtocol.Ipv6Icmp,
  sctp: IpProtocol.Sctp,
};
export const PORT_PROTOCOLS: readonly number[] = [IpProtocol.Tcp, IpProtocol.Udp, IpProtocol.Sctp];
export const ICMP_PROTOCOLS: readonly number[] = [IpProtocol.Icmp, IpProtocol.Ipv6Icmp];

/**
 * RFC 4861 §4.1–4.4 — ICMPv6 Router Solicitation, Router Advertisement, Neighbor Solicitation,
 * Neighbor Advertisement. Covered by a transport policy they break IPv6 (seed 004).
 */
export const NEIGHBOR_DISCOVERY_TYPES: readonly number[] = [133, 134, 135, 136];

/** Defaults for what a rule leaves out. */
export const RULE_DEFAULTS = {
  dnssec: DnssecLevel.Secure,
  keySources: [KeySource.Ipseckey, KeySource.Cert] as readonly KeySource[],
  minTtlSeconds: 0,
  maxTtlSeconds: 86_400,
  /** How long the client's answer is held for keys and the install. */
  timeoutMs: 1500,
  /** Libreswan's failure shunt lifetime (`shuntlifetime`, 15 minutes). */
  shuntLifetimeSeconds: 900,
} as const;

/** `require` and `block` fail closed: at their timeout the answer is always SERVFAIL. */
export function failsClosed(action: Action): boolean {
  return action === Action.Require || action === Action.Block;
}

/** issue 6: `require` initiates as soon as the answer arrives, so the first packet finds the SA. */
export function defaultInitiate(action: Action): Initiate {
  return action === Action.Require ? Initiate.OnAnswer : Initiate.OnTraffic;
}
