/**
 * Bounds on what a user key check costs. A key server is found through a domain the peer names,
 * so a hostile peer chooses which SRV RRset and which directory we read: every loop over their
 * data is capped here, and each cap says why.
 */

/** SRV targets tried per check (RFC 2782 order); more would let one bad domain hold a handshake for long. */
export const MAX_KEY_SERVERS_TRIED = 3;

/** SRV records read from one RRset; the rest are ignored (a normal domain publishes a handful). */
export const MAX_SRV_RECORDS = 16;

/** Entries one search may return (LDAP sizeLimit, RFC 4511 §4.5.1.4); more fails the search. */
export const MAX_ENTRIES = 8;

/** Certificates read per entry; a user with more keys than this has a directory problem. */
export const MAX_CERTIFICATES_PER_ENTRY = 16;

/** Naming contexts of the root DSE searched when the domain's own base DN does not exist. */
export const MAX_NAMING_CONTEXTS = 4;

/** LDAP timeLimit in seconds (RFC 4511 §4.5.1.5): how long the server may spend on one search. */
export const SEARCH_TIME_LIMIT_SECONDS = 5;

/** Each LDAP operation's own deadline on our side (the caller's signal usually ends sooner). */
export const OPERATION_TIMEOUT_MS = 8_000;

/** How long a successful check is reused at most, even when the SRV TTL is longer (seed 000 §6.1). */
export const OK_CACHE_MS = 300_000;

/** How long an answer that the user is not accepted (no user, key mismatch, no server, DNSSEC) is reused at most. */
export const FAILURE_CACHE_MS = 30_000;

/** How long a transient failure (DNS lookup failed, key servers unreachable) is reused: briefly, to spare a failing server. */
export const TRANSIENT_FAILURE_CACHE_MS = 5_000;

/** Results kept; the oldest go first. */
export const MAX_CACHE_ENTRIES = 4096;
