/**
 * Authenticated denial of existence with NSEC (RFC 4034 §4, RFC 4035 §5.4, RFC 6840 §4).
 * Signatures are not checked here: every NSEC given to these functions must already be verified.
 *
 * Glossary:
 *   - matching NSEC: its owner name equals the name in question; its type bit map lists every
 *     type that exists there.
 *   - covering NSEC: the name sorts strictly between its owner and its Next Domain Name in canonical
 *     order (RFC 4034 §6.1); the last NSEC of a zone wraps round to the apex (RFC 4034 §4.1.1).
 *   - closest encloser: the longest existing ancestor of a name that does not exist; the source of
 *     synthesis for a wildcard is `*.<closest encloser>` (RFC 4592).
 *   - next closer name: the closest encloser with one more label of the query name.
 *   - empty non-terminal: a name with no RRsets but names below it; it has no NSEC of its own.
 *
 * Every proof, here and in nsec3-proofs.ts, returns `Verdict<DenialProof>`:
 *   - secure: the denial is proven.
 *   - insecure: the denial cannot be authenticated but may not be treated as bogus: an NSEC3
 *     opt-out span (RFC 5155 §9.2), NSEC3 iterations above MAX_NSEC3_ITERATIONS (RFC 9276 §3.2),
 *     or the name at or below an insecure delegation. `value.insecureBecause` says which.
 *   - bogus: not proven; `reason` names the missing or contradicting record, `ede` is NsecMissing
 *     when a needed record is absent and DnssecBogus when a record contradicts the denial.
 *   Never indeterminate: whether the zone is signed at all is the caller's question.
 */
import { WireFormatError } from '../core/errors.js';
import { RRType, type ResourceRecord } from '../wire/index.js';
import { readName } from '../wire/name.js';
import { ancestorName, canonicalLabels, compareCanonical, isSubdomain, presentationLabels, wildcardOf } from './canonical-name.js';
import { decodeTypeBitmap, hasType, type TypeBitmap } from './type-bitmap.js';
import { bogus, Ede, insecure, secure, type Verdict } from './verdict.js';

export type InsecureCause = 'opt-out' | 'iterations' | 'insecure-delegation';

export interface DenialProof {
  /** The longest existing ancestor of the denied name; the name itself for NODATA. */
  readonly closestEncloser: string | undefined;
  /** Whether an NSEC3 with the Opt-Out flag covered the next closer name in the proof. */
  readonly optOut: boolean;
  readonly insecureBecause?: InsecureCause;
}

export interface NsecRdata {
  readonly nextDomainName: string;
  readonly typeBitmap: TypeBitmap;
}

/** RFC 4034 §4.1: Next Domain Name (uncompressed, §4.1.1) then the Type Bit Maps. Throws WireFormatError. */
export function parseNsecRdata(rdata: Uint8Array): NsecRdata {
  const next = readRdataName(rdata, 'NSEC Next Domain Name');
  return { nextDomainName: next.name, typeBitmap: decodeTypeBitmap(rdata.subarray(next.length)) };
}

/** A name at the start of RDATA; readName refuses pointers there (none can point backward). */
function readRdataName(rdata: Uint8Array, what: string): { name: string; length: number } {
  try {
    return readName(rdata, 0);
  } catch (error) {
    throw new WireFormatError(`${what} is malformed or compressed`, { cause: error });
  }
}

function isStrictSubdomain(name: string, ancestor: string): boolean {
  return isSubdomain(name, ancestor) && compareCanonical(name, ancestor) !== 0;
}

export function nsecMatches(owner: string, name: string): boolean {
  return compareCanonical(owner, name) === 0;
}

/** RFC 4034 §6.1 order; the last NSEC (next ≤ owner) wraps round to the apex, which is its next name. */
export function nsecCovers(owner: string, next: string, name: string): boolean {
  const ownerToNext = compareCanonical(owner, next);
  if (ownerToNext < 0) return compareCanonical(owner, name) < 0 && compareCanonical(name, next) < 0;
  // RFC 4034 §4.1.1: "The value of the Next Domain Name field in the last NSEC record in the zone
  // is the name of the zone apex". So the last NSEC covers what sorts after it inside the zone.
  return compareCanonical(owner, name) < 0 && isStrictSubdomain(name, next);
}

/**
 * RFC 6840 §4.1: "Ancestor delegation NSEC or NSEC3 RRs MUST NOT be used to assume nonexistence of
 * any RRs below that zone cut" and "An NSEC or NSEC3 RR with the DNAME bit set MUST NOT be used to
 * assume the nonexistence of any subdomain of that NSEC/NSEC3 RR's (original) owner name."
 * True when the record's owner is a zone cut seen from the parent (NS without SOA) or a DNAME.
 */
export function deniesNothingBelow(bitmap: TypeBitmap): boolean {
  return (hasType(bitmap, RRType.NS) && !hasType(bitmap, RRType.SOA)) || hasType(bitmap, RRType.DNAME);
}

interface Nsec {
  readonly owner: string;
  readonly next: string;
  readonly bitmap: TypeBitmap;
}

function usableNsecs(records: readonly ResourceRecord[], zone?: string): Nsec[] {
  const out: Nsec[] = [];
  for (const rr of records) {
    if (rr.type !== RRType.NSEC) continue;
    if (zone !== undefined && !isSubdomain(rr.name, zone)) continue;
    try {
      const rdata = parseNsecRdata(rr.rdata);
      out.push({ owner: rr.name, next: rdata.nextDomainName, bitmap: rdata.typeBitmap });
    } catch (error) {
      // A malformed NSEC proves nothing; the proof then fails for want of it.
      if (!(error instanceof WireFormatError)) throw error;
    }
  }
  return out;
}

/**
 * RFC 4035 §5.4: "If the requested RR name would appear after an authenticated NSEC RR's owner name
 * and before the name listed in that NSEC RR's Next Domain Name field ... then no RRsets with the
 * requested name exist in the zone." A next name below `name` would make `name` an empty
 * non-terminal, which exists; and RFC 6840 §4.1 rules out parent-side and DNAME owners above it.
 */
function provesAbsent(nsec: Nsec, name: string): boolean {
  if (!nsecCovers(nsec.owner, nsec.next, name)) return false;
  if (isSubdomain(nsec.next, name)) return false;
  return !(isStrictSubdomain(name, nsec.owner) && deniesNothingBelow(nsec.bitmap));
}

/** Labels `name` shares, from the right, with `other`. */
function sharedLabels(name: string, other: string): number {
  const a = canonicalLabels(name);
  const b = canonicalLabels(other);
  let n = 0;
  while (n < Math.min(a.length, b.length) && sameBytes(a[a.length - 1 - n]!, b[b.length - 1 - n]!)) n++;
  return n;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * The closest encloser of a name a covering NSEC proves absent: every existing ancestor of the name
 * sorts at or before the owner, so it is the deepest ancestor shared with the owner or next name.
 */
function closestEncloserFrom(nsec: Nsec, name: string): string {
  return ancestorName(name, Math.max(sharedLabels(name, nsec.owner), sharedLabels(name, nsec.next)));
}

function proven(closestEncloser: string): Verdict<DenialProof> {
  return secure({ closestEncloser, optOut: false });
}

/** NXDOMAIN: one NSEC proves `qname` absent, one proves the wildcard at its closest encloser absent. */
export function proveNxdomainNsec(qname: string, nsecs: readonly ResourceRecord[], zone: string): Verdict<DenialProof> {
  if (!isSubdomain(qname, zone)) return bogus(`${qname} is not in zone ${zone}`);
  const set = usableNsecs(nsecs, zone);
  if (set.some((n) => nsecMatches(n.owner, qname))) return bogus(`NSEC at ${qname} shows that it exists`);
  const cover = set.find((n) => provesAbsent(n, qname));
  if (!cover) return bogus(`no NSEC proves that ${qname} does not exist`, Ede.NsecMissing);
  const closestEncloser = closestEncloserFrom(cover, qname);
  const wildcard = wildcardOf(closestEncloser);
  // RFC 4035 §5.4: "proving that the requested RRset does not exist also requires proving that no
  // possible wildcard RRset exists that could have been used to generate a positive response."
  if (!set.some((n) => provesAbsent(n, wildcard))) {
    return bogus(`no NSEC proves that the wildcard ${wildcard} does not exist`, Ede.NsecMissing);
  }
  return proven(closestEncloser);
}

/**
 * The bit map of the record matching `name` (NSEC, or NSEC3 under RFC 5155 §8.5 to §8.7) against
 * a NODATA claim for `qtype` (RFC 4035 §5.4, RFC 6840 §4.1 and §4.3).
 */
export function checkNodataBitmap(bitmap: TypeBitmap, name: string, qtype: number, what: 'NSEC' | 'NSEC3' = 'NSEC'): Verdict<DenialProof> {
  // RFC 4035 §5.4: the matching NSEC's "type bit map field lists all RR types present at that owner
  // name"; RFC 5155 §8.5: "both the QTYPE and the CNAME type are not set in its Type Bit Maps field".
  if (hasType(bitmap, qtype)) return bogus(`${what} at ${name} lists type ${qtype}`);
  // RFC 6840 §4.3: "validators MUST check the CNAME bit in the matching NSEC or NSEC3 RR's type
  // bitmap in addition to the bit for the query type."
  if (hasType(bitmap, RRType.CNAME)) return bogus(`${what} at ${name} lists CNAME`);
  if (qtype === RRType.DS) {
    // RFC 4035 §5.2: "A security-aware resolver MUST use the parent NSEC RR when attempting to prove
    // that a DS RRset does not exist"; the child's apex record has SOA. The root has no parent.
    if (hasType(bitmap, RRType.SOA) && name !== '.') return bogus(`${what} at ${name} is the child apex's, not the parent's`);
  } else if (hasType(bitmap, RRType.NS) && !hasType(bitmap, RRType.SOA)) {
    // RFC 6840 §4.1: a parent-side record "MUST NOT be used to assume nonexistence of any RRs below
    // that zone cut, which include all RRs at that (original) owner name other than DS RRs".
    if (hasType(bitmap, RRType.DS)) return bogus(`${what} at ${name} is the parent side of a signed delegation`);
    return insecure({ closestEncloser: name, optOut: false, insecureBecause: 'insecure-delegation' },
      `${name} is an insecure delegation; the parent's ${what} cannot deny its types`);
  }
  return proven(name);
}

/** NODATA: a matching NSEC without the type, an empty non-terminal, or a wildcard NODATA. */
export function proveNodataNsec(qname: string, qtype: number, nsecs: readonly ResourceRecord[]): Verdict<DenialProof> {
  const set = usableNsecs(nsecs);
  const match = set.find((n) => nsecMatches(n.owner, qname));
  if (match) return checkNodataBitmap(match.bitmap, qname, qtype);
  if (set.some((n) => provesEmptyNonTerminal(n, qname))) return proven(qname);
  return proveWildcardNodata(qname, qtype, set);
}

/** An empty non-terminal has no NSEC; the one before it whose next name lies below it proves it exists, empty. */
function provesEmptyNonTerminal(nsec: Nsec, name: string): boolean {
  if (compareCanonical(nsec.owner, name) >= 0 || !isStrictSubdomain(nsec.next, name)) return false;
  return !(isStrictSubdomain(name, nsec.owner) && deniesNothingBelow(nsec.bitmap));
}

/**
 * RFC 4035 §3.1.3.4 (wildcard no data): an NSEC proving that `qname` does not exist, and the NSEC
 * matching the wildcard at its closest encloser, without the type and without CNAME.
 */
function proveWildcardNodata(qname: string, qtype: number, set: readonly Nsec[]): Verdict<DenialProof> {
  const cover = set.find((n) => provesAbsent(n, qname));
  if (!cover) return bogus(`no NSEC matches ${qname} or proves it absent`, Ede.NsecMissing);
  const closestEncloser = closestEncloserFrom(cover, qname);
  const wildcard = wildcardOf(closestEncloser);
  const match = set.find((n) => nsecMatches(n.owner, wildcard));
  if (!match) return bogus(`${qname} does not exist and no NSEC matches the wildcard ${wildcard}`, Ede.NsecMissing);
  if (hasType(match.bitmap, RRType.NS) && !hasType(match.bitmap, RRType.SOA)) return bogus(`NSEC at ${wildcard} is a delegation`);
  const checked = checkNodataBitmap(match.bitmap, wildcard, qtype);
  return checked.status === 'secure' ? proven(closestEncloser) : checked;
}

/**
 * Wildcard answer (RFC 4035 §5.3.4): the validator "must take additional steps to verify the
 * non-existence of an exact match or closer wildcard match for the query". `wildcardLabels` is the RRSIG
 * Labels field; the next closer name (one label more) must be proven absent.
 */
export function proveWildcardAnswerNsec(qname: string, wildcardLabels: number, nsecs: readonly ResourceRecord[]): Verdict<DenialProof> {
  const labels = presentationLabels(qname).length;
  if (!Number.isInteger(wildcardLabels) || wildcardLabels < 0 || wildcardLabels >= labels) {
    return bogus(`RRSIG Labels ${wildcardLabels} is not below the ${labels} labels of ${qname}: no wildcard expansion`);
  }
  const nextCloser = ancestorName(qname, wildcardLabels + 1);
  if (!usableNsecs(nsecs).some((n) => provesAbsent(n, nextCloser))) {
    return bogus(`no NSEC proves that the next closer name ${nextCloser} does not exist`, Ede.NsecMissing);
  }
  return proven(ancestorName(qname, wildcardLabels));
}

/**
 * Insecure delegation: the parent's NSEC at the delegation has NS and neither DS nor SOA.
 * RFC 6840 §4.4: "The validator also MUST check for the presence of the NS bit in the matching NSEC
 * (or NSEC3) RR (proving that there is, indeed, a delegation)"; RFC 4035 §5.2 and RFC 6840 §4.4
 * require the DS and SOA bits to be absent.
 */
export function proveNoDsNsec(delegationName: string, nsecs: readonly ResourceRecord[]): Verdict<DenialProof> {
  const match = usableNsecs(nsecs).find((n) => nsecMatches(n.owner, delegationName));
  if (!match) return bogus(`no NSEC matches the delegation ${delegationName}`, Ede.NsecMissing);
  return checkNoDsBitmap(match.bitmap, delegationName, 'NSEC');
}

/** Shared with NSEC3 (RFC 5155 §8.9 asks the same of a matching NSEC3). */
export function checkNoDsBitmap(bitmap: TypeBitmap, name: string, what: 'NSEC' | 'NSEC3'): Verdict<DenialProof> {
  if (hasType(bitmap, RRType.DS)) return bogus(`${what} at ${name} lists DS: the delegation is signed`);
  if (hasType(bitmap, RRType.SOA)) return bogus(`${what} at ${name} has SOA: it is the child's, not the parent's`);
  if (!hasType(bitmap, RRType.NS)) return bogus(`${what} at ${name} has no NS: not a delegation`);
  return proven(name);
}
