/**
 * One rule from its YAML mapping: each field read and checked, then the combinations that
 * contradict each other or switch security off without saying so are refused.
 */
import type { Node } from 'yaml';
import { ANY_SELECTOR, type PolicyRule, type RuleSettings, type Selector } from './rule.js';
import { readDomains, readIcmpTypes, readNetworks, readPorts, readProposals, readProtocol, readTlsaPorts } from './rule-fields.js';
import type { Located, YamlReader } from './yaml-reader.js';
import {
  Action, ACTION_ALIASES, ACTIONS, Backend, defaultInitiate, DnssecLevel, failsClosed, ICMP_PROTOCOLS, IKE_BACKENDS,
  Initiate, KeySource, NegativeFlag, OnTimeout, PORT_PROTOCOLS, RULE_DEFAULTS,
} from './vocabulary.js';

export const RULE_KEYS = [
  'description', 'domains', 'networks', 'protocol', 'ports', 'icmp-types', 'action', 'dnssec', 'flags', 'keys',
  'tlsa-ports', 'backend', 'initiate', 'min-ttl', 'max-ttl', 'timeout-ms', 'on-timeout', 'shunt-lifetime', 'proposals',
  'tunnel', 'query-name-keys',
] as const;
type RuleKey = (typeof RULE_KEYS)[number];

/** Keys that mean nothing when nothing is negotiated (`clear`, `block`). */
const KEY_HANDLING_KEYS: readonly RuleKey[] = ['dnssec', 'flags', 'keys', 'tlsa-ports', 'initiate', 'proposals', 'tunnel', 'query-name-keys'];
const ONE_DAY_MS = 86_400_000;
const ONE_WEEK_SECONDS = 604_800;

type Fields = ReadonlyMap<RuleKey, Located<Node>>;

function wordList<T extends string>(reader: YamlReader, node: Node, key: string, words: readonly T[]): readonly Located<T>[] | undefined {
  const items = reader.strings(node, key);
  if (items === undefined) return undefined;
  const read = items.map((item) => ({ value: reader.word(item.node, key, words), node: item.node }));
  if (read.some((r) => r.value === undefined)) return undefined;
  const seen = new Set<string>();
  for (const r of read as Located<T>[]) {
    if (seen.has(r.value)) return reader.fail(r.node, `"${r.value}" is listed twice in "${key}"`);
    seen.add(r.value);
  }
  return read as Located<T>[];
}

function readSelector(reader: YamlReader, fields: Fields): Selector | undefined {
  const protocolField = fields.get('protocol');
  const portsField = fields.get('ports');
  const typesField = fields.get('icmp-types');
  const protocol = protocolField ? readProtocol(reader, protocolField.value) : 'any';
  const ports = portsField ? readPorts(reader, portsField.value) : [];
  const icmpTypes = typesField ? readIcmpTypes(reader, typesField.value) : [];
  if (protocol === undefined || ports === undefined || icmpTypes === undefined) return undefined;
  if (portsField && (protocol === 'any' || !PORT_PROTOCOLS.includes(protocol))) {
    return reader.fail(portsField.node, '"ports" needs "protocol" tcp, udp or sctp');
  }
  if (typesField && (protocol === 'any' || !ICMP_PROTOCOLS.includes(protocol))) {
    return reader.fail(typesField.node, '"icmp-types" needs "protocol" icmp or ipv6-icmp');
  }
  return protocol === 'any' ? ANY_SELECTOR : { protocol, ports, icmpTypes };
}

type FieldReader = <T>(key: RuleKey, read: (n: Node) => T | undefined) => T | undefined;

function fieldReader(fields: Fields): FieldReader {
  return (key, read) => {
    const entry = fields.get(key);
    return entry === undefined ? undefined : read(entry.value);
  };
}

/** What the rule hands on to the backend; defaults depend on the action (any, while it is unknown). */
function readSettings(reader: YamlReader, field: FieldReader, action: Action = Action.Use): RuleSettings {
  const integer = (key: RuleKey, min: number, max: number): number | undefined => field(key, (n) => reader.integer(n, key, min, max));
  const onTimeout = field('on-timeout', (n) => reader.word(n, 'on-timeout', Object.values(OnTimeout)));
  return {
    backend: field('backend', (n) => reader.word(n, 'backend', Object.values(Backend))),
    initiate: field('initiate', (n) => reader.word(n, 'initiate', Object.values(Initiate))) ?? defaultInitiate(action),
    lifetime: {
      minSeconds: integer('min-ttl', 0, ONE_WEEK_SECONDS) ?? RULE_DEFAULTS.minTtlSeconds,
      maxSeconds: integer('max-ttl', 1, ONE_WEEK_SECONDS) ?? RULE_DEFAULTS.maxTtlSeconds,
    },
    timeout: {
      ms: integer('timeout-ms', 1, ONE_DAY_MS) ?? RULE_DEFAULTS.timeoutMs,
      then: onTimeout ?? (failsClosed(action) ? OnTimeout.Servfail : OnTimeout.Answer),
    },
    shuntLifetimeSeconds: integer('shunt-lifetime', 1, ONE_WEEK_SECONDS) ?? RULE_DEFAULTS.shuntLifetimeSeconds,
    proposals: field('proposals', (n) => readProposals(reader, n)),
    tunnel: field('tunnel', (n) => reader.boolean(n, 'tunnel')) ?? false,
    queryNameKeys: field('query-name-keys', (n) => reader.boolean(n, 'query-name-keys')) ?? false,
  };
}

/** Reads a rule; undefined (with issues on the reader) when anything about it is wrong. */
export function parseRule(reader: YamlReader, node: Node, index: number): PolicyRule | undefined {
  const issuesBefore = reader.issues.length;
  const fields = reader.mapping(node, 'a rule', RULE_KEYS) as Fields | undefined;
  if (fields === undefined) return undefined;
  const field = fieldReader(fields);
  if (!fields.has('action')) reader.fail(node, `a rule needs an "action": one of ${[...ACTIONS, ...Object.keys(ACTION_ALIASES)].join(', ')}`);
  const action = field('action', (n) => reader.word(n, 'action', ACTIONS, ACTION_ALIASES));
  const actionSpelling = action === undefined ? undefined : field('action', (n) => reader.string(n, 'action'));
  const description = field('description', (n) => reader.string(n, 'description'));
  const domains = field('domains', (n) => readDomains(reader, n)) ?? [];
  const networks = field('networks', (n) => readNetworks(reader, n)) ?? [];
  const selector = readSelector(reader, fields);
  const level = field('dnssec', (n) => reader.word(n, 'dnssec', Object.values(DnssecLevel)));
  const flags = field('flags', (n) => wordList(reader, n, 'flags', Object.values(NegativeFlag))) ?? [];
  const keys = field('keys', (n) => wordList(reader, n, 'keys', Object.values(KeySource)));
  const tlsa = field('tlsa-ports', (n) => readTlsaPorts(reader, n)) ?? [];
  const settings = readSettings(reader, field, action);
  if (action === undefined || actionSpelling === undefined || selector === undefined || reader.issues.length > issuesBefore) return undefined;
  const flagNames = flags.map((f) => f.value);
  const rule: PolicyRule = {
    position: reader.positionOf(node),
    index, description, domains, networks, selector, action, actionSpelling,
    dnssec: level ?? (flagNames.includes(NegativeFlag.NoDnssec) ? DnssecLevel.InsecureOk : RULE_DEFAULTS.dnssec),
    flags: flagNames,
    keySources: keys?.map((k) => k.value) ?? (failsOpenToNothing(action) ? [] : RULE_DEFAULTS.keySources),
    tlsa,
    settings,
  };
  checkConflicts(reader, rule, fields, flags);
  return reader.issues.length > issuesBefore ? undefined : rule;
}

function failsOpenToNothing(action: Action): boolean {
  return action === Action.Clear || action === Action.Block;
}

/** Settings that contradict each other. Each issue sits on the key that makes the conflict. */
function checkConflicts(reader: YamlReader, rule: PolicyRule, fields: Fields, flags: readonly Located<NegativeFlag>[]): void {
  const at = (key: RuleKey): Node | undefined => fields.get(key)?.node;
  const flag = (name: NegativeFlag): Node | undefined => flags.find((f) => f.value === name)?.node;
  const { action, settings } = rule;
  if (failsClosed(action) && settings.timeout.then === OnTimeout.Answer) {
    reader.fail(at('on-timeout'), `conflicting settings: "on-timeout: answer" with action ${rule.actionSpelling} would answer before the traffic is protected; ${action} always answers SERVFAIL at its timeout`);
  }
  if (failsOpenToNothing(action)) {
    for (const key of KEY_HANDLING_KEYS) {
      if (fields.has(key)) reader.fail(at(key), `"${key}" has no effect with action ${action}, which negotiates nothing; remove it`);
    }
    return;
  }
  const noDnssec = flag(NegativeFlag.NoDnssec);
  if (noDnssec && fields.has('dnssec') && rule.dnssec === DnssecLevel.Secure) {
    reader.fail(noDnssec, 'conflicting settings: "no-dnssec" accepts unsigned keys but "dnssec: secure" refuses them; keep one');
  }
  const ignoreBogus = flag(NegativeFlag.IgnoreBogus);
  if (ignoreBogus && rule.dnssec === DnssecLevel.Secure) {
    reader.fail(ignoreBogus, 'conflicting settings: "ignore-bogus" treats a bogus key as an unsigned one, which "dnssec: secure" refuses anyway; add "dnssec: insecure-ok" (or "no-dnssec") or drop the flag');
  }
  const noDane = flag(NegativeFlag.NoDane);
  if (noDane && fields.has('tlsa-ports')) reader.fail(noDane, 'conflicting settings: "no-dane" switches TLSA off but "tlsa-ports" asks for TLSA records; keep one');
  if (settings.lifetime.minSeconds > settings.lifetime.maxSeconds) {
    reader.fail(at('min-ttl') ?? at('max-ttl'), `conflicting settings: "min-ttl" (${settings.lifetime.minSeconds}) exceeds "max-ttl" (${settings.lifetime.maxSeconds})`);
  }
  if (action === Action.Require && rule.keySources.length === 0) {
    reader.fail(at('keys'), `action ${rule.actionSpelling} with no key source can never be satisfied; list "ipseckey" and/or "cert" in "keys"`);
  }
  if (action === Action.ClearOrPrivate) {
    if (settings.backend !== undefined && !IKE_BACKENDS.includes(settings.backend)) {
      reader.fail(at('backend'), `action ${rule.actionSpelling} answers the peer's IKE and needs an IKE backend (${IKE_BACKENDS.join(' or ')}), not ${settings.backend}`);
    }
    if (fields.has('initiate')) reader.fail(at('initiate'), `"initiate" has no effect with action ${rule.actionSpelling}, which never initiates; remove it`);
  }
  if (settings.proposals !== undefined && settings.backend !== undefined && settings.backend !== Backend.Vici) {
    reader.fail(at('proposals'), `"proposals" are hints for the vici backend; this rule uses ${settings.backend}`);
  }
}
