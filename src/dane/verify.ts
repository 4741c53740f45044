/**
 * DANE verification (RFC 6698 §2.1.1, RFC 7671; RFC 7672 for SMTP): the peer's chain against a
 * TLSA RRset. The records are alternatives (key and certificate rollovers publish old and new
 * side by side): any one usable record that authenticates the peer is enough; otherwise the
 * verdict carries the most telling of the records' failures.
 */
import { ALL_USAGES, usability, type UsableRecord } from './association.js';
import { baseDomain } from './names.js';
import { checkRecord, type RecordContext, type RecordOutcome } from './usages.js';
import type { DaneFailureCode, DaneInput, DaneVerdict } from './types.js';

type RecordFailure = Extract<RecordOutcome, { ok: false }>;

/**
 * How telling each failure is, most first: a record that matched but for a name the certificate
 * lacks says the most about the peer (right key, wrong service), then a broken path or a chain
 * the CA store rejects, then plain mismatches.
 */
const FAILURE_RANK: Readonly<Record<RecordFailure['code'], number>> = {
  'name-mismatch': 3, 'chain-invalid': 2, 'pkix-failed': 2, 'tlsa-mismatch': 1,
};

export function verifyDane(input: DaneInput): DaneVerdict {
  const usages = input.usages ?? ALL_USAGES;
  const usable: UsableRecord[] = [];
  const unusable: string[] = [];
  for (const record of input.records) {
    const checked = usability(record, usages);
    if (checked.usable) usable.push(checked.value);
    else unusable.push(checked.reason);
  }
  // RFC 7671 §4.1, RFC 7672 §2.2: an RRset without a usable record is as if there were no TLSA;
  // the caller decides what that means (PKIX, or no authentication at all).
  if (usable.length === 0) {
    return failure('no-usable-tlsa', `${input.tlsaOwner}: none of the ${input.records.length} TLSA records is usable`, unusable);
  }
  const context: RecordContext = {
    chain: input.chain, referenceNames: input.referenceNames, pkix: input.pkix, nowEpoch: input.nowEpoch,
    baseDomain: input.referenceNames[0] ?? baseDomain(input.tlsaOwner),
  };
  const failures: RecordFailure[] = [];
  for (const candidate of usable) {
    const outcome = checkRecord(candidate, context);
    if (outcome.ok) return { ok: true, record: candidate.record, depth: outcome.depth, identity: outcome.identity, unusable };
    failures.push(outcome);
  }
  const worst = mostTelling(failures);
  const others = failures.length > 1 ? ` (and ${failures.length - 1} more record${failures.length > 2 ? 's' : ''} failed)` : '';
  return failure(worst.code, `${input.tlsaOwner}: ${worst.reason}${others}`, unusable);
}

/** The highest-ranked failure; the first of equal rank, in RRset order. */
function mostTelling(failures: readonly RecordFailure[]): RecordFailure {
  return failures.reduce((best, next) => (FAILURE_RANK[next.code] > FAILURE_RANK[best.code] ? next : best));
}

function failure(code: DaneFailureCode, reason: string, unusable: readonly string[]): DaneVerdict {
  return { ok: false, code, reason, unusable };
}
