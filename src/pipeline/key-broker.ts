/**
 * The keys step of an A/AAAA answer: look up the host's keys (started together with the A/AAAA
 * query, so the added latency is the slowest parallel lookup, not the sum), decide, publish the
 * decision and hold the answer until subscribers report it in place, bounded by the decision's
 * wait. Remembers until when each (name, type) is covered, so cached answers skip all of it
 * while the decision holds.
 */
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { nameKey, RRType, typeName, type Message, type Question } from '../wire/index.js';
import type { AnsweredAddress, Decide, HostDecision } from './decision.js';
import type { DecisionBus, Settled } from './decision-bus.js';
import { finalName, gatherHostKeys, keyStatusOf, type HostKeys, type LookupPlan, type TlsaPort, type ValidatedAnswer, type ValidatedLookup } from './host-keys.js';

export interface KeyBrokerDeps {
  readonly lookup: ValidatedLookup;
  readonly decide: Decide;
  readonly bus: DecisionBus;
  readonly log: Logger;
  /** TLSA ports of the built-in default; a `plan` (from the policies) replaces them. */
  readonly tlsaPorts: readonly TlsaPort[];
  /** Which keys to look up for a host (and the name asked for); default: all, with tlsaPorts. */
  readonly plan?: ((names: { readonly name: string; readonly queryName?: string | undefined }) => LookupPlan) | undefined;
  readonly nowMs?: () => number;
  /** Bound on remembered coverage entries (one per name and type). */
  readonly maxCovered?: number;
}

/** What the pipeline does with the client's answer after the keys step. */
export type Release =
  | { readonly release: true; readonly decision?: HostDecision | undefined }
  | { readonly release: false; readonly reason: string; readonly decision?: HostDecision | undefined };

const DEFAULT_MAX_COVERED = 100_000;

export function isAddressQuestion(question: Question): boolean {
  return question.type === RRType.A || question.type === RRType.AAAA;
}

/** The addresses of `type` (A or AAAA) owned by `name` in an answer. */
export function addressesOf(message: Message, name: string, type: number): AnsweredAddress[] {
  const owner = nameKey(name);
  const out: AnsweredAddress[] = [];
  for (const rr of message.answers) {
    if (rr.type !== type || nameKey(rr.name) !== owner) continue;
    if (type === RRType.A && rr.rdata.length === 4) out.push({ address: Array.from(rr.rdata).join('.'), family: 4 });
    if (type === RRType.AAAA && rr.rdata.length === 16) out.push({ address: ipv6Text(rr.rdata), family: 6 });
  }
  return out;
}

/** RFC 5952 text of a 16-byte address (node:net prints nothing shorter). */
function ipv6Text(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) { bestStart = i; bestLength = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export class KeyBroker {
  /** `name/type` → epoch ms until which the last decision for it holds. */
  private readonly covered = new Map<string, number>();
  /** Counts invalidateAll() calls: a decision settled across one is stale (see settle). */
  private generation = 0;
  private readonly nowMs: () => number;
  readonly stats = { decisions: 0, protected: 0, timeouts: 0, failures: 0 };

  constructor(private deps: KeyBrokerDeps) {
    this.nowMs = deps.nowMs ?? Date.now;
  }

  /** New TLSA ports or decision rules (SIGHUP): decisions already made hold until they lapse. */
  reconfigure(changes: Partial<Pick<KeyBrokerDeps, 'tlsaPorts' | 'decide' | 'plan'>>): void {
    this.deps = { ...this.deps, ...changes };
  }

  /** Whether an answer for (name, type) may go out from the cache with no keys step. */
  isCovered(nameKeyText: string, type: number, nowMs: number): boolean {
    const until = this.covered.get(`${nameKeyText}/${type}`);
    return until !== undefined && until > nowMs;
  }

  /**
   * Starts the key lookups for the name asked, alongside the A/AAAA query. Nothing waits on
   * them here: settle() finds them in flight or cached.
   */
  prefetch(question: Question, signal: AbortSignal): void {
    void gatherHostKeys(this.deps.lookup, question.name, this.planFor(question.name), signal, this.nowMs()).catch(() => undefined);
  }

  /**
   * The keys step for a validated A/AAAA answer: decide, publish, wait. Never rejects; a
   * decision that is not in place in time ends as the decision's onTimeout says.
   */
  async settle(question: Question, answer: ValidatedAnswer, signal: AbortSignal, again = false): Promise<Release> {
    const generation = this.generation;
    const name = finalName(question.name, answer.message);
    const addresses = addressesOf(answer.message, name, question.type);
    if (addresses.length === 0) return { release: true };
    const plan = this.planFor(name, question.name);
    const viaCname = nameKey(name) !== nameKey(question.name);
    const [keys, queryKeys]: [HostKeys, HostKeys | undefined] = await Promise.all([
      gatherHostKeys(this.deps.lookup, name, plan, signal, this.nowMs()),
      plan.queryName && viaCname ? gatherHostKeys(this.deps.lookup, question.name, { ...plan, tlsa: [] }, signal, this.nowMs()) : undefined,
    ]);
    let decision: HostDecision;
    try {
      decision = this.deps.decide({
        qname: question.name, qtype: question.type, name, addresses, addressStatus: keyStatusOf(answer.security),
        addressExpiresAtMs: answer.expiresAtMs, keys, queryKeys, nowMs: this.nowMs(),
      });
    } catch (error) {
      // A decision that cannot be made must not leave the addresses in the clear by accident.
      this.stats.failures += 1;
      this.deps.log.error({ qname: question.name, name, err: errorMessage(error) }, 'decision failed; answer withheld');
      return { release: false, reason: `no decision for ${name}: ${errorMessage(error)}` };
    }
    this.stats.decisions += 1;
    const acting = decision.addresses.some((a) => a.action.kind !== 'none');
    if (acting) this.stats.protected += 1;
    const started = this.nowMs();
    // A decision that acts on no address changes nothing to wait for.
    const settled: Settled = await this.deps.bus.publish(decision, signal, acting);
    this.logDecision(decision, settled, this.nowMs() - started, acting);
    // A policy that withholds the answer (require without a usable key) has had its block put in place.
    if (decision.servfail !== undefined) return { release: false, reason: decision.servfail, decision };
    if (settled.outcome === 'in-place') {
      // What the policies say changed while this decision was put in place (its own `initiate:
      // on-answer` failed, say, and a failure shunt is now in force): decide once more, so a
      // `require` answer is withheld rather than released on a negotiation that failed.
      if (this.generation !== generation && !again) return this.settle(question, answer, signal, true);
      this.cover(question, decision.expiresAtMs);
      return { release: true, decision };
    }
    if (settled.outcome === 'timeout') this.stats.timeouts += 1;
    else this.stats.failures += 1;
    const why = settled.outcome === 'timeout' ? `not in place after ${settled.afterMs} ms` : `failed: ${settled.error}`;
    if (decision.onTimeout === 'servfail') return { release: false, reason: `policy for ${decision.name} ${why}`, decision };
    return { release: true, decision };
  }

  /**
   * Forgets every decision, so that each name is decided again at its next query (its keys are
   * cached): after an IKE failure or success changed what the policies say about an address.
   */
  invalidateAll(): void {
    this.generation += 1;
    this.covered.clear();
  }

  private planFor(name: string, queryName?: string): LookupPlan {
    const plan = this.deps.plan;
    if (plan) return plan({ name, queryName: queryName !== undefined && nameKey(queryName) !== nameKey(name) ? queryName : undefined });
    return { ipseckey: true, cert: true, tlsa: this.deps.tlsaPorts };
  }

  private cover(question: Question, untilMs: number): void {
    const key = `${nameKey(question.name)}/${question.type}`;
    this.covered.delete(key);
    if (untilMs <= this.nowMs()) return;
    this.covered.set(key, untilMs);
    const max = this.deps.maxCovered ?? DEFAULT_MAX_COVERED;
    // Map order is insertion order: the first entries are the oldest decisions.
    while (this.covered.size > max) this.covered.delete(this.covered.keys().next().value!);
  }

  /** One line per decision: info when it acts on an address, debug when it does nothing. */
  private logDecision(decision: HostDecision, settled: Settled, waitedMs: number, acting: boolean): void {
    const fields = {
      qname: decision.qname, qtype: typeName(decision.qtype), name: decision.name, decidedBy: decision.decidedBy,
      addresses: decision.addresses.map((a) => ({ address: a.address, action: a.action.kind === 'protect' ? `protect/${a.action.level}` : a.action.kind, reason: a.reason })),
      ipseckey: decision.keys.ipseckey.status, ipseckeys: decision.keys.ipseckey.records.length, rejected: decision.keys.ipseckey.rejected,
      expiresInS: Math.max(0, Math.round((decision.expiresAtMs - this.nowMs()) / 1000)), settled: settled.outcome, waitedMs,
    };
    if (settled.outcome !== 'in-place') this.deps.log.warn({ ...fields, error: 'error' in settled ? settled.error : undefined }, 'decision not in place in time');
    else if (acting) this.deps.log.info(fields, 'decision');
    else if (this.deps.log.isLevelEnabled('debug')) this.deps.log.debug(fields, 'decision');
  }
}
