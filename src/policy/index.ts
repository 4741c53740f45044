/**
 * The policy engine (issue 5): policy files in, a decision per (name, address, keys) out.
 * Pure apart from PolicyStore/PolicyWatcher (files) and the `policies check` command.
 */
export {
  Action, ACTION_ALIASES, ACTIONS, Backend, DnssecLevel, Initiate, IpProtocol, KeySource, NegativeFlag, OnTimeout,
  NEIGHBOR_DISCOVERY_TYPES, RULE_DEFAULTS,
} from './vocabulary.js';
export { PolicyError, formatIssue, formatPosition, type PolicyIssue, type SourcePosition } from './errors.js';
export {
  ANY_SELECTOR, EMPTY_POLICY_SET, describeRule, formatSelector,
  type IkeProposals, type LifetimeClamp, type PolicyRule, type PolicySet, type PortRange, type RuleSettings, type Selector,
  type TimeoutBehaviour, type TlsaPort,
} from './rule.js';
export { parsePolicyFile, parsePolicySet, type PolicyFile, type PolicySource } from './policy-file.js';
export { isPolicyFileName, loadPolicyDir, readPolicyDir } from './policy-dir.js';
export { Exclusion, excludedRanges, NO_RUNTIME_EXCLUSIONS, type ExcludedRange, type ExclusionContext } from './exclusions.js';
export { matchRules, planKeyLookups, type KeyPlan, type Match, type MatchNames, type RuleTrial } from './match.js';
export {
  KEY_OUTCOMES, KEY_STATES, decidingFlow, describeInstall, describeSource,
  type Decision, type DecisionSource, type FlowDecision, type Install, type KeyOutcome, type KeyOutcomes, type KeyState,
  type PolicyInput, type TlsaOutcome, type TlsDecision,
} from './decision.js';
export { DEFAULT_SETTINGS, decide, keyUsable, policyLifetimeSeconds, summarizeDecision, type DecisionContext } from './decide.js';
export { ShuntTable, type Shunt, type ShuntLookup } from './shunts.js';
export { explainMatch, summarizePolicySet, type PolicySummary } from './explain.js';
export { findShadowedRules, type ShadowedRule } from './shadow.js';
export { DECISION_TABLE, renderDecisionTable, type DecisionTableRow } from './decision-table.js';
export { PolicyStore, type PolicyStoreOptions, type ReloadResult } from './policy-store.js';
export { DEFAULT_DEBOUNCE_MS, PolicyWatcher } from './policy-watcher.js';
export { defaultPoliciesDir, policiesCommand, runPoliciesCheck, SHIPPED_POLICIES_DIR, type PoliciesCheckOptions } from './policies-command.js';
