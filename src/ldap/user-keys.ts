/**
 * User certificates checked against the user's domain's key server (seed 000 §4.2, §5.3): a peer
 * whose certificate names an e-mail address is accepted when the key server that the domain's
 * signed `_pgpkey-ldap._tcp` SRV record points to, reached over TLS that DANE authenticates, holds
 * a certificate for that address with the same public key. Trust thus stands on DNSSEC (the SRV
 * record, the server's address, its TLSA) and on the domain's directory, not on a CA.
 *
 * Glossary: the *peer* is the TLS client being checked; the *key server* is the LDAP server of
 * its domain; a *stored certificate* is a value of the user's userCertificate attribute, used
 * only as the container of a public key (no validity or chain check, as DANE-EE, RFC 7671 §5.1).
 */
import { X509Certificate } from 'node:crypto';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { TlsError, type ConnectTarget, type NameLookup, type TlsFlags, type TlsSession, type UserKeyCheck, type UserKeyResult } from '../tls/index.js';
import { baseDnOf, parseUserAddress, type UserAddress } from './address.js';
import { UserKeyCache } from './cache.js';
import { searchUserCertificates } from './key-server.js';
import { FAILURE_CACHE_MS, MAX_CACHE_ENTRIES, MAX_KEY_SERVERS_TRIED, OK_CACHE_MS, TRANSIENT_FAILURE_CACHE_MS } from './limits.js';
import type { UserKeyFailure } from './result.js';
import { findKeyServers, type KeyServers, type KeyServerTarget } from './srv.js';

/** How much of an unreadable address a reply repeats. */
const MAX_ADDRESS_ECHO_CHARS = 320;

export interface UserKeyDeps {
  readonly lookup: NameLookup;
  /** A DANE-checked TLS connection to the key server (the engine's connect). */
  readonly connect: (target: ConnectTarget, flags: TlsFlags, signal: AbortSignal) => Promise<TlsSession>;
  readonly log: Logger;
  readonly nowMs?: (() => number) | undefined;
  /** [0, 1) for the RFC 2782 weighted order; default Math.random. */
  readonly random?: (() => number) | undefined;
}

export interface UserKeyStats {
  /** Checks answered from the cache. */
  readonly cacheHits: number;
  /** Key servers asked (connect and search), over all checks. */
  readonly keyServersAsked: number;
}

export type UserKeyChecker = UserKeyCheck & { readonly stats: () => UserKeyStats };

/** What one key server said: an answer about the user, or that it could not be asked. */
type ServerOutcome = { readonly answered: true; readonly result: UserKeyResult } | { readonly answered: false; readonly reason: string };

export function createUserKeyCheck(deps: UserKeyDeps): UserKeyChecker {
  const nowMs = deps.nowMs ?? Date.now;
  const cache = new UserKeyCache(MAX_CACHE_ENTRIES, nowMs);
  const counts = { cacheHits: 0, keyServersAsked: 0 };
  const check: UserKeyCheck = async (email, peer, flags, signal) => {
    const parsed = parseUserAddress(email);
    if (!parsed.ok) return fail('LDAP_NO_SERVER', `cannot look up a key server for ${JSON.stringify(email.slice(0, MAX_ADDRESS_ECHO_CHARS))}: ${parsed.reason}`);
    const user = parsed.value;
    // The address must be the certificate's own (rfc822Name, or emailAddress without SANs), so a
    // caller cannot have a key checked for an address its certificate does not claim.
    if (peer.checkEmail(user.address) === undefined) return fail('NAME_MISMATCH', `the certificate does not name ${user.address}`);
    const key = { flags, address: user.address, spkiDer: spkiOf(peer) };
    const cached = cache.get(key);
    if (cached !== undefined) {
      counts.cacheHits++;
      deps.log.debug({ user: user.address, ok: cached.ok }, 'user key result from cache');
      return cached;
    }
    const { result, expiresAtMs } = await checkUncached(deps, counts, user, key.spkiDer, flags, signal, nowMs);
    if (signal.aborted) return fail('TIMEOUT', `key server check for ${user.address} aborted: ${errorMessage(signal.reason)}`);
    cache.set(key, result, expiresAtMs);
    deps.log.info({ user: user.address, ...(result.ok ? { keyServer: result.keyServer, dnssec: result.dnssec } : { reply: result.reply, reason: result.reason }) }, 'user key checked');
    return result;
  };
  return Object.assign(check, { stats: (): UserKeyStats => ({ ...counts }) });
}

async function checkUncached(
  deps: UserKeyDeps, counts: { keyServersAsked: number }, user: UserAddress, peerSpki: Uint8Array, flags: TlsFlags, signal: AbortSignal, nowMs: () => number,
): Promise<{ readonly result: UserKeyResult; readonly expiresAtMs: number }> {
  const found = await findKeyServers(deps.lookup, user.domain, flags, signal, deps.random);
  if (!found.ok) return { result: strip(found), expiresAtMs: failureExpiry(found, nowMs()) };
  const servers = found.value;
  const unavailable: string[] = [];
  for (const target of servers.targets.slice(0, MAX_KEY_SERVERS_TRIED)) {
    if (signal.aborted) break;
    counts.keyServersAsked++;
    const outcome = await askKeyServer(deps, target, user, peerSpki, servers, flags, signal);
    if (outcome.answered) {
      const result = outcome.result;
      const cap = result.ok ? OK_CACHE_MS : FAILURE_CACHE_MS;
      return { result, expiresAtMs: Math.min(servers.expiresAtMs, nowMs() + cap) };
    }
    deps.log.warn({ user: user.address, keyServer: `${target.name}:${target.port}`, reason: outcome.reason }, 'key server unavailable');
    unavailable.push(outcome.reason);
  }
  const reason = `no key server of ${user.domain} answered: ${unavailable.join('; ') || 'none tried'}`;
  return { result: fail('LDAP_FAILED', reason), expiresAtMs: nowMs() + TRANSIENT_FAILURE_CACHE_MS };
}

/** Connects with DANE (seed 000 §4.2: "The certificate of the LDAP server should be validated using DANE"), then searches. */
async function askKeyServer(
  deps: UserKeyDeps, target: KeyServerTarget, user: UserAddress, peerSpki: Uint8Array, servers: KeyServers, flags: TlsFlags, signal: AbortSignal,
): Promise<ServerOutcome> {
  const where = `${target.name}:${target.port}`;
  let session: TlsSession;
  try {
    session = await deps.connect({ name: target.name, port: target.port, withoutTlsa: 'fail' }, flags, signal);
  } catch (error) {
    const code = error instanceof TlsError ? `${error.reply} ` : '';
    return { answered: false, reason: `${where}: ${code}${errorMessage(error)}` };
  }
  let entries;
  try {
    entries = await searchUserCertificates(session.socket, { address: user.address, baseDn: baseDnOf(user.domain) }, signal);
  } catch (error) {
    return { answered: false, reason: `${where}: ${errorMessage(error)}` };
  } finally {
    session.socket.destroy();
  }
  if (entries.length === 0) return { answered: true, result: fail('LDAP_NO_USER', `${where} has no entry with mail ${user.address}`) };
  const stored = entries.flatMap((entry) => entry.certificates);
  if (!stored.some((der) => sameKey(der, peerSpki))) {
    const reason = `${where} holds ${stored.length} certificate(s) for ${user.address} in ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, none with the peer's public key`;
    return { answered: true, result: fail('LDAP_KEY_MISMATCH', reason) };
  }
  return { answered: true, result: { ok: true, identity: user.address, keyServer: where, dnssec: weakest(servers.dnssec, session.dnssec) } };
}

function spkiOf(certificate: X509Certificate): Uint8Array {
  return new Uint8Array(certificate.publicKey.export({ type: 'spki', format: 'der' }));
}

/** Does the stored DER certificate carry this SubjectPublicKeyInfo? A value that is not a certificate carries none. */
function sameKey(der: Uint8Array, peerSpki: Uint8Array): boolean {
  try {
    return Buffer.from(spkiOf(new X509Certificate(der))).equals(peerSpki);
  } catch {
    return false;
  }
}

const STRENGTH: Readonly<Record<TlsSession['dnssec'], number>> = { secure: 3, unused: 3, insecure: 1, 'bogus-ignored': 0 };

/** The weakest DNSSEC status the decision stood on; the SRV record always counts, so never 'unused'. */
export function weakest(srv: TlsSession['dnssec'], session: TlsSession['dnssec']): TlsSession['dnssec'] {
  if (session === 'unused') return srv;
  return STRENGTH[session] < STRENGTH[srv] ? session : srv;
}

function fail(reply: UserKeyFailure['reply'], reason: string): UserKeyResult {
  return { ok: false, reply, reason };
}

function strip(failure: UserKeyFailure): UserKeyResult {
  return fail(failure.reply, failure.reason);
}

/** DNS failures are transient; answers that the user cannot be accepted last a little longer, within their TTL. */
function failureExpiry(failure: UserKeyFailure, now: number): number {
  const cap = failure.reply === 'DNS_FAILED' ? TRANSIENT_FAILURE_CACHE_MS : FAILURE_CACHE_MS;
  return Math.min(failure.expiresAtMs ?? Number.POSITIVE_INFINITY, now + cap);
}
