/**
 * The policy engine (policy/) as the keys step's decision: what each key RRset means for one
 * address (its KeyOutcome), one policy decision per address, and the action and key handed on to
 * subscribers. Keys are taken from the source the deciding rule names: an IPSECKEY for the host
 * itself (gateway none or the address), or the public key of a PKIX CERT.
 */
import {
  decide, decidingFlow, planKeyLookups, policyLifetimeSeconds, summarizeDecision,
  type Decision, type ExcludedRange, type KeyOutcome, type PolicyInput, type PolicySet, type ShuntLookup,
} from '../policy/index.js';
import { GatewayType } from '../records/index.js';
import { hostKeyFor, sameAddress, type AddressAction, type AddressDecision, type AnsweredAddress, type Decide, type DecisionInput, type HostDecision, type PeerKey } from './decision.js';
import { KEY_STATUS_RANK, TIMED_OUT, type HostKeys, type KeySet, type KeyStatus, type LookupPlan, type TlsaPort } from './host-keys.js';

export interface PolicyDecideOptions {
  /** The policy set in force (PolicyStore.current: a reload takes effect at the next decision). */
  readonly policies: () => PolicySet;
  /** Built-in exclusions: loopback, link-local, multicast, the upstreams, this host. */
  readonly exclusions: () => readonly ExcludedRange[];
  readonly shunts?: ShuntLookup | undefined;
}


/**
 * A key RRset as policy reads it, for one address: `none` when it holds no key usable for this
 * address; the weaker of its own status and the address's (Libreswan's dns-match-id: an address
 * less secure than the key cannot borrow the key's status); a lookup that failed is bogus, one
 * that timed out is `timeout`.
 */
export function keyOutcome<T>(set: KeySet<T>, usable: boolean, addressStatus: KeyStatus): KeyOutcome {
  if (set.outcome === 'failed') return set.reason?.startsWith(TIMED_OUT) ? 'timeout' : 'bogus';
  if (set.outcome === 'none' || !usable) return 'none';
  const status = KEY_STATUS_RANK[addressStatus] < KEY_STATUS_RANK[set.status] ? addressStatus : set.status;
  if (status === 'secure') return 'secure';
  return status === 'bogus' || status === 'indeterminate' ? 'bogus' : 'insecure';
}

function ipseckeyFor(keys: HostKeys, address: string): PeerKey | undefined {
  const { entry } = hostKeyFor(address, keys.ipseckey.records);
  if (!entry || entry.key.kind !== 'key') return undefined;
  return { precedence: entry.rdata.precedence, keyType: entry.key.keyType, spkiPem: entry.key.spkiPem, status: keys.ipseckey.status };
}

/**
 * The first IPSECKEY (lowest precedence) for a gateway other than the host, with its key and the
 * gateway's address or name: usable only where the policy allows tunnel mode.
 */
function gatewayKeyFor(keys: HostKeys, address: string): { key: PeerKey; gateway: string } | undefined {
  for (const entry of keys.ipseckey.records) {
    const { gateway } = entry.rdata;
    if (gateway.type === GatewayType.None || entry.key.kind !== 'key') continue;
    const target = 'address' in gateway ? gateway.address : gateway.name;
    if ('address' in gateway && sameAddress(gateway.address, address)) continue;
    return { key: { precedence: entry.rdata.precedence, keyType: entry.key.keyType, spkiPem: entry.key.spkiPem, status: keys.ipseckey.status }, gateway: target };
  }
  return undefined;
}

function certFor(keys: HostKeys): PeerKey | undefined {
  const certificate = keys.cert.records.find((e) => e.certificate)?.certificate;
  if (!certificate) return undefined;
  const publicKey = certificate.publicKey;
  return { precedence: 0, keyType: publicKey.asymmetricKeyType ?? 'unknown', spkiPem: publicKey.export({ type: 'spki', format: 'pem' }) as string, status: keys.cert.status };
}

/** The policy engine's input for one address of the answer. */
export function policyInput(input: DecisionInput, address: AnsweredAddress): PolicyInput {
  const { keys, addressStatus, queryKeys } = input;
  return {
    name: input.name,
    queryName: input.qname.toLowerCase() === input.name.toLowerCase() ? undefined : input.qname,
    address: address.address,
    keys: {
      ipseckey: keyOutcome(keys.ipseckey, ipseckeyFor(keys, address.address) !== undefined, addressStatus),
      cert: keyOutcome(keys.cert, certFor(keys) !== undefined, addressStatus),
      // The map is keyed `443/tcp` (tlsaPortKey).
      tlsa: [...keys.tlsa].map(([portKey, set]) => {
        const [port, protocol] = portKey.split('/') as [string, TlsaPort['protocol']];
        return { port: Number(port), protocol, state: keyOutcome(set, set.records.length > 0, addressStatus) };
      }),
      ipseckeyViaGateway: keyOutcome(keys.ipseckey, gatewayKeyFor(keys, address.address) !== undefined, addressStatus),
      queryName: queryKeys && {
        // The address is not in the name asked for's RRset: only the policy makes its keys count.
        ipseckey: keyOutcome(queryKeys.ipseckey, ipseckeyFor(queryKeys, address.address) !== undefined, addressStatus),
        cert: keyOutcome(queryKeys.cert, certFor(queryKeys) !== undefined, addressStatus),
      },
    },
  };
}

function actionOf(decision: Decision, input: DecisionInput, address: string): AddressAction {
  const install = decidingFlow(decision).install;
  switch (install.kind) {
    case 'policy':
    case 'responder': {
      const queryName = install.kind === 'policy' && install.keyOwner === 'query-name';
      const keys = queryName ? input.queryKeys : input.keys;
      if (!keys) return { kind: 'none' };
      if (install.kind === 'policy' && install.mode === 'tunnel') {
        const via = gatewayKeyFor(keys, address);
        return via ? { kind: 'protect', level: install.level, key: via.key, mode: 'tunnel', gateway: via.gateway } : { kind: 'none' };
      }
      const key = install.keySource === 'cert' ? certFor(keys) : ipseckeyFor(keys, address);
      // decide() installs a policy only with a usable key, which keyOutcome saw; keep it so.
      if (!key) return { kind: 'none' };
      if (install.kind === 'responder') return { kind: 'responder', key };
      return { kind: 'protect', level: install.level, key, ...(queryName ? { keyOwner: input.qname } : {}) };
    }
    case 'block':
      return { kind: 'block' };
    case 'pass':
      return { kind: 'pass' };
    default:
      return { kind: 'none' };
  }
}

/** The keys to look up for a name: what the rules that could match it use. */
export function policyPlan(policies: () => PolicySet): (names: { readonly name: string; readonly queryName?: string | undefined }) => LookupPlan {
  return (names) => {
    const plan = planKeyLookups(policies(), names);
    return { ipseckey: plan.ipseckey, cert: plan.cert, tlsa: plan.tlsa, timeoutMs: plan.timeoutMs > 0 ? plan.timeoutMs : undefined, queryName: plan.queryName };
  };
}

/** The keys step's Decide, by the policies: one policy decision per address. */
export function policyDecide(options: PolicyDecideOptions): Decide {
  return (input) => {
    const set = options.policies();
    const exclusions = options.exclusions();
    const nowSeconds = Math.floor(input.nowMs / 1000);
    let waitMs = 0;
    let onTimeout: HostDecision['onTimeout'] = 'answer';
    let servfail: string | undefined;
    let lifetimeSeconds = Infinity;
    const addresses = input.addresses.map((address): AddressDecision => {
      const policy = decide(set, policyInput(input, address), { exclusions, shunts: options.shunts, nowSeconds });
      const flow = decidingFlow(policy);
      waitMs = Math.max(waitMs, policy.timeout.ms);
      if (policy.timeout.then === 'servfail') onTimeout = 'servfail';
      if (policy.servfail) servfail ??= `policy for ${input.name} ${policy.address}: ${flow.reason}`;
      const ttlSeconds = Math.max(0, (input.addressExpiresAtMs - input.nowMs) / 1000);
      const keyExpiries = [input.keys, input.queryKeys].flatMap((k) => (k ? [k.ipseckey.expiresAtMs, k.cert.expiresAtMs] : []));
      const keyValiditySeconds = Math.max(0, (Math.min(...keyExpiries) - input.nowMs) / 1000);
      lifetimeSeconds = Math.min(lifetimeSeconds, policyLifetimeSeconds(ttlSeconds, flow.settings.lifetime, keyValiditySeconds));
      // A failure shunt ends with a new attempt: the decision must not outlive it.
      if (policy.shunt) lifetimeSeconds = Math.min(lifetimeSeconds, Math.max(0, policy.shunt.expiresEpoch - nowSeconds));
      return { ...address, action: actionOf(policy, input, address.address), reason: summarizeDecision(policy), policy };
    });
    return {
      qname: input.qname, qtype: input.qtype, name: input.name, addresses,
      expiresAtMs: input.nowMs + (Number.isFinite(lifetimeSeconds) ? lifetimeSeconds * 1000 : 0),
      decidedBy: 'policies', waitMs, onTimeout, servfail, keys: input.keys,
    };
  };
}
