/** Human-readable accounts of a policy set and of one decision, for `oedns policies check` and logs. */
import { formatCidr, parseAddress } from './cidr.js';
import { decide } from './decide.js';
import { describeInstall, describeSource, KEY_OUTCOMES, type Decision, type FlowDecision, type KeyOutcomes } from './decision.js';
import { formatDomainPattern } from './domain-pattern.js';
import type { ExcludedRange } from './exclusions.js';
import { matchRules, type MatchNames } from './match.js';
import { describeRule, formatSelector, type PolicyRule, type PolicySet } from './rule.js';
import { ACTIONS, type Action } from './vocabulary.js';

/** Counts for the reload log line: `{ files: 3, rules: 4, require: 1, use: 2, ... }`. */
export interface PolicySummary {
  readonly files: number;
  readonly rules: number;
  readonly actions: Readonly<Record<Action, number>>;
}

export function summarizePolicySet(set: PolicySet): PolicySummary {
  const actions = Object.fromEntries(ACTIONS.map((a) => [a, set.rules.filter((r) => r.action === a).length])) as Record<Action, number>;
  return { files: set.files.length, rules: set.rules.length, actions };
}

export function formatRuleDetail(rule: PolicyRule): string {
  const parts = [
    `action ${rule.action}${rule.actionSpelling === rule.action ? '' : ` (written ${rule.actionSpelling})`}`,
    `domains ${rule.domains.length === 0 ? 'any' : rule.domains.map(formatDomainPattern).join(', ')}`,
    `networks ${rule.networks.length === 0 ? 'any' : rule.networks.map(formatCidr).join(', ')}`,
    `traffic ${formatSelector(rule.selector)}`,
    `dnssec ${rule.dnssec}`,
    ...(rule.flags.length > 0 ? [`flags ${rule.flags.join(', ')}`] : []),
    `keys ${rule.keySources.length === 0 ? 'none' : rule.keySources.join(', ')}`,
    ...(rule.tlsa.length > 0 ? [`tlsa ${rule.tlsa.map((t) => `${t.port}/${t.protocol}`).join(', ')}`] : []),
    `backend ${rule.settings.backend ?? 'default'}`,
    `initiate ${rule.settings.initiate}`,
    `ttl ${rule.settings.lifetime.minSeconds}-${rule.settings.lifetime.maxSeconds}s`,
    `timeout ${rule.settings.timeout.ms}ms then ${rule.settings.timeout.then}`,
    `shunt ${rule.settings.shuntLifetimeSeconds}s`,
    ...(rule.settings.tunnel ? ['tunnel to other gateways'] : []),
    ...(rule.settings.queryNameKeys ? ['keys also at the name asked for'] : []),
  ];
  return parts.join('; ');
}

function flowLine(flow: FlowDecision): string {
  return `${formatSelector(flow.selector)} traffic: ${describeInstall(flow.install)}${flow.servfail ? ' and answer SERVFAIL' : ''} (${flow.reason})`;
}

function outcomeLine(decision: Decision): string {
  return decision.flows.map(flowLine).join(' | ');
}

/**
 * Which rule a (name, address) pair meets and why: every rule tried before it and why it did not
 * match, the one that did, and what it decides for each key state (the keys are not looked up).
 */
export function explainMatch(set: PolicySet, names: MatchNames, addressText: string, ranges: readonly ExcludedRange[]): readonly string[] {
  const address = parseAddress(addressText);
  if (address === undefined) return [`"${addressText}" is not an IPv4 or IPv6 address`];
  const match = matchRules(set, names, address, ranges);
  const lines = [`${names.name}${names.queryName ? ` (asked as ${names.queryName})` : ''} ${addressText}:`];
  for (const exclusion of new Set(match.exclusions.map((e) => e.exclusion))) {
    lines.push(`  the address is covered by the built-in exclusion ${exclusion}: only rules naming it in "networks" apply`);
  }
  for (const trial of match.trials) {
    lines.push(`  ${trial.matched ? 'matched' : 'skipped'} rule ${describeRule(trial.rule)}: ${trial.why}`);
    if (trial.matched) lines.push(`    ${formatRuleDetail(trial.rule)}`);
  }
  const first = decide(set, { ...names, address: addressText, keys: { ipseckey: 'none', cert: 'none', tlsa: [] } }, { exclusions: ranges, nowSeconds: 0 });
  const last = first.flows[first.flows.length - 1];
  if (last && last.source.kind !== 'rule') lines.push(`  for any other traffic: ${describeSource(last.source)}`);
  lines.push('  decision by key state (the same state for every key source):');
  for (const state of KEY_OUTCOMES) {
    const keys: KeyOutcomes = { ipseckey: state, cert: state, tlsa: [] };
    const decision = decide(set, { ...names, address: addressText, keys }, { exclusions: ranges, nowSeconds: 0 });
    lines.push(`    ${state.padEnd(8)} ${outcomeLine(decision)}`);
  }
  return lines;
}
