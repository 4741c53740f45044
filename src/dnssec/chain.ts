/**
 * The chain of trust (RFC 4035 §5): from the closest trust anchor down to the zone that holds a
 * name, one zone cut at a time. For each name below the current zone: a signed DS RRset makes it
 * a secure zone cut (its DNSKEY RRset must be signed by a key a DS matches); a proven absence of
 * DS at a delegation makes everything below insecure; a proven absence of DS at a name that is no
 * delegation keeps the current zone. Anything unproven is bogus; no answer is indeterminate.
 *
 * Results are cached per zone until the earliest TTL or RRSIG expiration involved; bogus and
 * indeterminate ones for BOGUS_CACHE_SECONDS, so an attacker cannot make oedns redo the work.
 */
import { canonicalName, Rcode, RRType, type Message, type ResourceRecord } from '../wire/index.js';
import { canonicalLabels, isSubdomain, presentationLabels, ancestorName } from './canonical-name.js';
import { parseDnskey, parseDs } from './dnssec-rdata.js';
import { dsMatches } from './ds.js';
import type { DnssecFetcher } from './fetcher.js';
import { keyMatchesAnchor, type NegativeTrustAnchors, type TrustAnchor, type TrustAnchorSet } from './trust-anchors.js';
import { isSupportedAlgorithm, isSupportedDigestType } from './algorithms.js';
import { BOGUS_CACHE_SECONDS, MAX_DELEGATION_DEPTH } from './limits.js';
import { proveNoDsNsec, proveNodataNsec } from './nsec.js';
import { proveNoDsNsec3, proveNodataNsec3 } from './nsec3-proofs.js';
import type { HashBudget } from './nsec3.js';
import { groupRrsets, signerOf, type SignedRrset } from './rrsets.js';
import { verifyRrset, type VerifyBudget } from './rrsig.js';
import { Ede, edeOf } from './verdict.js';

export type ZoneKeys =
  | { readonly status: 'secure'; readonly zone: string; readonly dnskeys: readonly ResourceRecord[]; readonly expiresAt: number }
  | { readonly status: 'insecure'; readonly zone: string; readonly reason: string; readonly expiresAt: number }
  | { readonly status: 'bogus' | 'indeterminate'; readonly zone: string; readonly reason: string; readonly ede: Ede; readonly expiresAt: number };

/** What one answer's validation shares: the clock reading and the work budgets. */
export interface WalkContext {
  readonly now: number;
  readonly verify: VerifyBudget;
  readonly hashes: HashBudget;
  readonly signal: AbortSignal;
  /** Receives one line per step of the chain, for `oedns lookup --trace`. */
  readonly trace?: ((step: string) => void) | undefined;
  /**
   * The earliest RRSIG expiration (epoch seconds) among the answer's verified RRsets, lowered as
   * they are verified: a secure answer must not be cached past it (RFC 4035 §5.3.3).
   */
  readonly validUntil?: { epoch: number } | undefined;
}

type Step = ZoneKeys | { readonly status: 'continue' };

export class ChainOfTrust {
  private readonly cache = new Map<string, ZoneKeys>();
  /** Steps being computed, shared by the validations that need them (see cachedStep). */
  private readonly inProgress = new Map<string, Promise<Step>>();
  /** Answers asked for ahead of the walk that needs them, per validation (see prefetch). */
  private readonly prefetched = new WeakMap<WalkContext, Map<string, Promise<Message | string>>>();

  constructor(
    private readonly fetcher: DnssecFetcher,
    private readonly anchors: TrustAnchorSet,
    private readonly negative: NegativeTrustAnchors,
  ) {}

  /**
   * Keys of the deepest zone at or above `name` on the chain from its trust anchor, or why there
   * are none. `signer` says `name` is an RRSIG's Signer's Name, so it claims to be a zone apex:
   * its DS and DNSKEY RRsets are then asked for at once, in parallel with the walk above it.
   */
  async keysFor(name: string, ctx: WalkContext, signer = false): Promise<ZoneKeys> {
    if (this.negative.covers(name)) return { status: 'insecure', zone: name, reason: `${name} is under a negative trust anchor`, expiresAt: Infinity };
    const anchor = this.anchors.anchorFor(name);
    if (!anchor) return { status: 'insecure', zone: '.', reason: `no trust anchor covers ${name}`, expiresAt: Infinity };
    if (signer) this.prefetch(name, anchor.zone, ctx);
    let current = await this.cached(anchor.zone, ctx, () => this.anchorKeys(anchor, ctx));
    const targetLabels = presentationLabels(name).length;
    let depth = 0;
    for (let labels = presentationLabels(anchor.zone).length + 1; labels <= targetLabels; labels++) {
      if (current.status !== 'secure') return current;
      const child = ancestorName(name, labels);
      if (++depth > MAX_DELEGATION_DEPTH) return this.failed('bogus', child, `more than ${MAX_DELEGATION_DEPTH} names walked to ${name}`, Ede.DnssecBogus, ctx);
      const parent = current;
      const step = await this.cachedStep(child, ctx, () => this.descend(parent, child, ctx));
      if (step.status !== 'continue') current = step;
    }
    return current;
  }

  /**
   * Starts the DS and DNSKEY queries a walk to the zone `signer` will need, when its keys are not
   * known yet: one round trip instead of two for the usual cold lookup (the parent's keys cached,
   * the child's not). Nothing waits on them here; the walk's own fetches take them in flight or
   * settled, and a fetch never rejects. They belong to this validation (`ctx`) and go with it.
   */
  private prefetch(signer: string, anchorZone: string, ctx: WalkContext): void {
    const key = canonicalName(signer);
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt > ctx.now) return;
    let early = this.prefetched.get(ctx);
    if (!early) this.prefetched.set(ctx, (early = new Map()));
    const types = key === canonicalName(anchorZone) ? [RRType.DNSKEY] : [RRType.DS, RRType.DNSKEY];
    for (const type of types) if (!early.has(`${key}/${type}`)) early.set(`${key}/${type}`, this.ask(signer, type, ctx));
  }

  private cached(zone: string, ctx: WalkContext, compute: () => Promise<ZoneKeys>): Promise<ZoneKeys> {
    return this.cachedStep(zone, ctx, compute) as Promise<ZoneKeys>;
  }

  /**
   * A step of the walk (the keys of a zone, or that a name is no zone cut) from the cache, or
   * computed once: validations that need the same step at the same time (an A answer and its
   * IPSECKEY, from one new zone) share one computation. A result is cached until it expires;
   * "no cut here" is not remembered.
   */
  private cachedStep(name: string, ctx: WalkContext, compute: () => Promise<Step>): Promise<Step> {
    const key = canonicalName(name);
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt > ctx.now) return Promise.resolve(hit);
    const pending = this.inProgress.get(key);
    if (pending) return pending;
    const step = compute().then((result) => {
      if (result.status !== 'continue') this.cache.set(key, result);
      return result;
    }).finally(() => this.inProgress.delete(key));
    this.inProgress.set(key, step);
    return step;
  }

  private failed(status: 'bogus' | 'indeterminate', zone: string, reason: string, ede: Ede, ctx: WalkContext): ZoneKeys {
    ctx.trace?.(`${zone}: ${status}: ${reason}`);
    return { status, zone, reason, ede, expiresAt: ctx.now + BOGUS_CACHE_SECONDS };
  }

  private fetch(name: string, type: number, ctx: WalkContext): Promise<Message | string> {
    const key = `${canonicalName(name)}/${type}`;
    const early = this.prefetched.get(ctx)?.get(key);
    if (early) {
      this.prefetched.get(ctx)!.delete(key);
      return early;
    }
    return this.ask(name, type, ctx);
  }

  private async ask(name: string, type: number, ctx: WalkContext): Promise<Message | string> {
    try {
      return await this.fetcher.fetch(name, type, ctx.signal);
    } catch (error) {
      return `no answer for ${name}/${type === RRType.DS ? 'DS' : 'DNSKEY'}: ${(error as Error).message}`;
    }
  }

  /** The anchor's zone: its DNSKEY RRset must be signed by a key the anchor names. */
  private async anchorKeys(anchor: TrustAnchor, ctx: WalkContext): Promise<ZoneKeys> {
    const trusted = (key: ResourceRecord): boolean => {
      try {
        return keyMatchesAnchor(anchor, key);
      } catch {
        return false;
      }
    };
    const supported = anchor.dnskeys.some((k) => isSupportedAlgorithm(parseDnskey(k).algorithm)) ||
      anchor.ds.some((ds) => { const d = parseDs(ds); return isSupportedAlgorithm(d.algorithm) && isSupportedDigestType(d.digestType); });
    // RFC 4035 §5.2 (and RFC 5011's spirit): an anchor with only unsupported algorithms makes the zone insecure.
    if (!supported) return { status: 'insecure', zone: anchor.zone, reason: `trust anchor for ${anchor.zone} uses no supported algorithm`, expiresAt: Infinity };
    return this.zoneKeys(anchor.zone, trusted, ctx, `trust anchor`, Infinity);
  }

  /** Fetches a zone's DNSKEY RRset and checks it is signed by a key that `trusted` accepts. */
  private async zoneKeys(zone: string, trusted: (key: ResourceRecord) => boolean, ctx: WalkContext, via: string, expiresAt: number): Promise<ZoneKeys> {
    const message = await this.fetch(zone, RRType.DNSKEY, ctx);
    if (typeof message === 'string') return this.failed('indeterminate', zone, message, Ede.DnssecIndeterminate, ctx);
    const rrset = groupRrsets(message.answers).find((s) => s.type === RRType.DNSKEY && canonicalName(s.name) === canonicalName(zone));
    if (!rrset) return this.failed('bogus', zone, `no DNSKEY RRset at ${zone}`, Ede.DnskeyMissing, ctx);
    const entryKeys = rrset.records.filter(trusted);
    if (entryKeys.length === 0) return this.failed('bogus', zone, `no DNSKEY of ${zone} matches its ${via}`, Ede.DnskeyMissing, ctx);
    // RFC 4035 §5.2: the DNSKEY RRset must be signed by a key the DS (or anchor) authenticates.
    const verdict = await verifyRrset(rrset.records, rrset.rrsigs, entryKeys, zone, ctx.now, ctx.verify);
    if (verdict.status !== 'secure') return this.failed('bogus', zone, `DNSKEY RRset of ${zone}: ${verdict.reason}`, edeOf(verdict), ctx);
    ctx.trace?.(`${zone}: DNSKEY RRset secure via ${via} (key tag ${verdict.value.keyTag}, algorithm ${verdict.value.algorithm})`);
    const ttlEnd = ctx.now + Math.min(...rrset.records.map((r) => r.ttl));
    return { status: 'secure', zone, dnskeys: rrset.records, expiresAt: Math.min(expiresAt, ttlEnd, verdict.value.expiration) };
  }

  /** One step down from `parent` (secure) to `child`: a secure cut, an insecure one, or no cut. */
  private async descend(parent: Extract<ZoneKeys, { status: 'secure' }>, child: string, ctx: WalkContext): Promise<Step> {
    const message = await this.fetch(child, RRType.DS, ctx);
    if (typeof message === 'string') return this.failed('indeterminate', child, message, Ede.DnssecIndeterminate, ctx);
    if (message.rcode !== Rcode.NoError && message.rcode !== Rcode.NXDomain) {
      return this.failed('indeterminate', child, `DS query for ${child} answered rcode ${message.rcode}`, Ede.DnssecIndeterminate, ctx);
    }
    const answer = groupRrsets(message.answers);
    const ds = answer.find((s) => s.type === RRType.DS && canonicalName(s.name) === canonicalName(child));
    if (ds) return this.secureCut(parent, child, ds, ctx);
    if (answer.some((s) => s.type === RRType.CNAME && canonicalName(s.name) === canonicalName(child))) return { status: 'continue' };
    return this.noDs(parent, child, message, ctx);
  }

  private async secureCut(parent: Extract<ZoneKeys, { status: 'secure' }>, child: string, ds: SignedRrset, ctx: WalkContext): Promise<Step> {
    const verdict = await verifyRrset(ds.records, ds.rrsigs, parent.dnskeys, parent.zone, ctx.now, ctx.verify);
    if (verdict.status !== 'secure') return this.failed('bogus', child, `DS RRset of ${child}: ${verdict.reason}`, edeOf(verdict), ctx);
    const usable = ds.records.map((r) => parseDs(r)).filter((d) => isSupportedAlgorithm(d.algorithm) && isSupportedDigestType(d.digestType));
    // RFC 4035 §5.2: "If the validator does not support any of the algorithms listed in an
    // authenticated DS RRset, then the resolver has no supported authentication path leading from
    // the parent to the child. The resolver should treat this case as it would the case of an
    // authenticated NSEC RRset proving that no DS RRset exists".
    if (usable.length === 0) return this.insecureCut(child, 'its DS records use no supported algorithm or digest', ctx);
    ctx.trace?.(`${child}: DS RRset secure, signed by ${parent.zone} (key tag ${verdict.value.keyTag})`);
    const ttlEnd = ctx.now + Math.min(...ds.records.map((r) => r.ttl));
    return this.zoneKeys(child, (key) => usable.some((d) => dsMatches(d, child, key)), ctx, 'DS', Math.min(ttlEnd, verdict.value.expiration));
  }

  private insecureCut(child: string, why: string, ctx: WalkContext): ZoneKeys {
    ctx.trace?.(`${child}: insecure delegation: ${why}`);
    return { status: 'insecure', zone: child, reason: `${child} is an insecure delegation: ${why}`, expiresAt: ctx.now + BOGUS_CACHE_SECONDS * 5 };
  }

  /** No DS at `child`: the parent's signed NSEC/NSEC3 must say whether it is an unsigned delegation or no cut at all. */
  private async noDs(parent: Extract<ZoneKeys, { status: 'secure' }>, child: string, message: Message, ctx: WalkContext): Promise<Step> {
    const denials = groupRrsets(message.authorities).filter((s) => s.type === RRType.NSEC || s.type === RRType.NSEC3);
    if (denials.length === 0) return this.failed('bogus', child, `no DS at ${child} and no NSEC/NSEC3 to prove it`, Ede.NsecMissing, ctx);
    for (const set of denials) {
      const signer = signerOf(set);
      if (!signer || canonicalName(signer) !== canonicalName(parent.zone)) {
        return this.failed('bogus', child, `denial of DS at ${child} is not signed by ${parent.zone}`, Ede.RrsigsMissing, ctx);
      }
      const verdict = await verifyRrset(set.records, set.rrsigs, parent.dnskeys, parent.zone, ctx.now, ctx.verify);
      if (verdict.status !== 'secure') return this.failed('bogus', child, `${set.name} ${set.type === RRType.NSEC ? 'NSEC' : 'NSEC3'}: ${verdict.reason}`, edeOf(verdict), ctx);
    }
    const records = denials.flatMap((s) => s.records);
    const nsec3 = denials.some((s) => s.type === RRType.NSEC3);
    const delegation = nsec3 ? proveNoDsNsec3(child, records, parent.zone, ctx.hashes) : proveNoDsNsec(child, records);
    if (delegation.status === 'secure') return this.insecureCut(child, `${nsec3 ? 'NSEC3' : 'NSEC'} shows NS without DS`, ctx);
    if (delegation.status === 'insecure') return this.insecureCut(child, delegation.reason, ctx);
    const nodata = nsec3 ? proveNodataNsec3(child, RRType.DS, records, parent.zone, ctx.hashes) : proveNodataNsec(child, RRType.DS, records);
    if (nodata.status === 'secure') return { status: 'continue' };
    if (nodata.status === 'insecure') return this.insecureCut(child, nodata.reason, ctx);
    return this.failed('bogus', child, `no proof that ${child} has no DS: ${nodata.status === 'bogus' ? nodata.reason : ''}`, Ede.NsecMissing, ctx);
  }
}

/** Whether `owner` lies in `zone` (used by the validator to check signer names). */
export function inZone(owner: string, zone: string): boolean {
  return isSubdomain(owner, zone) && canonicalLabels(zone).length <= canonicalLabels(owner).length;
}
