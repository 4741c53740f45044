/**
 * NSEC3 denial proofs (RFC 5155 §8). Terms (closest encloser, next closer, matching, covering) are
 * defined atop nsec3.ts; the result shape (`Verdict<DenialProof>`) atop nsec.ts. The NSEC3 records
 * must already be verified, signed by `zone`. Every name hashed takes one from `budget`, which the
 * caller shares across all proofs of one answer; a spent budget makes the proof bogus.
 */
import { RRType, nameKey, type ResourceRecord } from '../wire/index.js';
import { ancestorName, isSubdomain, presentationLabels, wildcardOf } from './canonical-name.js';
import { MAX_NSEC3_ITERATIONS } from './limits.js';
import { checkNodataBitmap, checkNoDsBitmap, type DenialProof } from './nsec.js';
import {
  nsec3Covers, nsec3Hash, nsec3Matches, sameHashParameters, selectNsec3s,
  type HashBudget, type Nsec3Record,
} from './nsec3.js';
import { hasType } from './type-bitmap.js';
import { bogus, Ede, insecure, secure, type Verdict } from './verdict.js';

interface Context {
  readonly zone: string;
  readonly records: readonly Nsec3Record[];
  readonly salt: Uint8Array;
  readonly iterations: number;
  readonly budget: HashBudget;
  readonly hashes: Map<string, Uint8Array>;
}

type Prepared = { readonly context: Context } | { readonly verdict: Verdict<DenialProof> };

function prepare(nsec3s: readonly ResourceRecord[], zone: string, budget: HashBudget): Prepared {
  const { records, ignored } = selectNsec3s(nsec3s, zone);
  const first = records[0]?.rdata;
  if (!first) {
    const why = ignored.length > 0 ? ` (ignored: ${ignored.join('; ')})` : '';
    return { verdict: bogus(`no usable NSEC3 of ${zone}${why}`, Ede.NsecMissing) };
  }
  // RFC 5155 §8.2: "A validator MAY treat a response as bogus if the response contains NSEC3 RRs that
  // contain different values for hash algorithm, iterations, or salt from each other for that zone."
  if (!records.every((r) => sameHashParameters(r.rdata, first))) {
    return { verdict: bogus(`NSEC3 records of ${zone} use different hash parameters`) };
  }
  // RFC 9276 §3.2: "Validating resolvers MAY return an insecure response to their clients when
  // processing NSEC3 records with iterations larger than 0." oedns does so above MAX_NSEC3_ITERATIONS,
  // before hashing anything.
  if (first.iterations > MAX_NSEC3_ITERATIONS) {
    return { verdict: insecure({ closestEncloser: undefined, optOut: false, insecureBecause: 'iterations' },
      `NSEC3 of ${zone} uses ${first.iterations} iterations, above ${MAX_NSEC3_ITERATIONS} (RFC 9276 §3.2)`) };
  }
  return { context: { zone, records, salt: first.salt, iterations: first.iterations, budget, hashes: new Map() } };
}

interface Lookup {
  readonly match: Nsec3Record | undefined;
  readonly cover: Nsec3Record | undefined;
}

/** The NSEC3s matching and covering `name`; undefined once the hash budget is spent. */
function lookup(context: Context, name: string): Lookup | undefined {
  const key = nameKey(name);
  let hash = context.hashes.get(key);
  if (!hash) {
    if (context.budget.hashesLeft <= 0) return undefined;
    context.budget.hashesLeft--;
    hash = nsec3Hash(name, context.salt, context.iterations);
    context.hashes.set(key, hash);
  }
  const h = hash;
  return { match: context.records.find((r) => nsec3Matches(r, h)), cover: context.records.find((r) => nsec3Covers(r, h)) };
}

function budgetSpent<T>(): Verdict<T> {
  return bogus('NSEC3 hash budget for this answer is spent (CVE-2023-50868)');
}

type EncloserProof =
  | { readonly kind: 'proof'; readonly closestEncloser: string; readonly nextCloser: string; readonly cover: Nsec3Record }
  | { readonly kind: 'exists' }
  | { readonly kind: 'failed'; readonly verdict: Verdict<DenialProof> };

function failed(verdict: Verdict<DenialProof>): EncloserProof {
  return { kind: 'failed', verdict };
}

/**
 * RFC 5155 §8.3: "the validator MUST find the longest name, X, such that X is an ancestor of QNAME
 * that is matched by an NSEC3 RR present in the response ... and the name one label longer than X
 * (but still an ancestor of -- or equal to -- QNAME) is covered by an NSEC3 RR present in the response."
 */
function proveClosestEncloser(context: Context, qname: string): EncloserProof {
  if (!isSubdomain(qname, context.zone)) return failed(bogus(`${qname} is not in zone ${context.zone}`));
  const qnameLabels = presentationLabels(qname).length;
  for (let labels = qnameLabels; labels >= presentationLabels(context.zone).length; labels--) {
    const candidate = ancestorName(qname, labels);
    const found = lookup(context, candidate);
    if (!found) return failed(budgetSpent());
    if (!found.match) continue;
    if (labels === qnameLabels) return { kind: 'exists' };
    return proveNextCloser(context, qname, candidate, found.match);
  }
  return failed(bogus(`no NSEC3 matches ${qname} or an ancestor of it in ${context.zone}`, Ede.NsecMissing));
}

function proveNextCloser(context: Context, qname: string, closestEncloser: string, match: Nsec3Record): EncloserProof {
  const bitmap = match.rdata.typeBitmap;
  // RFC 5155 §8.3: "The DNAME type bit must not be set and the NS type bit may only be set if the SOA
  // type bit is set. If this is not the case, it would be an indication that an attacker is using
  // them to falsely deny the existence of RRs for which the server is not authoritative."
  if (hasType(bitmap, RRType.DNAME)) return failed(bogus(`NSEC3 of the closest encloser ${closestEncloser} has DNAME`));
  if (hasType(bitmap, RRType.NS) && !hasType(bitmap, RRType.SOA)) {
    if (hasType(bitmap, RRType.DS)) return failed(bogus(`closest encloser ${closestEncloser} is a signed delegation`));
    return failed(insecure({ closestEncloser, optOut: false, insecureBecause: 'insecure-delegation' },
      `${qname} is below the insecure delegation ${closestEncloser}`));
  }
  const nextCloser = ancestorName(qname, presentationLabels(closestEncloser).length + 1);
  const found = lookup(context, nextCloser);
  if (!found) return failed(budgetSpent());
  if (!found.cover) return failed(bogus(`no NSEC3 covers the next closer name ${nextCloser}`, Ede.NsecMissing));
  return { kind: 'proof', closestEncloser, nextCloser, cover: found.cover };
}

/**
 * A proven closest encloser, with the opt-out caveat of RFC 5155 §9.2: no AD bit for a closest
 * encloser proof whose next-closer NSEC3 has the Opt-Out flag, since names in that span may exist
 * as unsigned delegations.
 */
function concluded(proof: Extract<EncloserProof, { kind: 'proof' }>): Verdict<DenialProof> {
  const { closestEncloser, nextCloser } = proof;
  if (!proof.cover.rdata.optOut) return secure({ closestEncloser, optOut: false });
  return insecure({ closestEncloser, optOut: true, insecureBecause: 'opt-out' },
    `the next closer name ${nextCloser} lies in an opt-out span`);
}

/** §8.4 Name Error. */
export function proveNxdomainNsec3(qname: string, nsec3s: readonly ResourceRecord[], zone: string, budget: HashBudget): Verdict<DenialProof> {
  const prepared = prepare(nsec3s, zone, budget);
  if ('verdict' in prepared) return prepared.verdict;
  const proof = proveClosestEncloser(prepared.context, qname);
  if (proof.kind === 'failed') return proof.verdict;
  if (proof.kind === 'exists') return bogus(`an NSEC3 matches ${qname}: the name exists`);
  const wildcard = wildcardOf(proof.closestEncloser);
  const found = lookup(prepared.context, wildcard);
  if (!found) return budgetSpent();
  // RFC 5155 §8.4: "A validator MUST verify that there is a closest encloser proof for QNAME present
  // in the response and that there is an NSEC3 RR that covers the wildcard at the closest encloser".
  if (!found.cover) return bogus(`no NSEC3 covers the wildcard ${wildcard} at the closest encloser`, Ede.NsecMissing);
  return concluded(proof);
}

/**
 * §8.5 No Data (QTYPE not DS), §8.6 No Data (QTYPE DS, with opt-out) and §8.7 Wildcard No Data.
 * An insecure delegation at or above `qname` (parent-side NSEC3) yields insecure for types other than DS.
 */
export function proveNodataNsec3(qname: string, qtype: number, nsec3s: readonly ResourceRecord[], zone: string, budget: HashBudget): Verdict<DenialProof> {
  const prepared = prepare(nsec3s, zone, budget);
  if ('verdict' in prepared) return prepared.verdict;
  const found = lookup(prepared.context, qname);
  if (!found) return budgetSpent();
  // RFC 5155 §8.5: "The validator MUST verify that an NSEC3 RR that matches QNAME is present and that
  // both the QTYPE and the CNAME type are not set in its Type Bit Maps field." §8.6: "If there is an
  // NSEC3 RR that matches QNAME present in the response, then that NSEC3 RR MUST NOT have the bits
  // corresponding to DS and CNAME set in its Type Bit Maps field."
  if (found.match) return checkNodataBitmap(found.match.rdata.typeBitmap, qname, qtype, 'NSEC3');
  const proof = proveClosestEncloser(prepared.context, qname);
  if (proof.kind === 'exists') return bogus(`NSEC3 for ${qname} changed between lookups`);
  if (proof.kind === 'failed') {
    const { verdict } = proof;
    // A DS question below an insecure delegation is not the parent's to answer.
    return qtype === RRType.DS && verdict.status === 'insecure' ? bogus(`no DS denial for ${qname}: ${verdict.reason}`) : verdict;
  }
  return proveWildcardNodataOrOptOut(prepared.context, proof, qname, qtype);
}

function proveWildcardNodataOrOptOut(
  context: Context,
  proof: Extract<EncloserProof, { kind: 'proof' }>,
  qname: string,
  qtype: number,
): Verdict<DenialProof> {
  const wildcard = wildcardOf(proof.closestEncloser);
  const found = lookup(context, wildcard);
  if (!found) return budgetSpent();
  if (found.match) {
    // RFC 5155 §8.7: "The validator MUST verify a closest encloser proof for QNAME and MUST find an
    // NSEC3 RR present in the response that matches the wildcard name generated by prepending the
    // asterisk label to the closest encloser. Furthermore, the bits corresponding to both QTYPE and
    // CNAME MUST NOT be set in the wildcard matching NSEC3 RR."
    const bitmap = found.match.rdata.typeBitmap;
    if (hasType(bitmap, RRType.NS) && !hasType(bitmap, RRType.SOA)) return bogus(`NSEC3 of the wildcard ${wildcard} is a delegation`);
    const checked = checkNodataBitmap(bitmap, wildcard, qtype, 'NSEC3');
    return checked.status === 'secure' ? concluded(proof) : checked;
  }
  // RFC 5155 §8.6: "If there is no such NSEC3 RR, then the validator MUST verify that a closest
  // provable encloser proof for QNAME is present in the response, and that the NSEC3 RR that covers
  // the "next closer" name has the Opt-Out bit set." For other types the same span may hide an empty
  // non-terminal above unsigned delegations, which has no NSEC3 either; insecure, as Unbound does.
  if (proof.cover.rdata.optOut) return concluded(proof);
  return bogus(`no NSEC3 matches ${qname} or the wildcard ${wildcard}, and ${proof.nextCloser} is not in an opt-out span`, Ede.NsecMissing);
}

/**
 * §8.8 Wildcard Answer: "The verified wildcard answer RRSet in the response provides the validator
 * with a (candidate) closest encloser for QNAME." `wildcardLabels` is the RRSIG Labels field.
 */
export function proveWildcardAnswerNsec3(
  qname: string,
  wildcardLabels: number,
  nsec3s: readonly ResourceRecord[],
  zone: string,
  budget: HashBudget,
): Verdict<DenialProof> {
  const labels = presentationLabels(qname).length;
  if (!Number.isInteger(wildcardLabels) || wildcardLabels < presentationLabels(zone).length || wildcardLabels >= labels) {
    return bogus(`RRSIG Labels ${wildcardLabels} does not name a wildcard between ${zone} and ${qname}`);
  }
  const prepared = prepare(nsec3s, zone, budget);
  if ('verdict' in prepared) return prepared.verdict;
  const closestEncloser = ancestorName(qname, wildcardLabels);
  const nextCloser = ancestorName(qname, wildcardLabels + 1);
  const found = lookup(prepared.context, nextCloser);
  if (!found) return budgetSpent();
  // RFC 5155 §8.8: "Validators MUST verify that there is an NSEC3 RR that covers the "next closer"
  // name to QNAME present in the response. This proves that QNAME itself did not exist and that the
  // correct wildcard was used to generate the response."
  if (!found.cover) return bogus(`no NSEC3 covers the next closer name ${nextCloser}`, Ede.NsecMissing);
  return concluded({ kind: 'proof', closestEncloser, nextCloser, cover: found.cover });
}

/**
 * §8.9 Referrals to Unsigned Subzones (and RFC 6840 §4.4): secure when the NSEC3 matching the
 * delegation has NS and neither DS nor SOA; insecure (opt-out) when none matches and the next
 * closer name is covered by an opt-out NSEC3. Either way the child zone is insecure.
 */
export function proveNoDsNsec3(delegationName: string, nsec3s: readonly ResourceRecord[], zone: string, budget: HashBudget): Verdict<DenialProof> {
  const prepared = prepare(nsec3s, zone, budget);
  if ('verdict' in prepared) return prepared.verdict;
  const found = lookup(prepared.context, delegationName);
  if (!found) return budgetSpent();
  // RFC 5155 §8.9: "If there is an NSEC3 RR present in the response that matches the delegation name,
  // then the validator MUST ensure that the NS bit is set and that the DS bit is not set ... This is
  // done by ensuring that the SOA bit is not set in the Type Bit Maps field of this NSEC3 RR."
  if (found.match) return checkNoDsBitmap(found.match.rdata.typeBitmap, delegationName, 'NSEC3');
  const proof = proveClosestEncloser(prepared.context, delegationName);
  if (proof.kind === 'exists') return bogus(`NSEC3 for ${delegationName} changed between lookups`);
  if (proof.kind === 'failed') {
    return proof.verdict.status === 'insecure' ? bogus(`no DS denial for ${delegationName}: ${proof.verdict.reason}`) : proof.verdict;
  }
  // RFC 5155 §8.9: "If there is no NSEC3 RR present that matches the delegation name, then the
  // validator MUST verify a closest provable encloser proof for the delegation name. The validator
  // MUST verify that the Opt-Out bit is set in the NSEC3 RR that covers the "next closer" name to the
  // delegation name."
  if (!proof.cover.rdata.optOut) {
    return bogus(`no NSEC3 matches the delegation ${delegationName} and the NSEC3 covering ${proof.nextCloser} has no Opt-Out`);
  }
  return concluded(proof);
}
