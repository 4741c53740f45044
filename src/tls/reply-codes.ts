/**
 * The codes of `ERR <code> <message>` (the control socket, seed 000 §4.1.2), also the exit
 * reasons of the tunnels and tls-exec, and the reason a TlsError carries. Stable: applications
 * match on them.
 */
export const ReplyCode = {
  /** A command line the daemon cannot read: unknown command or flag, missing argument, too long. */
  BadRequest: 'BAD_REQUEST',
  /** The peer's name does not exist or has no address (NXDOMAIN, NODATA). */
  NotFound: 'NOT_FOUND',
  /** A lookup failed: SERVFAIL, timeout, indeterminate. For TLSA a hard failure, never "no TLSA" (RFC 7672 §2.2). */
  DnsFailed: 'DNS_FAILED',
  /** DNSSEC says the data is forged or broken (and `ignore-bogus` was not given). */
  DnssecBogus: 'DNSSEC_BOGUS',
  /** The data is not signed (and `no-dnssec` was not given). */
  DnssecInsecure: 'DNSSEC_INSECURE',
  /** No TLSA RRset, or none of its records is usable, and DANE was required. */
  NoTlsa: 'NO_TLSA',
  /** TLSA records exist, none matches the peer's certificates. */
  TlsaMismatch: 'TLSA_MISMATCH',
  /** The certificate does not carry the name asked for (PKIX usages, DANE-TA, no-dane). */
  NameMismatch: 'NAME_MISMATCH',
  /** The chain does not verify: PKIX against the CA store, or up to a DANE-TA trust anchor. */
  ChainInvalid: 'CHAIN_INVALID',
  /** The peer sent no certificate where one was required. */
  NoPeerCertificate: 'NO_PEER_CERT',
  /** No key server for the user's domain: no `_pgpkey-ldap._tcp` SRV record. */
  LdapNoServer: 'LDAP_NO_SERVER',
  /** The key server could not be reached, or the search failed. */
  LdapFailed: 'LDAP_FAILED',
  /** The key server has no entry for the user. */
  LdapNoUser: 'LDAP_NO_USER',
  /** The user's entry holds no key that matches the peer's. */
  LdapKeyMismatch: 'LDAP_KEY_MISMATCH',
  /** The TCP connection to the peer failed (refused, unreachable). */
  ConnectFailed: 'CONNECT_FAILED',
  /** The TLS handshake failed (alert, protocol error, peer closed). */
  HandshakeFailed: 'HANDSHAKE_FAILED',
  /** The peer did not finish in time (connect, handshake, STARTTLS dialogue). */
  Timeout: 'TIMEOUT',
  /** recv-tls/accept named a listener the daemon does not have. */
  NoListener: 'NO_LISTENER',
  /** The server did not offer or accept STARTTLS. */
  StartTlsRefused: 'STARTTLS_REFUSED',
  /**
   * The daemon's limits, not a fault: too many control connections at once, or too many requests
   * already waiting on one listener. Nothing was attempted; try again later.
   */
  Busy: 'BUSY',
  /** The daemon's own fault; logged with details. */
  Internal: 'INTERNAL',
} as const;
export type ReplyCode = (typeof ReplyCode)[keyof typeof ReplyCode];
