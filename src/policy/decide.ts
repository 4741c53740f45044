/**
 * The decision for one address of one name: the matching rules (match.ts), each turned into an
 * SPD entry from the action and the keys found, plus the failure shunt and exclusions.
 *
 * Glossary: a key is *usable* when its DNSSEC state is one the rule accepts — secure always;
 * insecure under `dnssec: insecure-ok` (or `no-dnssec`); bogus only with `ignore-bogus`, which
 * needs insecure accepted; never `none` or `timeout`. See decision-table.ts for every case.
 */
import { formatAddress, parseAddress } from './cidr.js';
import {
  describeSource, type Decision, type DecisionSource, type FlowDecision, type Install, type KeyOutcome,
  type KeyOutcomes, type PolicyInput, type TlsDecision,
} from './decision.js';
import { Exclusion, ruleNamesNeighborDiscovery, type ExcludedRange } from './exclusions.js';
import { matchRules } from './match.js';
import { ANY_SELECTOR, type LifetimeClamp, type PolicyRule, type PolicySet, type RuleSettings, type TimeoutBehaviour } from './rule.js';
import type { Shunt, ShuntLookup } from './shunts.js';
import {
  Action, DnssecLevel, IpProtocol, NEIGHBOR_DISCOVERY_TYPES, NegativeFlag, OnTimeout, RULE_DEFAULTS,
  defaultInitiate, type KeySource,
} from './vocabulary.js';

export interface DecisionContext {
  /** From excludedRanges({ upstreams, localAddresses }). */
  readonly exclusions: readonly ExcludedRange[];
  readonly shunts?: ShuntLookup | undefined;
  readonly nowSeconds: number;
}

/** Settings of entries no rule made (exclusions, no match). */
export const DEFAULT_SETTINGS: RuleSettings = {
  backend: undefined,
  initiate: defaultInitiate(Action.Clear),
  lifetime: { minSeconds: RULE_DEFAULTS.minTtlSeconds, maxSeconds: RULE_DEFAULTS.maxTtlSeconds },
  timeout: { ms: RULE_DEFAULTS.timeoutMs, then: OnTimeout.Answer },
  shuntLifetimeSeconds: RULE_DEFAULTS.shuntLifetimeSeconds,
  proposals: undefined,
  tunnel: false,
  queryNameKeys: false,
};

export function keyUsable(state: KeyOutcome, rule: PolicyRule): boolean {
  switch (state) {
    case 'secure': return true;
    case 'insecure': return rule.dnssec === DnssecLevel.InsecureOk;
    case 'bogus': return rule.dnssec === DnssecLevel.InsecureOk && rule.flags.includes(NegativeFlag.IgnoreBogus);
    default: return false;
  }
}

/** Why no key was usable, worst first: bogus, timeout, unsigned, none. */
function noKeyReason(states: readonly KeyOutcome[]): { readonly why: string; readonly timedOut: boolean } {
  if (states.includes('bogus')) return { why: 'key is bogus (accepted only with ignore-bogus and insecure-ok)', timedOut: false };
  if (states.includes('timeout')) return { why: 'key lookup timed out', timedOut: true };
  if (states.includes('insecure')) return { why: 'key is not DNSSEC-secure and the rule needs dnssec: secure', timedOut: false };
  return { why: 'no key', timedOut: false };
}

type Outcome = Pick<FlowDecision, 'install' | 'servfail' | 'reason'>;

/** The entry one rule makes from the keys and the shunt in force. */
/** A key a rule may use: from which source, and where it came from. */
interface KeyChoice {
  readonly source: KeySource;
  readonly state: KeyOutcome;
  readonly mode?: 'tunnel' | undefined;
  readonly keyOwner?: 'query-name' | undefined;
}

/**
 * The keys a rule may use, in order of preference: for each of its sources the host's own key
 * (transport mode), then, if the rule allows, an IPSECKEY through another gateway (`tunnel`) and
 * the key at the name asked for (`query-name-keys`).
 */
function keyChoices(rule: PolicyRule, keys: KeyOutcomes): KeyChoice[] {
  const choices: KeyChoice[] = [];
  for (const source of rule.keySources) {
    choices.push({ source, state: keys[source] });
    if (source === 'ipseckey' && rule.settings.tunnel && keys.ipseckeyViaGateway) choices.push({ source, state: keys.ipseckeyViaGateway, mode: 'tunnel' });
    if (rule.settings.queryNameKeys && keys.queryName) choices.push({ source, state: keys.queryName[source], keyOwner: 'query-name' });
  }
  return choices;
}

function describeChoice(choice: KeyChoice): string {
  return `${choice.state} ${choice.source}${choice.mode ? ' via a gateway (tunnel)' : ''}${choice.keyOwner ? ' at the name asked for' : ''}`;
}

export function decideRule(rule: PolicyRule, keys: KeyOutcomes, shunt: Shunt | undefined): Outcome {
  const choices = keyChoices(rule, keys);
  const chosen = choices.find((c) => keyUsable(c.state, rule));
  const source = chosen?.source;
  const missing = noKeyReason(choices.map((c) => c.state));
  const policy = (level: 'require' | 'use'): Install => ({
    kind: 'policy', level, keySource: chosen!.source,
    ...(chosen!.mode ? { mode: chosen!.mode } : {}), ...(chosen!.keyOwner ? { keyOwner: chosen!.keyOwner } : {}),
  });
  const until = shunt ? `failure shunt until ${shunt.expiresEpoch} (${shunt.reason})` : '';
  switch (rule.action) {
    case Action.Clear: return { install: { kind: 'none' }, servfail: false, reason: 'action clear' };
    case Action.Block: return { install: { kind: 'block' }, servfail: false, reason: 'action block' };
    case Action.Require:
      if (shunt) return { install: { kind: 'block' }, servfail: true, reason: `require: ${until}` };
      if (chosen) return { install: policy('require'), servfail: false, reason: `require: ${describeChoice(chosen)}` };
      return { install: { kind: 'block' }, servfail: true, reason: `require: ${missing.why}` };
    case Action.Use:
      if (shunt) return { install: { kind: 'pass' }, servfail: false, reason: `use: ${until}` };
      if (chosen) return { install: policy('use'), servfail: false, reason: `use: ${describeChoice(chosen)}` };
      if (missing.timedOut && rule.settings.timeout.then === OnTimeout.Servfail) {
        return { install: { kind: 'none' }, servfail: true, reason: `use: ${missing.why} (on-timeout: servfail)` };
      }
      return { install: { kind: 'none' }, servfail: false, reason: `use: ${missing.why}` };
    case Action.ClearOrPrivate:
      if (source && chosen) return { install: { kind: 'responder', keySource: source }, servfail: false, reason: `clear-or-private: ${describeChoice(chosen)}` };
      return { install: { kind: 'none' }, servfail: false, reason: `clear-or-private: ${missing.why}` };
  }
}

function flow(source: DecisionSource, action: Action, install: Install, reason: string): FlowDecision {
  return { selector: ANY_SELECTOR, action, install, servfail: false, source, settings: DEFAULT_SETTINGS, reason };
}

const NEIGHBOR_DISCOVERY_BYPASS = {
  ...flow({ kind: 'exclusion', exclusion: Exclusion.NeighborDiscovery }, Action.Clear, { kind: 'pass' },
    'built-in exclusion neighbor-discovery'),
  selector: { protocol: IpProtocol.Ipv6Icmp, ports: [], icmpTypes: NEIGHBOR_DISCOVERY_TYPES },
} satisfies FlowDecision;

/** The strictest hold of the flows that install something: the shortest, SERVFAIL if any says so. */
function combinedTimeout(flows: readonly FlowDecision[]): TimeoutBehaviour {
  const ruled = flows.filter((f) => f.source.kind === 'rule' && f.install.kind !== 'none');
  if (ruled.length === 0) return DEFAULT_SETTINGS.timeout;
  return {
    ms: Math.min(...ruled.map((f) => f.settings.timeout.ms)),
    then: ruled.some((f) => f.settings.timeout.then === OnTimeout.Servfail) ? OnTimeout.Servfail : OnTimeout.Answer,
  };
}

function tlsDecision(rule: PolicyRule | undefined, keys: KeyOutcomes): TlsDecision {
  const negotiates = rule !== undefined && rule.action !== Action.Clear && rule.action !== Action.Block;
  const daneOff = !negotiates || rule.flags.includes(NegativeFlag.NoDane);
  const tlsa = (rule?.tlsa ?? []).map((t) => {
    const state = keys.tlsa.find((o) => o.port === t.port && o.protocol === t.protocol)?.state ?? 'none';
    return { ...t, state, usable: rule !== undefined && keyUsable(state, rule) };
  });
  return {
    dane: daneOff ? 'off' : rule.action === Action.Require ? 'require' : 'use',
    ldap: negotiates && !rule.flags.includes(NegativeFlag.NoLdap),
    tlsa: daneOff ? [] : tlsa,
  };
}

/** Decides for one (name, address) pair with the keys found for it. */
export function decide(set: PolicySet, input: PolicyInput, context: DecisionContext): Decision {
  const address = parseAddress(input.address);
  if (address === undefined) throw new Error(`policy input address "${input.address}" is not an IP address`);
  const canonical = formatAddress(address);
  const match = matchRules(set, input, address, context.exclusions);
  const shunt = context.shunts?.active(canonical, context.nowSeconds);
  const flows: FlowDecision[] = match.rules.map((rule) => ({
    selector: rule.selector, action: rule.action, source: { kind: 'rule', rule }, settings: rule.settings,
    ...decideRule(rule, input.keys, shunt),
  }));
  const deciding = match.rules.at(-1);
  if (deciding === undefined || deciding.selector.protocol !== undefined) {
    const excluded = match.exclusions[0];
    flows.push(excluded
      ? flow({ kind: 'exclusion', exclusion: excluded.exclusion }, Action.Clear, { kind: 'none' }, `address is ${excluded.exclusion} (built-in exclusion)`)
      : flow({ kind: 'default' }, Action.Clear, { kind: 'none' }, 'no rule matched'));
  }
  const installs = flows.some((f) => f.install.kind !== 'none' && f.install.kind !== 'pass');
  if (address.family === 6 && installs && !match.rules.some(ruleNamesNeighborDiscovery)) flows.unshift(NEIGHBOR_DISCOVERY_BYPASS);
  return {
    name: input.name,
    queryName: input.queryName,
    address: canonical,
    servfail: flows.some((f) => f.servfail),
    flows,
    timeout: combinedTimeout(flows),
    tls: tlsDecision(match.rules.filter((r) => r.selector.protocol === undefined).at(-1), input.keys),
    shunt,
  };
}

/**
 * How long an installed policy lives: the DNS TTL clamped to the rule's [min-ttl, max-ttl], and
 * never past the key's own validity (issue 4: min(TTL, RRSIG expiration)) when that is given.
 */
export function policyLifetimeSeconds(ttlSeconds: number, clamp: LifetimeClamp, keyValiditySeconds = Infinity): number {
  return Math.min(Math.max(ttlSeconds, clamp.minSeconds), clamp.maxSeconds, keyValiditySeconds);
}

/** One line for logs and `policies check`: `192.0.2.10 www.example.org: require (ipseckey) by rule f:3:5`. */
export function summarizeDecision(decision: Decision): string {
  const last = decision.flows[decision.flows.length - 1];
  const what = last ? `${last.reason} by ${describeSource(last.source)}` : 'nothing';
  return `${decision.name} ${decision.address}: ${what}${decision.servfail ? '; SERVFAIL' : ''}`;
}
