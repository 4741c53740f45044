/**
 * How the keys step decides, for main.ts to hand to the KeyBroker: by the policy directory when
 * there is one (watched, and re-read on SIGHUP; a broken reload keeps the previous set), else by
 * the built-in default; with the failure shunts and the built-in exclusions (the configured
 * upstreams, this host's addresses).
 */
import { localAddresses, type Config } from './config/index.js';
import { defaultDecision, policyDecide, policyPlan, type KeyBrokerDeps } from './pipeline/index.js';
import { excludedRanges, ShuntTable, type ExcludedRange, type PolicyStore } from './policy/index.js';

/** A plan that also looks up the TLSA ports given by flag, whatever the rules name. */
function withPorts(plan: NonNullable<KeyBrokerDeps['plan']>, ports: Config['keys']['tlsaPorts']): NonNullable<KeyBrokerDeps['plan']> {
  if (ports.length === 0) return plan;
  return (names) => {
    const planned = plan(names);
    const extra = ports.filter((p) => !planned.tlsa.some((t) => t.port === p.port && t.protocol === p.protocol));
    return { ...planned, tlsa: [...planned.tlsa, ...extra] };
  };
}

/**
 * How the keys step decides: by the policy directory when there is one (watched, and re-read on
 * SIGHUP; a broken reload keeps the previous set), else by the built-in default. Built-in
 * exclusions follow the configured upstreams and this host's addresses.
 */
export class DecisionRules {
  readonly shunts = new ShuntTable();
  private exclusions: readonly ExcludedRange[];

  constructor(private config: Config, private readonly policies: PolicyStore | undefined) {
    this.exclusions = DecisionRules.exclusionsOf(config);
  }

  /** Re-reads the policy directory when its files change (serve; `lookup` decides once). */
  watch(): void {
    this.policies?.watch();
  }

  private static exclusionsOf(config: Config): readonly ExcludedRange[] {
    return excludedRanges({ upstreams: config.upstream.servers.map((s) => s.address), localAddresses: localAddresses() });
  }

  brokerSettings(): Pick<KeyBrokerDeps, 'decide' | 'plan' | 'tlsaPorts'> {
    const store = this.policies;
    if (!store) {
      return { decide: defaultDecision({ waitMs: this.config.keys.answerTimeoutMs, onTimeout: this.config.keys.onTimeout }), plan: undefined, tlsaPorts: this.config.keys.tlsaPorts };
    }
    return {
      decide: policyDecide({ policies: () => store.current, exclusions: () => this.exclusions, shunts: this.shunts }),
      plan: withPorts(policyPlan(() => store.current), this.config.keys.tlsaPorts),
      tlsaPorts: this.config.keys.tlsaPorts,
    };
  }

  async reload(config: Config): Promise<void> {
    this.config = config;
    this.exclusions = DecisionRules.exclusionsOf(config);
    await this.policies?.reload();
  }

  close(): void {
    this.policies?.close();
  }
}
