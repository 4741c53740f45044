/**
 * Verifying an RRset against its RRSIGs and the zone's DNSKEYs (RFC 4035 §5.3).
 *
 * Work is bounded (KeyTrap, CVE-2023-50387): at most MAX_RRSIGS_PER_RRSET RRSIGs per RRset, at
 * most MAX_KEY_TAG_COLLISIONS keys per RRSIG, and every crypto.verify call spends one unit of a
 * VerifyBudget that the whole answer shares. An exhausted budget makes the answer bogus.
 *
 * Unsupported algorithms: when no RRSIG over the RRset uses an algorithm oedns implements, the
 * verdict is bogus with Ede.UnsupportedDnskeyAlgorithm and nothing else produces that EDE. It is
 * not insecure by itself: RFC 4035 §5.2 makes a zone insecure only when the parent's signed DS
 * RRset lists no supported algorithm, and only the caller, which holds the DS RRset, can know
 * that (trusting the RRSIG's algorithm would let an attacker downgrade by adding an RRSIG with
 * algorithm 253).
 */
import { errorMessage } from '../core/errors.js';
import { RRType, typeName } from '../wire/constants.js';
import type { ResourceRecord } from '../wire/message.js';
import { algorithmName, dnskeyToKeyObject, isSupportedAlgorithm, verifySignature } from './algorithms.js';
import { compareCanonical, isSubdomain, labelCount } from './canonical-name.js';
import { signedData } from './canonical-rrset.js';
import { DNSKEY_PROTOCOL, parseDnskey, parseRrsig, type DnskeyRdata, type RrsigRdata } from './dnssec-rdata.js';
import { MAX_KEY_TAG_COLLISIONS, MAX_RRSIGS_PER_RRSET, MAX_VERIFICATIONS_PER_ANSWER } from './limits.js';
import { serialLessOrEqual, serialToEpoch } from './serial.js';
import { bogus, Ede, secure, type Verdict } from './verdict.js';

/** Signature verifications left for one answer; every RRset of the answer draws from it. */
export interface VerifyBudget {
  verificationsLeft: number;
  /**
   * Asked before each verification: true when nothing else waits on this process, so the
   * signature may be checked on the event loop thread instead of the thread pool (see
   * verifySignature). Absent: always the thread pool.
   */
  readonly inline?: (() => boolean) | undefined;
}

export function createVerifyBudget(verifications: number = MAX_VERIFICATIONS_PER_ANSWER, inline?: () => boolean): VerifyBudget {
  return { verificationsLeft: verifications, inline };
}

/** The RRSIG that proved an RRset. */
export interface RrsetSignature {
  readonly keyTag: number;
  readonly algorithm: number;
  /** The RRSIG Expiration as epoch seconds (its serial read against `now`), to cap cache TTLs. */
  readonly expiration: number;
}

/** Why one RRSIG did not prove the RRset; the highest rank becomes the verdict. */
interface Failure {
  readonly reason: string;
  readonly ede: Ede;
  readonly rank: number;
}

const Rank = { UnsupportedAlgorithm: 0, Unusable: 1, NoKey: 2, BadSignature: 3, OutsideValidity: 4 } as const;

type Attempt = { readonly kind: 'proved'; readonly value: RrsetSignature } | { readonly kind: 'failed'; readonly failure: Failure } | { readonly kind: 'exhausted' };

interface Context {
  readonly rrset: readonly ResourceRecord[];
  readonly dnskeys: readonly ResourceRecord[];
  readonly zone: string;
  readonly now: number;
  readonly budget: VerifyBudget;
  readonly what: string;
}

function failed(reason: string, ede: Ede, rank: number): Attempt {
  return { kind: 'failed', failure: { reason, ede, rank } };
}

const EXHAUSTED = 'signature verification budget exhausted (KeyTrap bound)';

/**
 * RFC 4035 §5.3: secure with the first RRSIG that verifies; otherwise bogus with the most
 * telling reason among the RRSIGs tried. `zone` is the zone that holds the RRset (the expected
 * signer), `dnskeys` its apex DNSKEY RRset, `now` epoch seconds.
 */
export async function verifyRrset(
  rrset: readonly ResourceRecord[],
  rrsigs: readonly ResourceRecord[],
  dnskeys: readonly ResourceRecord[],
  zone: string,
  now: number,
  budget: VerifyBudget,
): Promise<Verdict<RrsetSignature>> {
  const first = rrset[0];
  if (!first) return bogus('empty RRset');
  const what = `${first.name}/${typeName(first.type)}`;
  if (rrset.some((rr) => rr.type !== first.type || rr.class !== first.class || compareCanonical(rr.name, first.name) !== 0)) {
    return bogus(`RRset ${what} mixes owner names, types or classes`);
  }
  const covering = rrsigs.filter((rr) => rr.type === RRType.RRSIG && compareCanonical(rr.name, first.name) === 0 && coversType(rr, first.type));
  if (covering.length === 0) return bogus(`no RRSIG covers ${what}`, Ede.RrsigsMissing);
  const context: Context = { rrset, dnskeys, zone, now, budget, what };
  let worst: Failure | undefined;
  for (const rrsig of covering.slice(0, MAX_RRSIGS_PER_RRSET)) {
    const attempt = await tryRrsig(rrsig, context);
    if (attempt.kind === 'proved') return secure(attempt.value);
    if (attempt.kind === 'exhausted') return bogus(`${EXHAUSTED} while verifying ${what}`);
    if (!worst || attempt.failure.rank > worst.rank) worst = attempt.failure;
  }
  return bogus(worst!.reason, worst!.ede);
}

/** Type Covered read straight from the RDATA, so that a malformed RRSIG still counts as present. */
function coversType(rrsig: ResourceRecord, type: number): boolean {
  return rrsig.rdata.length >= 2 && ((rrsig.rdata[0]! << 8) | rrsig.rdata[1]!) === type;
}

async function tryRrsig(rrsig: ResourceRecord, context: Context): Promise<Attempt> {
  let sig: RrsigRdata;
  try {
    sig = parseRrsig(rrsig);
  } catch (error) {
    return failed(`malformed RRSIG for ${context.what}: ${errorMessage(error)}`, Ede.DnssecBogus, Rank.Unusable);
  }
  const tag = `${context.what} (key tag ${sig.keyTag}, ${algorithmName(sig.algorithm)})`;
  if (!isSupportedAlgorithm(sig.algorithm)) {
    return failed(`RRSIG for ${tag} uses an unsupported algorithm`, Ede.UnsupportedDnskeyAlgorithm, Rank.UnsupportedAlgorithm);
  }
  const problem = checkFields(rrsig, sig, context, tag);
  if (problem) return problem;
  const keys = matchingKeys(sig, context, tag);
  if (!Array.isArray(keys)) return keys;
  let data: Uint8Array;
  try {
    data = signedData(rrsig, context.rrset, sig);
  } catch (error) {
    return failed(`cannot build the signed data of ${tag}: ${errorMessage(error)}`, Ede.DnssecBogus, Rank.Unusable);
  }
  return verifyWithKeys(sig, keys, data, context, tag);
}

/** RFC 4035 §5.3.1 checks on the RRSIG's own fields, before any key or signature work. */
function checkFields(rrsig: ResourceRecord, sig: RrsigRdata, context: Context, tag: string): Attempt | undefined {
  const owner = context.rrset[0]!;
  // "The RRSIG RR and the RRset MUST have the same owner name and the same class."
  if (rrsig.class !== owner.class) return failed(`RRSIG for ${tag} has class ${rrsig.class}, the RRset ${owner.class}`, Ede.DnssecBogus, Rank.Unusable);
  // "The RRSIG RR's Signer's Name field MUST be the name of the zone that contains the RRset."
  if (compareCanonical(sig.signerName, context.zone) !== 0 || !isSubdomain(owner.name, sig.signerName)) {
    return failed(`RRSIG for ${tag} is signed by ${sig.signerName}, not by the zone ${context.zone}`, Ede.DnssecBogus, Rank.Unusable);
  }
  // "The number of labels in the RRset owner name MUST be greater than or equal to the value in
  // the RRSIG RR's Labels field."
  if (sig.labels > labelCount(owner.name)) {
    return failed(`RRSIG for ${tag} claims ${sig.labels} labels, more than the owner has`, Ede.DnssecBogus, Rank.Unusable);
  }
  // "The validator's notion of the current time MUST be less than or equal to the time listed in
  // the RRSIG RR's Expiration field." Compared with RFC 1982 serial arithmetic (RFC 4034 §3.1.5).
  if (!serialLessOrEqual(context.now, sig.expirationEpoch)) {
    return failed(`RRSIG expired for ${tag}`, Ede.SignatureExpired, Rank.OutsideValidity);
  }
  // "The validator's notion of the current time MUST be greater than or equal to the time listed
  // in the RRSIG RR's Inception field."
  if (!serialLessOrEqual(sig.inceptionEpoch, context.now)) {
    return failed(`RRSIG not yet valid for ${tag}`, Ede.SignatureNotYetValid, Rank.OutsideValidity);
  }
  return undefined;
}

/**
 * RFC 4035 §5.3.1: "The RRSIG RR's Signer's Name, Algorithm, and Key Tag fields MUST match the
 * owner name, algorithm, and key tag for some DNSKEY RR in the zone's apex DNSKEY RRset", and
 * "The matching DNSKEY RR ... MUST have the Zone Flag bit (DNSKEY RDATA Flag bit 7) set."
 */
function matchingKeys(sig: RrsigRdata, context: Context, tag: string): DnskeyRdata[] | Attempt {
  const matching: DnskeyRdata[] = [];
  for (const rr of context.dnskeys) {
    if (rr.type !== RRType.DNSKEY || compareCanonical(rr.name, sig.signerName) !== 0) continue;
    let key: DnskeyRdata;
    try {
      key = parseDnskey(rr);
    } catch {
      continue;
    }
    if (key.keyTag === sig.keyTag && key.algorithm === sig.algorithm) matching.push(key);
  }
  if (matching.length === 0) return failed(`no DNSKEY of ${sig.signerName} matches the RRSIG for ${tag}`, Ede.DnskeyMissing, Rank.NoKey);
  const usable = matching.filter(isUsableKey);
  if (usable.length === 0) {
    const noZoneBit = matching.every((key) => !key.zoneKey);
    return noZoneBit
      ? failed(`DNSKEY for ${tag} lacks the Zone Key flag`, Ede.NoZoneKeyBitSet, Rank.NoKey)
      : failed(`DNSKEY for ${tag} is revoked or has a protocol other than 3`, Ede.DnskeyMissing, Rank.NoKey);
  }
  return usable.slice(0, MAX_KEY_TAG_COLLISIONS);
}

function isUsableKey(key: DnskeyRdata): boolean {
  // RFC 4034 §2.1.2: "the DNSKEY RR MUST be treated as invalid during signature verification if
  // it is found to be some value other than 3." RFC 5011 §2.1: "Once the resolver sees the REVOKE
  // bit, it MUST NOT use this key as a trust anchor or for any other purpose except to validate
  // the RRSIG it signed over the DNSKEY RRset specifically for the purpose of validating the
  // revocation." That exception is trust-anchor upkeep, which this function does not do.
  return key.zoneKey && key.protocol === DNSKEY_PROTOCOL && !key.revoked;
}

async function verifyWithKeys(sig: RrsigRdata, keys: readonly DnskeyRdata[], data: Uint8Array, context: Context, tag: string): Promise<Attempt> {
  let problem = `signature did not verify for ${tag}`;
  for (const key of keys) {
    let keyObject;
    try {
      keyObject = await dnskeyToKeyObject(key.algorithm, key.publicKey);
    } catch (error) {
      problem = `DNSKEY for ${tag} is malformed: ${errorMessage(error)}`;
      continue;
    }
    if (context.budget.verificationsLeft <= 0) return { kind: 'exhausted' };
    context.budget.verificationsLeft--;
    if (await verifySignature(sig.algorithm, keyObject, data, sig.signature, context.budget.inline?.() ?? false)) {
      return { kind: 'proved', value: { keyTag: sig.keyTag, algorithm: sig.algorithm, expiration: serialToEpoch(sig.expirationEpoch, context.now) } };
    }
  }
  return failed(problem, Ede.DnssecBogus, Rank.BadSignature);
}
