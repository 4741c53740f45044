/**
 * The contract of the TLS path: what a validated TLS session is, the negative flags (seed 000
 * §4.1.1: security is on unless a flag turns a part of it off), and the engine every front end
 * (tunnels, the control socket, tls-exec, SMTP STARTTLS) drives.
 */
import type { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { AppError } from '../core/errors.js';
import type { ReplyCode } from './reply-codes.js';

/** Seed 000 §4.1.1, all off by default: each one switches a check off. */
export interface TlsFlags {
  /** Accept insecure (unsigned) DNS data: addresses, TLSA, SRV. Bogus data is still refused. */
  readonly noDnssec: boolean;
  /** Use bogus DNS data as if it were insecure (so with no-dnssec it is used, without it refused as insecure). */
  readonly ignoreBogus: boolean;
  /** Do not use TLSA: domain certificates are checked by PKIX against the CA store. */
  readonly noDane: boolean;
  /** Do not ask key servers: user certificates are checked by PKIX against the CA store. */
  readonly noLdap: boolean;
}

export const NO_FLAGS: TlsFlags = Object.freeze({ noDnssec: false, ignoreBogus: false, noDane: false, noLdap: false });

/** The flag words of the control socket and the CLI, and the field each sets. */
export const FLAG_WORDS = { 'no-dnssec': 'noDnssec', 'ignore-bogus': 'ignoreBogus', 'no-dane': 'noDane', 'no-ldap': 'noLdap' } as const;

/** How the peer was authenticated. */
export type AuthMethod =
  /** A TLSA record matched (RFC 6698). */
  | 'dane'
  /** The CA store (no-dane, no-ldap, or no TLSA where the caller allows PKIX). */
  | 'pkix'
  /** A key on the user's domain's key server matched (seed 000 §4.2). */
  | 'ldap'
  /** A repeat connection presenting the key validated before, within the TTLs (cache.ts). */
  | 'pinned'
  /** Nothing: an anonymous client on a listener that does not require certificates. */
  | 'none';

/** What the front ends report: to the application (OK line, environment) and the log. */
export interface TlsSession {
  /** The established, validated connection; plaintext in and out. */
  readonly socket: TLSSocket;
  /** `www.example.` style host name, `user@example` for a user, `anonymous` without a certificate. */
  readonly identity: string;
  readonly method: AuthMethod;
  /** The TLSA record that matched, and where. */
  readonly dane?: { readonly usage: number; readonly selector: number; readonly matchingType: number; readonly tlsaOwner: string } | undefined;
  /** Of the DNS data the decision stood on (addresses, TLSA or SRV): the weakest of them. */
  readonly dnssec: 'secure' | 'insecure' | 'bogus-ignored' | 'unused';
  /** `TLSv1.3`. */
  readonly protocol: string;
  /** OpenSSL's name of the cipher suite. */
  readonly cipher: string;
  readonly peerAddress: string;
  readonly peerPort: number;
  readonly peerCertificate?: X509Certificate | undefined;
  /** The name connected to (client side). */
  readonly serverName?: string | undefined;
}

/** A TLS session that could not be made or was not trusted: the reply code and what failed. */
export class TlsError extends AppError {
  readonly code = 'ERR_TLS';
  constructor(readonly reply: ReplyCode, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

export interface ConnectTarget {
  /** The host name to resolve and to authenticate. */
  readonly name: string;
  readonly port: number;
  /** Usages accepted; SMTP (RFC 7672 §3.1.3) passes [2, 3]. */
  readonly usages?: readonly number[] | undefined;
  /** Extra reference identifiers for name checks (RFC 7672 §3.2.2: the MX host and the next-hop domain). */
  readonly extraNames?: readonly string[] | undefined;
  /**
   * Without TLSA (a secure denial), allow PKIX instead of failing NO_TLSA. Off for the control
   * socket and tunnels (seed 000: DANE is required unless no-dane); SMTP falls back to
   * unauthenticated TLS by its own rule (RFC 7672 §2.2), which it asks for with 'opportunistic'.
   */
  readonly withoutTlsa?: 'fail' | 'pkix' | 'opportunistic' | undefined;
}

export interface TlsEngine {
  /** Client side: resolve the name (addresses must be secure), connect, handshake, authenticate. */
  connect(target: ConnectTarget, flags: TlsFlags, signal: AbortSignal): Promise<TlsSession>;
  /** Client side over a connected plaintext socket (after STARTTLS, or a relayed `connect`). */
  upgradeClient(socket: Socket, target: ConnectTarget, flags: TlsFlags, signal: AbortSignal): Promise<TlsSession>;
  /** Server side over an accepted socket: handshake, then the client's certificate by LDAP or DANE. */
  upgradeServer(socket: Socket, options: { readonly requireClientCertificate: boolean }, flags: TlsFlags, signal: AbortSignal): Promise<TlsSession>;
}

/** A user certificate checked against the user's domain's key server (ldap/, seed 000 §4.2). */
export type UserKeyCheck = (email: string, peer: X509Certificate, flags: TlsFlags, signal: AbortSignal) => Promise<UserKeyResult>;

export type UserKeyResult =
  | { readonly ok: true; readonly identity: string; readonly keyServer: string; readonly dnssec: TlsSession['dnssec'] }
  | { readonly ok: false; readonly reply: ReplyCode; readonly reason: string };

/** What createTlsEngine (engine.ts) is built from; main wiring is in src/tls-runtime.ts. */
export interface TlsEngineDeps {
  readonly lookup: import('./names.js').NameLookup;
  readonly log: import('../core/log.js').Logger;
  /** This side's certificate (followed by its chain) and key, PEM: the server certificate, and the client certificate when a server asks. */
  readonly credentials?: { readonly certPem: string; readonly keyPem: string } | undefined;
  /** The CA store for PKIX (usages 0 and 1, no-dane, no-ldap), PEM; default: the system's bundle, else Node's roots. */
  readonly caPem?: string | undefined;
  /** User certificates (an e-mail address in the certificate) are checked here; without it they fail LDAP_NO_SERVER unless no-ldap. */
  readonly userKeys?: UserKeyCheck | undefined;
  /** TCP connect per address (default 5000). */
  readonly connectTimeoutMs?: number | undefined;
  /** The TLS handshake and the checks after it (default 10000); a peer that hangs gets TIMEOUT and its socket is freed. */
  readonly handshakeTimeoutMs?: number | undefined;
  readonly nowMs?: (() => number) | undefined;
}
