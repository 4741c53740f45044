/**
 * The responder side of opportunistic IKE: a peer this host never looked up initiates IKE with
 * it. IKEv2 reveals the peer's identity only in IKE_AUTH, and Debian's charon has no ipseckey
 * plugin, so charon refuses that first attempt ("no trusted … public key found for 'NAME'"). The
 * learner reads that from charon's log (vici-log.ts), resolves NAME through oedns' own
 * validating pipeline (the `learn` callback: the policies decide, a DNSSEC-secure key is
 * loaded into charon as for any answer), and the initiator's oedns tries again (vici-backend:
 * a refused authentication is retried after a short delay).
 *
 * Bounded, because anyone who can reach UDP 500 can make this host look names up: one lookup
 * per identity and address per cool-down, at most `maxInFlight` at once and `maxPerWindow` per
 * window; the rest is dropped and counted. Identities must be plain FQDNs (checkedFqdn);
 * addresses come from charon's own line and are checked with net.isIP.
 */
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { checkedFqdn } from './vici-conn.js';
import type { ViciLogFact } from './vici-log.js';

/** An IKE peer to learn: the identity it presented (FQDN, no trailing dot) and the address it came from. */
export interface IkePeer {
  readonly identity: string;
  readonly address: string;
}

/** Resolves the peer's name as a client query would; resolves to a short outcome for the log. */
export type LearnPeer = (peer: IkePeer, signal: AbortSignal) => Promise<string>;

export interface PeerLearnerOptions {
  readonly learn: LearnPeer;
  readonly log: Logger;
  /** The standing `%any` responder conn: only refusals under it are unknown peers. */
  readonly responderConn: string;
  readonly nowMs?: () => number;
  readonly maxInFlight?: number;
  readonly maxPerWindow?: number;
  readonly windowMs?: number;
  /** One lookup per identity and address per this long, whatever its outcome. */
  readonly coolDownMs?: number;
  /** A lookup that takes longer is abandoned. */
  readonly timeoutMs?: number;
  /** After a lookup ends, the identity still counts as "being learned" this long (see isLearning). */
  readonly graceMs?: number;
}

/** IKE_SAs whose IKE_AUTH identities are remembered until their refusal line arrives. */
const MAX_TRACKED_IKE_SAS = 256;
const DEFAULTS = { maxInFlight: 4, maxPerWindow: 32, windowMs: 10_000, coolDownMs: 10_000, timeoutMs: 5_000, graceMs: 5_000 } as const;

export class PeerLearner {
  private readonly settings: Required<Omit<PeerLearnerOptions, 'learn' | 'log' | 'responderConn' | 'nowMs'>>;
  private readonly nowMs: () => number;
  /** ikesa-uniqueid → who and where the peer is, from "looking for peer configs matching". */
  private readonly identities = new Map<number, { address: string; identity: string }>();
  /** `identity address` → when its last lookup started. */
  private readonly attempts = new Map<string, number>();
  /** identity → until when it counts as being learned. */
  private readonly learning = new Map<string, number>();
  private inFlight = 0;
  private windowStartMs = 0;
  private windowCount = 0;
  private dropped = 0;
  private readonly closing = new AbortController();

  constructor(private readonly options: PeerLearnerOptions) {
    this.nowMs = options.nowMs ?? Date.now;
    this.settings = {
      maxInFlight: options.maxInFlight ?? DEFAULTS.maxInFlight, maxPerWindow: options.maxPerWindow ?? DEFAULTS.maxPerWindow,
      windowMs: options.windowMs ?? DEFAULTS.windowMs, coolDownMs: options.coolDownMs ?? DEFAULTS.coolDownMs,
      timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs, graceMs: options.graceMs ?? DEFAULTS.graceMs,
    };
  }

  /** Takes one fact from charon's log; starts a lookup when an unknown peer was refused. */
  observe(fact: ViciLogFact): void {
    if (fact.kind === 'peer-identity') {
      this.identities.delete(fact.ikeId);
      this.identities.set(fact.ikeId, { address: fact.remoteAddress, identity: fact.remoteId });
      if (this.identities.size > MAX_TRACKED_IKE_SAS) this.identities.delete(this.identities.keys().next().value!);
      return;
    }
    if (fact.kind !== 'no-trusted-key' || fact.ikeName !== this.options.responderConn) return;
    const seen = this.identities.get(fact.ikeId);
    this.identities.delete(fact.ikeId);
    // The refused identity must be the one the peer presented (not this host's own, say).
    if (!seen || seen.identity !== fact.identity) return;
    let identity: string;
    try {
      identity = checkedFqdn(fact.identity, 'IKE peer identity');
    } catch (error) {
      this.options.log.info({ peer: fact.identity, address: seen.address, reason: errorMessage(error) }, 'unknown IKE peer not looked up');
      return;
    }
    this.start({ identity, address: seen.address });
  }

  /** True while `identity` is being looked up because it initiated (and a short while after): no need to initiate towards it. */
  isLearning(identity: string): boolean {
    const until = this.learning.get(identity.replace(/\.$/, '').toLowerCase());
    return until !== undefined && this.nowMs() < until;
  }

  /** Lookups dropped by the bounds, since start. */
  get droppedCount(): number {
    return this.dropped;
  }

  close(): void {
    this.closing.abort(new Error('peer learner closed'));
  }

  private start(peer: IkePeer): void {
    const now = this.nowMs();
    const key = `${peer.identity} ${peer.address}`;
    const last = this.attempts.get(key);
    if (last !== undefined && now - last < this.settings.coolDownMs) return;
    if (now - this.windowStartMs >= this.settings.windowMs) {
      this.windowStartMs = now;
      this.windowCount = 0;
      this.forgetOld(now);
    }
    if (this.inFlight >= this.settings.maxInFlight || this.windowCount >= this.settings.maxPerWindow) {
      this.dropped += 1;
      if (this.dropped === 1 || this.dropped % 100 === 0) {
        this.options.log.warn({ peer: peer.identity, address: peer.address, dropped: this.dropped }, 'too many unknown IKE peers; lookup dropped');
      }
      return;
    }
    this.attempts.set(key, now);
    this.windowCount += 1;
    this.inFlight += 1;
    this.learning.set(peer.identity, Number.POSITIVE_INFINITY);
    const signal = AbortSignal.any([this.closing.signal, AbortSignal.timeout(this.settings.timeoutMs)]);
    this.options.log.info({ peer: peer.identity, address: peer.address }, 'unknown IKE peer: looking up its key');
    void this.options.learn(peer, signal).then(
      (outcome) => this.options.log.info({ peer: peer.identity, address: peer.address, outcome, ms: this.nowMs() - now }, 'IKE peer looked up'),
      (error: unknown) => this.options.log.warn({ peer: peer.identity, address: peer.address, err: errorMessage(error), ms: this.nowMs() - now }, 'IKE peer lookup failed'),
    ).finally(() => {
      this.inFlight -= 1;
      this.learning.set(peer.identity, this.nowMs() + this.settings.graceMs);
    });
  }

  /** Drops cool-downs and grace periods that have run out (once per window). */
  private forgetOld(now: number): void {
    for (const [key, at] of this.attempts) if (now - at >= this.settings.coolDownMs) this.attempts.delete(key);
    for (const [identity, until] of this.learning) if (until <= now) this.learning.delete(identity);
  }
}
