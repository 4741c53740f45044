/**
 * Validates one upstream answer (RFC 4035 §5): each RRset on the CNAME/DNAME chain from the
 * question, and the proof of denial at its end, against the keys the chain of trust gives for
 * its signer. The answer's status is its weakest link's (bogus < indeterminate < insecure < secure).
 *
 * Classification first (RFC 4035 §5.3, §5.4): walk the answer section from QNAME — data of QTYPE
 * ends a positive answer, CNAME and DNAME continue the chain, nothing more ends it in NXDOMAIN
 * or NODATA, whose proof is in the authority section.
 */
import { canonicalName, normalizeName, Rcode, readName, RRType, typeName, type Message, type Question, type ResourceRecord } from '../wire/index.js';
import { labelCount, presentationLabels } from './canonical-name.js';
import { inZone, type ChainOfTrust, type WalkContext } from './chain.js';
import { parseRrsig } from './dnssec-rdata.js';
import { MAX_CNAME_CHAIN } from './limits.js';
import { proveNodataNsec, proveNxdomainNsec, proveWildcardAnswerNsec } from './nsec.js';
import { proveNodataNsec3, proveNxdomainNsec3, proveWildcardAnswerNsec3 } from './nsec3-proofs.js';
import { groupRrsets, signerOf, type SignedRrset } from './rrsets.js';
import { verifyRrset } from './rrsig.js';
import { bogus, Ede, edeOf, indeterminate, insecure, secure, type Verdict } from './verdict.js';

type Link = Verdict<true>;
const SECURE: Link = secure(true);

const RANK = { secure: 0, insecure: 1, indeterminate: 2, bogus: 3 } as const;

function weakest(links: readonly Link[]): Link {
  return links.reduce((worst, link) => (RANK[link.status] > RANK[worst.status] ? link : worst), SECURE);
}

export class Validator {
  constructor(private readonly chain: ChainOfTrust) {}

  async validate(question: Question, message: Message, ctx: WalkContext): Promise<Verdict<Message>> {
    if (message.rcode !== Rcode.NoError && message.rcode !== Rcode.NXDomain) {
      return indeterminate(`rcode ${message.rcode} carries nothing to validate`);
    }
    const link = await this.validateChain(question, message, ctx);
    if (link.status === 'secure') return secure(message);
    if (link.status === 'insecure') return insecure(message, link.reason);
    return link.status === 'bogus' ? bogus(link.reason, link.ede) : indeterminate(link.reason, link.ede);
  }

  private async validateChain(question: Question, message: Message, ctx: WalkContext): Promise<Link> {
    const answers = groupRrsets(message.answers);
    const authority = groupRrsets(message.authorities);
    const links: Link[] = [];
    let name = question.name;
    for (let hops = 0; hops <= MAX_CNAME_CHAIN; hops++) {
      const at = (type: number): SignedRrset | undefined => answers.find((s) => s.type === type && canonicalName(s.name) === canonicalName(name));
      // RFC 6672 §2.4: a name below a DNAME owns nothing of its own, so a covering DNAME comes
      // first: the CNAME at the name is then the unsigned one synthesised from it (§5.3.1).
      const dname = answers.find((s) => s.type === RRType.DNAME && inZone(name, s.name) && canonicalName(s.name) !== canonicalName(name));
      if (dname) {
        // RFC 6672 §5.3.3: the DNAME RRset is signed; the CNAME synthesised from it is not and is
        // checked against the substitution instead.
        links.push(await this.validateRrset(dname, dname.name, authority, ctx));
        const target = substitute(name, dname.name, readName(dname.records[0]!.rdata, 0).name);
        if (!target) return weakest([...links, bogus(`DNAME substitution of ${name} is too long`)]);
        const synthesized = at(RRType.CNAME);
        if (synthesized && canonicalName(readName(synthesized.records[0]!.rdata, 0).name) !== canonicalName(target)) {
          return weakest([...links, bogus(`CNAME synthesised from the DNAME at ${dname.name} does not match it`)]);
        }
        // A question for the CNAME itself ends with the one synthesised from the DNAME.
        if (synthesized && question.type === RRType.CNAME) return weakest(links);
        name = target;
        continue;
      }
      const data = question.type === RRType.ANY ? answers.filter((s) => canonicalName(s.name) === canonicalName(name)) : [at(question.type)].filter((s) => s !== undefined);
      if (data.length > 0) {
        for (const set of data) links.push(await this.validateRrset(set, name, authority, ctx));
        return weakest(links);
      }
      const cname = at(RRType.CNAME);
      if (cname) {
        links.push(await this.validateRrset(cname, name, authority, ctx));
        name = readName(cname.records[0]!.rdata, 0).name;
        continue;
      }
      links.push(await this.validateDenial(name, question.type, message.rcode, authority, ctx));
      return weakest(links);
    }
    return bogus(`more than ${MAX_CNAME_CHAIN} CNAME/DNAME links from ${question.name}`);
  }

  /** One RRset: signed by the zone that holds it, with a proof of non-existence if wildcard-expanded. */
  private async validateRrset(set: SignedRrset, owner: string, authority: readonly SignedRrset[], ctx: WalkContext): Promise<Link> {
    const signer = signerOf(set);
    if (!signer) {
      // RFC 4035 §5.3: no usable RRSIG. Fine in an insecure zone; in a signed one, bogus.
      const keys = await this.chain.keysFor(owner, ctx);
      if (keys.status === 'secure') return bogus(`${owner}/${typeName(set.type)} has no RRSIG in the signed zone ${keys.zone}`, Ede.RrsigsMissing);
      return keys.status === 'insecure' ? insecure(true, keys.reason) : fromKeys(keys);
    }
    // RFC 4035 §5.3.1: "The RRSIG RR's Signer's Name field MUST be the name of the zone that contains the RRset."
    if (!inZone(owner, signer)) return bogus(`${owner}/${typeName(set.type)} is signed by ${signer}, which does not contain it`);
    const keys = await this.chain.keysFor(signer, ctx, true);
    if (keys.status === 'insecure') return insecure(true, keys.reason);
    if (keys.status !== 'secure') return fromKeys(keys);
    if (canonicalName(keys.zone) !== canonicalName(signer)) return bogus(`${signer} signs ${owner}/${typeName(set.type)} but is not a zone apex on the chain (zone ${keys.zone})`);
    const verdict = await verifyRrset(set.records, set.rrsigs, keys.dnskeys, signer, ctx.now, ctx.verify);
    if (verdict.status !== 'secure') return bogus(`${owner}/${typeName(set.type)}: ${verdict.reason}`, edeOf(verdict));
    noteExpiration(ctx, verdict.value.expiration);
    ctx.trace?.(`${owner}/${typeName(set.type)}: secure, signed by ${signer} key ${verdict.value.keyTag}`);
    const labels = set.rrsigs.map((r) => parseRrsig(r).labels).find((l) => l < labelCount(owner));
    if (labels === undefined) return SECURE;
    return this.validateWildcard(owner, labels, signer, keys.dnskeys, authority, ctx);
  }

  /** RFC 4035 §5.3.4: a wildcard expansion also needs proof that the exact name does not exist. */
  private async validateWildcard(owner: string, labels: number, zone: string, dnskeys: readonly ResourceRecord[], authority: readonly SignedRrset[], ctx: WalkContext): Promise<Link> {
    const denials = await this.verifiedDenials(zone, dnskeys, authority, ctx);
    if ('status' in denials) return denials;
    const proof = denials.nsec3
      ? proveWildcardAnswerNsec3(owner, labels, denials.records, zone, ctx.hashes)
      : proveWildcardAnswerNsec(owner, labels, denials.records);
    ctx.trace?.(`wildcard answer for ${owner}: ${denials.nsec3 ? 'NSEC3' : 'NSEC'} proof ${proof.status}${'reason' in proof ? ` (${proof.reason})` : ''}`);
    return toLink(proof, `wildcard answer for ${owner}`);
  }

  /** NXDOMAIN or NODATA at `name`: the authority section must prove it (RFC 4035 §5.4). */
  private async validateDenial(name: string, qtype: number, rcode: number, authority: readonly SignedRrset[], ctx: WalkContext): Promise<Link> {
    const sets = authority.filter((s) => s.type === RRType.NSEC || s.type === RRType.NSEC3);
    const signer = sets.map(signerOf).find((s) => s !== undefined);
    if (!signer) {
      const keys = await this.chain.keysFor(name, ctx);
      if (keys.status === 'secure') return bogus(`${rcode === Rcode.NXDomain ? 'NXDOMAIN' : 'NODATA'} for ${name} without a signed NSEC/NSEC3 from ${keys.zone}`, Ede.NsecMissing);
      return keys.status === 'insecure' ? insecure(true, keys.reason) : fromKeys(keys);
    }
    if (!inZone(name, signer)) return bogus(`denial for ${name} is signed by ${signer}, which does not contain it`);
    const keys = await this.chain.keysFor(signer, ctx, true);
    if (keys.status === 'insecure') return insecure(true, keys.reason);
    if (keys.status !== 'secure') return fromKeys(keys);
    const denials = await this.verifiedDenials(signer, keys.dnskeys, authority, ctx);
    if ('status' in denials) return denials;
    const { records, nsec3 } = denials;
    const proof = rcode === Rcode.NXDomain
      ? (nsec3 ? proveNxdomainNsec3(name, records, signer, ctx.hashes) : proveNxdomainNsec(name, records, signer))
      : (nsec3 ? proveNodataNsec3(name, qtype, records, signer, ctx.hashes) : proveNodataNsec(name, qtype, records));
    const what = `${rcode === Rcode.NXDomain ? 'NXDOMAIN' : 'NODATA'} for ${name}`;
    ctx.trace?.(`${what}: ${nsec3 ? 'NSEC3' : 'NSEC'} proof from ${signer} ${proof.status}${'reason' in proof ? ` (${proof.reason})` : ''}`);
    return toLink(proof, what);
  }

  /** The authority section's NSEC or NSEC3 RRsets of `zone`, each verified; bogus if any fails. */
  private async verifiedDenials(zone: string, dnskeys: readonly ResourceRecord[], authority: readonly SignedRrset[], ctx: WalkContext):
    Promise<{ records: ResourceRecord[]; nsec3: boolean } | Link> {
    const sets = authority.filter((s) => (s.type === RRType.NSEC || s.type === RRType.NSEC3));
    if (sets.length === 0) return bogus(`no NSEC or NSEC3 from ${zone}`, Ede.NsecMissing);
    for (const set of sets) {
      const signer = signerOf(set);
      if (!signer || canonicalName(signer) !== canonicalName(zone)) return bogus(`${set.name} NSEC/NSEC3 is not signed by ${zone}`, Ede.RrsigsMissing);
      const verdict = await verifyRrset(set.records, set.rrsigs, dnskeys, zone, ctx.now, ctx.verify);
      if (verdict.status !== 'secure') return bogus(`${set.name} NSEC/NSEC3: ${verdict.reason}`, edeOf(verdict));
      noteExpiration(ctx, verdict.value.expiration);
    }
    return { records: sets.flatMap((s) => s.records), nsec3: sets.some((s) => s.type === RRType.NSEC3) };
  }
}

function noteExpiration(ctx: WalkContext, expiration: number): void {
  if (ctx.validUntil && expiration < ctx.validUntil.epoch) ctx.validUntil.epoch = expiration;
}

function fromKeys(keys: { readonly status: 'bogus' | 'indeterminate'; readonly reason: string; readonly ede: Ede }): Link {
  return keys.status === 'bogus' ? bogus(keys.reason, keys.ede) : indeterminate(keys.reason, keys.ede);
}

function toLink(proof: Verdict<unknown>, what: string): Link {
  if (proof.status === 'secure') return SECURE;
  if (proof.status === 'insecure') return insecure(true, `${what}: ${proof.reason}`);
  return proof.status === 'bogus' ? bogus(`${what}: ${proof.reason}`, proof.ede) : indeterminate(`${what}: ${proof.reason}`, proof.ede);
}

/** RFC 6672 §2.2: replace the DNAME owner suffix of `name` by the target; undefined if over 255 bytes. */
function substitute(name: string, owner: string, target: string): string | undefined {
  const prefix = presentationLabels(name).slice(0, labelCount(name) - labelCount(owner)).join('.');
  try {
    return normalizeName(target === '.' ? `${prefix}.` : `${prefix}.${target}`);
  } catch {
    return undefined;
  }
}
