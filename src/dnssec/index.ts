export * from './verdict.js';
export * from './limits.js';
export {
  ancestorName, canonicalLabels, canonicalNameWire, compareCanonical, isSubdomain, labelCount, presentationLabels, wildcardOf,
} from './canonical-name.js';
export {
  algorithmName, digestHash, DigestType, DnssecAlgorithm, dnskeyToKeyObject, isSupportedAlgorithm, isSupportedDigestType, verifySignature,
} from './algorithms.js';
export { DNSKEY_PROTOCOL, DnskeyFlag, parseDnskey, parseDs, parseRrsig, RRSIG_FIXED_BYTES } from './dnssec-rdata.js';
export type { DnskeyRdata, DsRdata, RrsigRdata } from './dnssec-rdata.js';
export { keyTag } from './key-tag.js';
export { dsDigest, dsMatches } from './ds.js';
export { canonicalRdata, canonicalRrsetRdata, signedData, signedOwnerWire } from './canonical-rrset.js';
export { createVerifyBudget, verifyRrset } from './rrsig.js';
export type { RrsetSignature, VerifyBudget } from './rrsig.js';
export { serialGreaterThan, serialLessOrEqual, serialLessThan, serialToEpoch, toSerial } from './serial.js';
export { decodeTypeBitmap, encodeTypeBitmap, hasType, type TypeBitmap } from './type-bitmap.js';
export {
  deniesNothingBelow, nsecCovers, nsecMatches, parseNsecRdata, proveNoDsNsec, proveNodataNsec, proveNxdomainNsec, proveWildcardAnswerNsec,
} from './nsec.js';
export type { DenialProof, InsecureCause, NsecRdata } from './nsec.js';
export {
  base32HexDecode, base32HexEncode, createHashBudget, Nsec3Flag, Nsec3HashAlgorithm, nsec3Covers, nsec3Hash, nsec3Matches, parseNsec3Rdata, selectNsec3s,
} from './nsec3.js';
export type { HashBudget, Nsec3Rdata } from './nsec3.js';
export { proveNoDsNsec3, proveNodataNsec3, proveNxdomainNsec3, proveWildcardAnswerNsec3 } from './nsec3-proofs.js';
export { groupRrsets, signerOf, type SignedRrset } from './rrsets.js';
export type { DnssecFetcher } from './fetcher.js';
export { ChainOfTrust, type WalkContext, type ZoneKeys } from './chain.js';
export { Validator } from './validator.js';
export {
  defaultTrustAnchors, keyMatchesAnchor, negativeTrustAnchors, ROOT_TRUST_ANCHOR_TEXT, ROOT_TRUST_ANCHORS, trustAnchorSet, trustAnchorsFromText,
} from './trust-anchors.js';
export type { NegativeTrustAnchors, TrustAnchor, TrustAnchorSet } from './trust-anchors.js';
export { parsePresentation, type PresentationOptions } from './presentation.js';
