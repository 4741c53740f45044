/**
 * One usable TLSA record against the peer's chain, by certificate usage (RFC 6698 §2.1.1 as
 * updated by RFC 7671 §5). Each check answers "authenticated, at this depth, as this name" or
 * the one reason this record does not authenticate the peer; verify.ts weighs the reasons.
 */
import type { X509Certificate } from 'node:crypto';
import { TlsaUsage } from '../records/index.js';
import { certLabel, matchesCert, type UsableRecord } from './association.js';
import { matchReferenceName } from './names.js';
import { safeVerify, verifyPath, type TrustAnchor } from './path.js';
import type { DaneFailureCode, DaneInput } from './types.js';

export interface RecordContext {
  readonly chain: readonly X509Certificate[];
  readonly referenceNames: readonly string[];
  /** The identity a DANE-EE match reports: the TLSA base domain. */
  readonly baseDomain: string;
  readonly pkix: DaneInput['pkix'];
  readonly nowEpoch: number;
}

export type RecordOutcome =
  | { readonly ok: true; readonly depth: number; readonly identity: string }
  | { readonly ok: false; readonly code: Exclude<DaneFailureCode, 'no-usable-tlsa'>; readonly reason: string };

export function checkRecord(usable: UsableRecord, context: RecordContext): RecordOutcome {
  switch (usable.record.usage) {
    case TlsaUsage.DaneEe: return checkDaneEe(usable, context);
    case TlsaUsage.DaneTa: return checkDaneTa(usable, context);
    case TlsaUsage.PkixEe: return checkPkixEe(usable, context);
    // usability() lets only the four usages through: what is left is PKIX-TA(0).
    default: return checkPkixTa(usable, context);
  }
}

/**
 * RFC 6698 §2.1.1, usage 3: the record names "a certificate, or the public key of such a
 * certificate, that MUST match the end entity certificate given by the server in TLS".
 * RFC 7671 §5.1: "The server MUST be considered authenticated even if none of the names in the
 * certificate match the client's reference identity for the server", and "the expiration date
 * of the server certificate MUST be ignored": no name, validity or chain check.
 */
function checkDaneEe(usable: UsableRecord, context: RecordContext): RecordOutcome {
  const leaf = context.chain[0];
  if (leaf === undefined || !matchesCert(usable.record, leaf)) return mismatch(usable, context.chain, 'the peer certificate');
  return { ok: true, depth: 0, identity: context.baseDomain };
}

/**
 * RFC 6698 §2.1.1, usage 1: "The target certificate MUST pass PKIX certification path
 * validation and MUST match the TLSA record"; the name is checked as PKIX does (RFC 6125).
 */
function checkPkixEe(usable: UsableRecord, context: RecordContext): RecordOutcome {
  const leaf = context.chain[0];
  if (leaf === undefined || !matchesCert(usable.record, leaf)) return mismatch(usable, context.chain, 'the peer certificate');
  return namedAndTrusted(usable, context, 0);
}

/**
 * RFC 6698 §2.1.1, usage 0: a CA certificate or its key "that MUST be found in any of the PKIX
 * certification paths for the end entity certificate given by the server in TLS". The path is
 * the one the CA store completed (it includes the root), so any certificate above the peer's.
 */
function checkPkixTa(usable: UsableRecord, context: RecordContext): RecordOutcome {
  const depth = context.chain.findIndex((cert, d) => d >= 1 && matchesCert(usable.record, cert));
  if (depth < 0) return mismatch(usable, context.chain, 'any CA certificate above the peer certificate');
  return namedAndTrusted(usable, context, depth);
}

function namedAndTrusted(usable: UsableRecord, context: RecordContext, depth: number): RecordOutcome {
  const named = nameCheck(usable, context);
  if (!named.ok) return named;
  if (!context.pkix.trusted) {
    const why = context.pkix.error === undefined ? '' : `: ${context.pkix.error}`;
    const reason = `${usable.label} matched at depth ${depth} but the CA store does not trust the chain${why}`;
    return { ok: false, code: 'pkix-failed', reason };
  }
  return { ok: true, depth, identity: named.identity };
}

/**
 * RFC 6698 §2.1.1, usage 2: a certificate or public key "that MUST be used as the trust anchor
 * when validating the end entity certificate given by the server in TLS". The anchor is a
 * certificate above the peer's (DANE-TA never matches the peer certificate itself, as in
 * OpenSSL), or the full certificate or key of a "2 0 0" / "2 1 0" record that signed one of the
 * chain's certificates (RFC 7671 §5.2.2, §5.2.3). Names are checked as for PKIX (RFC 7671
 * §5.2, RFC 7672 §3.2.3); the path below the anchor must verify (path.ts).
 */
function checkDaneTa(usable: UsableRecord, context: RecordContext): RecordOutcome {
  const candidates = anchorCandidates(usable, context.chain);
  if (candidates.length === 0) return mismatch(usable, context.chain, 'any trust anchor above the peer certificate');
  const named = nameCheck(usable, context);
  if (!named.ok) return named;
  let firstFailure: string | undefined;
  for (const candidate of candidates) {
    const path = verifyPath(candidate.below, candidate.anchor, context.nowEpoch);
    if (path.ok) return { ok: true, depth: candidate.depth, identity: named.identity };
    firstFailure ??= `${usable.label} names ${candidate.anchor.label} as trust anchor, but ${path.reason}`;
  }
  return { ok: false, code: 'chain-invalid', reason: firstFailure ?? `${usable.label}: no path to the trust anchor` };
}

interface AnchorCandidate {
  /** Depth of the anchor in the chain; -1 for an anchor taken from the record. */
  readonly depth: number;
  readonly anchor: TrustAnchor;
  readonly below: readonly X509Certificate[];
}

/** Trust anchors the record names, nearest to the peer certificate first. */
function anchorCandidates(usable: UsableRecord, chain: readonly X509Certificate[]): readonly AnchorCandidate[] {
  const inChain = chain.flatMap((cert, depth): AnchorCandidate[] => (depth >= 1 && matchesCert(usable.record, cert)
    ? [{ depth, anchor: { publicKey: cert.publicKey, cert, label: certLabel(cert) }, below: chain.slice(0, depth) }]
    : []));
  if (inChain.length > 0) return inChain;
  const anchor = recordAnchor(usable, chain);
  if (anchor === undefined) return [];
  // The certificate the record's anchor signed; everything from the peer's up to it lies below.
  const signed = chain.findIndex((cert) =>
    (anchor.cert === undefined || cert.checkIssued(anchor.cert)) && safeVerify(cert, anchor.publicKey));
  return signed < 0 ? [] : [{ depth: -1, anchor, below: chain.slice(0, signed + 1) }];
}

/** A "2 0 0" certificate or "2 1 0" public key the server did not send, as a trust anchor. */
function recordAnchor(usable: UsableRecord, chain: readonly X509Certificate[]): TrustAnchor | undefined {
  if (usable.fullKey !== undefined) return { publicKey: usable.fullKey, label: 'the TLSA public key' };
  const cert = usable.fullCert;
  // A "2 0 0" of the peer certificate itself names no anchor above it (OpenSSL agrees).
  if (cert === undefined || chain.some((c) => c.raw.equals(cert.raw))) return undefined;
  return { publicKey: cert.publicKey, cert, label: `${certLabel(cert)} (from the TLSA record)` };
}

type NameCheck = { readonly ok: true; readonly identity: string } | Extract<RecordOutcome, { ok: false }>;

function nameCheck(usable: UsableRecord, context: RecordContext): NameCheck {
  const leaf = context.chain[0];
  const identity = leaf === undefined ? undefined : matchReferenceName(leaf, context.referenceNames);
  if (identity !== undefined) return { ok: true, identity };
  const subject = leaf === undefined ? 'no certificate' : certLabel(leaf);
  return {
    ok: false, code: 'name-mismatch',
    reason: `${usable.label} matched, but ${subject} carries none of the names ${context.referenceNames.join(', ') || '(none given)'}`,
  };
}

function mismatch(usable: UsableRecord, chain: readonly X509Certificate[], what: string): RecordOutcome {
  const leaf = chain[0];
  const peer = leaf === undefined ? 'the peer sent no certificate' : `peer certificate ${certLabel(leaf)}`;
  return { ok: false, code: 'tlsa-mismatch', reason: `${usable.label} does not match ${what} (${peer}, chain of ${chain.length})` };
}
