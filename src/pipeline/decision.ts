/**
 * What oedns decides to do about the addresses of one A/AAAA answer, given the keys their host
 * publishes: the event the IPsec backends, metrics and logs subscribe to. Until the policy engine
 * (policies/) decides, the built-in default is opportunistic: a DNSSEC-secure IPSECKEY for the
 * host itself makes its secure addresses "protect at level use"; anything else, nothing.
 */
import { BlockList, isIPv6 } from 'node:net';
import { GatewayType } from '../records/index.js';
import type { Decision as PolicyDecision } from '../policy/index.js';
import { KEY_STATUS_RANK, type HostKeys, type IpseckeyEntry, type KeyStatus } from './host-keys.js';

export interface AnsweredAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** What the pipeline knows when it decides: the answer's addresses and the host's keys. */
export interface DecisionInput {
  readonly qname: string;
  readonly qtype: number;
  /** Where the keys were looked up: the end of qname's CNAME chain. */
  readonly name: string;
  readonly addresses: readonly AnsweredAddress[];
  /** Validation status of the answer that carried the addresses (its weakest link). */
  readonly addressStatus: KeyStatus;
  readonly addressExpiresAtMs: number;
  readonly keys: HostKeys;
  /** Keys at the name asked for, when the policies want them and a CNAME led elsewhere. */
  readonly queryKeys?: HostKeys | undefined;
  readonly nowMs: number;
}

/** The key an address is protected with: an IPSECKEY whose gateway is the host itself. */
export interface PeerKey {
  readonly precedence: number;
  readonly keyType: string;
  /** SubjectPublicKeyInfo PEM, as strongSwan loads a raw public key. */
  readonly spkiPem: string;
  readonly status: KeyStatus;
}

export type AddressAction =
  | {
    readonly kind: 'protect'; readonly level: 'require' | 'use'; readonly key: PeerKey;
    /** Tunnel mode to `gateway` (an IPSECKEY naming another gateway, allowed by the policy). */
    readonly mode?: 'tunnel' | undefined; readonly gateway?: string | undefined;
    /** The name the key was published at, when not the host's own (policy `query-name-keys`). */
    readonly keyOwner?: string | undefined;
  }
  /** Install nothing to initiate, but accept IKE from the peer with this key (clear-or-private). */
  | { readonly kind: 'responder'; readonly key: PeerKey }
  | { readonly kind: 'block' }
  /** An explicit bypass above any trap: in clear while a failure shunt under `use` lasts. */
  | { readonly kind: 'pass' }
  | { readonly kind: 'none' };

export interface AddressDecision extends AnsweredAddress {
  readonly action: AddressAction;
  readonly reason: string;
  /** The policy engine's full decision (SPD entries per traffic selector, backend, lifetimes), when it decided. */
  readonly policy?: PolicyDecision | undefined;
}

export interface HostDecision {
  readonly qname: string;
  readonly qtype: number;
  /** The host the keys belong to (its FQDN is the IKE identity to expect). */
  readonly name: string;
  readonly addresses: readonly AddressDecision[];
  /** Epoch ms the decision stops holding: min(TTL, RRSIG expiry) of the keys and addresses used. */
  readonly expiresAtMs: number;
  /** Which policy decided: `built-in default` until policies/ are loaded. */
  readonly decidedBy: string;
  /** How long the client's answer may wait for the decision to be in place, and what then. */
  readonly waitMs: number;
  readonly onTimeout: 'answer' | 'servfail';
  /** Set when the policy withholds the answer (SERVFAIL) whatever happens: why. */
  readonly servfail?: string | undefined;
  readonly keys: HostKeys;
}

export type Decide = (input: DecisionInput) => HostDecision;

export interface DefaultDecisionOptions {
  readonly waitMs: number;
  readonly onTimeout: 'answer' | 'servfail';
}


/** Whether two textual addresses are the same address (IPv6 in any RFC 5952 spelling). */
export function sameAddress(a: string, b: string): boolean {
  if (isIPv6(a) !== isIPv6(b)) return false;
  if (!isIPv6(a)) return a === b;
  const list = new BlockList();
  list.addAddress(a, 'ipv6');
  return list.check(b, 'ipv6');
}

/**
 * The first IPSECKEY (lowest precedence) that lets oedns talk to `address` itself in transport
 * mode: no gateway, or a gateway equal to the address (RFC 4025 §1.2: the gateway is where the
 * IPsec tunnel ends; the host itself means transport mode). Others are reported, not used.
 */
export function hostKeyFor(address: string, entries: readonly IpseckeyEntry[]): { entry?: IpseckeyEntry; skipped: string[] } {
  const skipped: string[] = [];
  for (const entry of entries) {
    const { gateway } = entry.rdata;
    const toHost = gateway.type === GatewayType.None ||
      ((gateway.type === GatewayType.Ipv4 || gateway.type === GatewayType.Ipv6) && sameAddress(gateway.address, address));
    if (!toHost) {
      skipped.push(`precedence ${entry.rdata.precedence}: gateway ${'address' in gateway ? gateway.address : 'name' in gateway ? gateway.name : '?'} (tunnel mode is not allowed)`);
      continue;
    }
    if (entry.key.kind !== 'key') {
      skipped.push(`precedence ${entry.rdata.precedence}: ${entry.key.kind === 'none' ? 'no key in the record' : entry.key.reason}`);
      continue;
    }
    return { entry, skipped };
  }
  return { skipped };
}

/** The built-in opportunistic default: `use` for DNSSEC-secure keys, nothing otherwise. */
export function defaultDecision(options: DefaultDecisionOptions): Decide {
  return (input) => {
    const { keys } = input;
    const ipseckey = keys.ipseckey;
    const expiresAtMs = Math.min(input.addressExpiresAtMs, ipseckey.expiresAtMs);
    const addresses = input.addresses.map((answered): AddressDecision => {
      const none = (reason: string): AddressDecision => ({ ...answered, action: { kind: 'none' }, reason });
      if (ipseckey.outcome === 'failed') return none(`IPSECKEY is ${ipseckey.status}: ${ipseckey.reason ?? 'no answer'}`);
      if (ipseckey.outcome === 'none') return none('no IPSECKEY');
      if (ipseckey.status !== 'secure') return none(`IPSECKEY is ${ipseckey.status}; the default policy wants DNSSEC-secure keys`);
      // Libreswan's dns-match-id: the address must come from the key's name with at least the key's status.
      if (KEY_STATUS_RANK[input.addressStatus] < KEY_STATUS_RANK[ipseckey.status]) return none(`the address is ${input.addressStatus}, weaker than its ${ipseckey.status} IPSECKEY`);
      const { entry, skipped } = hostKeyFor(answered.address, ipseckey.records);
      if (!entry || entry.key.kind !== 'key') return none(`no usable IPSECKEY for the host itself${skipped.length ? `: ${skipped.join('; ')}` : ''}`);
      const key: PeerKey = { precedence: entry.rdata.precedence, keyType: entry.key.keyType, spkiPem: entry.key.spkiPem, status: ipseckey.status };
      return { ...answered, action: { kind: 'protect', level: 'use', key }, reason: `secure IPSECKEY (precedence ${key.precedence}, ${key.keyType})` };
    });
    return {
      qname: input.qname, qtype: input.qtype, name: input.name, addresses, expiresAtMs,
      decidedBy: 'built-in default', waitMs: options.waitMs, onTimeout: options.onTimeout, keys,
    };
  };
}
