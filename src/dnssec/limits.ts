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
