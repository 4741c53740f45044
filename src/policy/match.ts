/**
 * Which rules apply to a (name, address) pair. Rules are tried in order and the first match
 * decides, as in a firewall; order, not specificity, wins. A rule with a protocol selector
 * (`protocol`, `ports`, `icmp-types`) decides only that traffic: it is collected and the walk goes
 * on to the first matching rule for any traffic, which decides the rest. The result becomes an
 * ordered list of SPD entries, so each packet still meets the first rule that matched it.
 */
import { cidrContains, formatAddress, formatCidr, type IpAddress } from './cidr.js';
import { domainMatches, formatDomainPattern, nameLabels } from './domain-pattern.js';
import { exclusionsOf, ruleNamesExclusions, type ExcludedRange } from './exclusions.js';
import { isNarrow, type PolicyRule, type PolicySet, type TlsaPort } from './rule.js';

/** The names a rule's `domains` are compared with. */
export interface MatchNames {
  /** The host's own name: the end of any CNAME chain, where its keys were looked up. */
  readonly name: string;
  /** The name the client asked for, when a CNAME chain led from it to `name`. */
  readonly queryName?: string | undefined;
}

/** One rule tried, and why it matched or did not. */
export interface RuleTrial {
  readonly rule: PolicyRule;
  readonly matched: boolean;
  readonly why: string;
}

export interface Match {
  readonly address: IpAddress;
  /** Built-in exclusions covering the address; rules that do not name them were skipped. */
  readonly exclusions: readonly ExcludedRange[];
  /** Matching rules in order: narrow ones, then the one that decides any traffic (if any). */
  readonly rules: readonly PolicyRule[];
  /** Every rule tried, in order, up to the deciding one. */
  readonly trials: readonly RuleTrial[];
}

function domainTrial(rule: PolicyRule, names: readonly (readonly string[])[]): string | undefined {
  if (rule.domains.length === 0) return 'any name';
  for (const labels of names) {
    const pattern = rule.domains.find((p) => domainMatches(p, labels));
    if (pattern) return `name ${labels.join('.')} matches ${formatDomainPattern(pattern)}`;
  }
  return undefined;
}

function networkTrial(rule: PolicyRule, address: IpAddress): string | undefined {
  if (rule.networks.length === 0) return 'any address';
  const network = rule.networks.find((n) => cidrContains(n, address));
  return network ? `address ${formatAddress(address)} is in ${formatCidr(network)}` : undefined;
}

function tryRule(rule: PolicyRule, names: readonly (readonly string[])[], address: IpAddress, excluded: readonly ExcludedRange[]): RuleTrial {
  const byDomain = domainTrial(rule, names);
  if (byDomain === undefined) {
    return { rule, matched: false, why: `no pattern of ${rule.domains.map(formatDomainPattern).join(', ')} matches ${names.map((l) => l.join('.')).join(' or ')}` };
  }
  const byNetwork = networkTrial(rule, address);
  if (byNetwork === undefined) {
    return { rule, matched: false, why: `address ${formatAddress(address)} is in none of ${rule.networks.map(formatCidr).join(', ')}` };
  }
  if (excluded.length > 0 && !ruleNamesExclusions(rule, address, excluded)) {
    const kinds = [...new Set(excluded.map((e) => e.exclusion))].join(', ');
    return { rule, matched: false, why: `address ${formatAddress(address)} is excluded (${kinds}) and the rule's networks do not name it` };
  }
  return { rule, matched: true, why: `${byDomain}; ${byNetwork}${excluded.length > 0 ? '; names the excluded range explicitly' : ''}` };
}

/** The labels of the names to compare; a name that is not a usable domain name matches no pattern. */
function labelsOf(names: MatchNames): readonly (readonly string[])[] {
  return [names.name, names.queryName]
    .filter((n): n is string => n !== undefined)
    .map(nameLabels)
    .filter((l): l is readonly string[] => l !== undefined);
}

/** The rules for a pair, in order. `ranges` comes from excludedRanges(). */
export function matchRules(set: PolicySet, names: MatchNames, address: IpAddress, ranges: readonly ExcludedRange[]): Match {
  const labelSets = labelsOf(names);
  const excluded = exclusionsOf(address, ranges);
  const rules: PolicyRule[] = [];
  const trials: RuleTrial[] = [];
  for (const rule of set.rules) {
    const trial = tryRule(rule, labelSets, address, excluded);
    trials.push(trial);
    if (!trial.matched) continue;
    rules.push(rule);
    if (!isNarrow(rule.selector)) break;
  }
  return { address, exclusions: excluded, rules, trials };
}

/** The key lookups a name may need before its address is known (they run beside A/AAAA). */
export interface KeyPlan {
  readonly ipseckey: boolean;
  readonly cert: boolean;
  readonly tlsa: readonly TlsaPort[];
  /** The longest hold any candidate rule allows for keys and install. */
  readonly timeoutMs: number;
  /** Also look up keys at the name asked for (a candidate rule has `query-name-keys`). */
  readonly queryName: boolean;
}

/**
 * What to fetch for a name, as the union over every rule that could match it at some address:
 * rules are walked by name only, up to the first one for any address and any traffic.
 */
export function planKeyLookups(set: PolicySet, names: MatchNames): KeyPlan {
  const labelSets = labelsOf(names);
  const candidates: PolicyRule[] = [];
  for (const rule of set.rules) {
    if (domainTrial(rule, labelSets) === undefined) continue;
    candidates.push(rule);
    if (rule.networks.length === 0 && !isNarrow(rule.selector)) break;
  }
  const tlsa = new Map<string, TlsaPort>();
  for (const t of candidates.flatMap((r) => r.tlsa)) tlsa.set(`${t.port}/${t.protocol}`, t);
  return {
    ipseckey: candidates.some((r) => r.keySources.includes('ipseckey')),
    cert: candidates.some((r) => r.keySources.includes('cert')),
    tlsa: [...tlsa.values()],
    timeoutMs: Math.max(0, ...candidates.map((r) => r.settings.timeout.ms)),
    queryName: candidates.some((r) => r.settings.queryNameKeys),
  };
}
