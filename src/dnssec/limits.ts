/**
 * Limits that bound the work any one answer can cause (KeyTrap, CVE-2023-50387; NSEC3,
 * CVE-2023-50868). Hitting one makes the answer bogus, never slow. Each is named and explained.
 */

/** RRSIGs tried per RRset before giving up; more means a broken zone or an attack. */
export const MAX_RRSIGS_PER_RRSET = 8;

/** DNSKEYs with the same key tag and algorithm tried for one RRSIG (key-tag collisions). */
export const MAX_KEY_TAG_COLLISIONS = 4;

/** RFC 9276 §3.2: NSEC3 with more iterations than this is treated as insecure. */
export const MAX_NSEC3_ITERATIONS = 150;

/**
 * Signature verifications (crypto.verify calls) one whole answer may spend, shared by every RRset
 * in it. KeyTrap answers pair many RRSIGs with many colliding keys so that each RRset costs
 * MAX_RRSIGS_PER_RRSET × MAX_KEY_TAG_COLLISIONS verifications; this cap bounds the sum over RRsets.
 * An honest answer (DNSKEY RRset, the answer RRsets, up to three NSEC3 proofs) needs far fewer.
 */
export const MAX_VERIFICATIONS_PER_ANSWER = 16;

/**
 * RFC 3110 §2: "the exponent and modulus are each limited to 4096 bits in length" (RFC 5702 §2
 * keeps the bound for SHA-2). A larger key only makes every verification slower: refused as malformed.
 */
export const MAX_RSA_MODULUS_BITS = 4096;

/** RFC 5702 §2.1: RSA keys below 512 bits are not valid DNSSEC keys (its own §6.1 example is 512). */
export const MIN_RSA_MODULUS_BITS = 512;

/**
 * SHA-1 hashes (of one name each, iterations included) that one answer may spend on NSEC3 proofs,
 * shared by every proof in the answer (CVE-2023-50868: a closest encloser proof for a long random
 * name costs one hash per label). A real name needs one per label below the zone plus the wildcard:
 * an ip6.arpa reverse name under ip6.arpa is 33.
 */
export const MAX_NSEC3_HASHES_PER_ANSWER = 64;

/** Zone cuts walked from a trust anchor to one name (DS queries per name); deeper is an attack. */
export const MAX_DELEGATION_DEPTH = 32;

/** CNAME/DNAME links followed in one answer. */
export const MAX_CNAME_CHAIN = 16;

/** Seconds a bogus or indeterminate chain result is remembered, so it is not redone at will. */
export const BOGUS_CACHE_SECONDS = 60;
