/**
 * Rules that can never decide anything because an earlier rule matches everything they match
 * (first match wins). Reported as warnings by `oedns policies check`: a narrower rule written
 * after a broader one is the classic firewall mistake. Conservative: a warning means the rule
 * is certainly shadowed; a rule covered only by several earlier rules together is not reported.
 */
import { cidrWithin, type Cidr } from './cidr.js';
import { domainPatternWithin } from './domain-pattern.js';
import { excludedRanges, NO_RUNTIME_EXCLUSIONS } from './exclusions.js';
import { describeRule, type PolicyRule, type PolicySet, type PortRange, type Selector } from './rule.js';

export interface ShadowedRule {
  readonly rule: PolicyRule;
  readonly by: PolicyRule;
  readonly message: string;
}

const FIXED_EXCLUSIONS = excludedRanges(NO_RUNTIME_EXCLUSIONS);

function domainsCovered(inner: PolicyRule, outer: PolicyRule): boolean {
  if (outer.domains.length === 0) return true;
  if (inner.domains.length === 0) return false;
  return inner.domains.every((p) => outer.domains.some((q) => domainPatternWithin(p, q)));
}

/** An earlier rule acts on an excluded range only if it names it too (exclusions.ts). */
function networkCovered(inner: Cidr, outer: PolicyRule): boolean {
  const excluded = FIXED_EXCLUSIONS.filter((e) => cidrWithin(inner, e.range));
  return outer.networks.some((m) => cidrWithin(inner, m) && excluded.every((e) => cidrWithin(m, e.range)));
}

function networksCovered(inner: PolicyRule, outer: PolicyRule): boolean {
  if (inner.networks.length === 0) return outer.networks.length === 0;
  if (outer.networks.length === 0) return inner.networks.every((n) => !FIXED_EXCLUSIONS.some((e) => cidrWithin(n, e.range)));
  return inner.networks.every((n) => networkCovered(n, outer));
}

function rangesCovered(inner: readonly PortRange[], outer: readonly PortRange[]): boolean {
  if (outer.length === 0) return true;
  if (inner.length === 0) return false;
  return inner.every((r) => outer.some((o) => o.first <= r.first && r.last <= o.last));
}

function selectorCovered(inner: Selector, outer: Selector): boolean {
  if (outer.protocol === undefined) return true;
  if (inner.protocol !== outer.protocol) return false;
  const asRanges = (types: readonly number[]): PortRange[] => types.map((t) => ({ first: t, last: t }));
  return rangesCovered(inner.ports, outer.ports) && rangesCovered(asRanges(inner.icmpTypes), asRanges(outer.icmpTypes));
}

export function covers(outer: PolicyRule, inner: PolicyRule): boolean {
  return domainsCovered(inner, outer) && networksCovered(inner, outer) && selectorCovered(inner.selector, outer.selector);
}

export function findShadowedRules(set: PolicySet): readonly ShadowedRule[] {
  const shadowed: ShadowedRule[] = [];
  set.rules.forEach((rule, i) => {
    const by = set.rules.slice(0, i).find((earlier) => covers(earlier, rule));
    if (by) {
      shadowed.push({ rule, by, message: `rule ${describeRule(rule)} is never reached: the earlier rule ${describeRule(by)} matches everything it matches` });
    }
  });
  return shadowed;
}
