/**
 * Deciding how a peer is to be authenticated (the plan) and checking its certificate by it: DANE
 * (RFC 6698, RFC 7671, via dane/), PKIX against the CA store and a name, or nothing where the
 * caller allows it (RFC 7672 §2.2 opportunistic TLS). The DNS lookups behind a plan are in
 * host-lookup.ts; the sockets in handshake.ts.
 */
import type { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { chainFromPeerCertificate, verifyDane, type DaneVerdict } from '../dane/index.js';
import { lookUpTlsa, refuse, tlsaName, type DnssecState, type HostAddresses, type Refusal, type TlsaLookup } from './host-lookup.js';
import type { NameLookup } from './names.js';
import { certificateName, hostIdentity, peerCertificates } from './peer-identity.js';
import { ReplyCode } from './reply-codes.js';
import type { ConnectTarget, TlsFlags, TlsSession } from './session.js';

export type Plan =
  | { readonly kind: 'dane'; readonly tlsa: Extract<TlsaLookup, { kind: 'records' }>; readonly referenceNames: readonly string[]; readonly dnssec: DnssecState }
  | { readonly kind: 'pkix'; readonly referenceNames: readonly string[]; readonly dnssec: TlsSession['dnssec']; readonly expiresAtMs: number }
  | { readonly kind: 'none'; readonly why: string; readonly dnssec: TlsSession['dnssec'] };

export interface Authenticated {
  readonly ok: true;
  readonly method: 'dane' | 'pkix' | 'none';
  readonly identity: string;
  readonly dane?: TlsSession['dane'];
  readonly dnssec: TlsSession['dnssec'];
  /** Until when this result may be pinned (DNS TTLs and, where expiry was checked, notAfter). */
  readonly expiresAtMs: number;
}

/** What to do without a usable TLSA RRset, as the caller asked (RFC 7672 §2.2 for 'opportunistic'). */
export function withoutDane(target: ConnectTarget, why: string, insecure: boolean, dnssec: TlsSession['dnssec'], referenceNames: readonly string[], expiresAtMs: number): Plan | Refusal {
  switch (target.withoutTlsa ?? 'fail') {
    case 'pkix': return { kind: 'pkix', referenceNames, dnssec, expiresAtMs };
    case 'opportunistic': return { kind: 'none', why, dnssec };
    default: return refuse(insecure ? ReplyCode.DnssecInsecure : ReplyCode.NoTlsa, why);
  }
}

/** RFC 7671 §7 and RFC 7672 §3.2.2: the TLSA base domain first, then every other name the peer may carry. */
export function referenceNamesFor(base: string, target: ConnectTarget, others: readonly string[]): string[] {
  const names = [base, ...others, target.name, ...(target.extraNames ?? [])].map(hostIdentity);
  return [...new Set(names)];
}

/**
 * The plan for a host whose addresses are known: PKIX under `no-dane`; DANE when the addresses and
 * the TLSA RRset may be trusted; otherwise as `withoutTlsa` says. TLSA lives at `_PORT._tcp.NAME`,
 * first under the CNAME-expanded name when the address answer followed a secure chain (RFC 7671 §7).
 */
export async function planForHost(lookup: NameLookup, target: ConnectTarget, flags: TlsFlags, addresses: HostAddresses, signal: AbortSignal): Promise<Plan | Refusal> {
  const original = hostIdentity(target.name);
  const expanded = hostIdentity(addresses.owner);
  const bases = addresses.secureCname && expanded !== original ? [expanded, original] : [original];
  if (flags.noDane) return { kind: 'pkix', referenceNames: referenceNamesFor(bases[0]!, target, bases), dnssec: 'unused', expiresAtMs: addresses.expiresAtMs };
  if (isIP(target.name) !== 0) {
    return withoutDane(target, `${target.name} is an address: no name to look TLSA up under (use no-dane)`, false, 'unused', [target.name], addresses.expiresAtMs);
  }
  if (addresses.dnssec !== 'secure' && !flags.noDnssec) {
    const why = `the addresses of ${original} are ${addresses.dnssec} (no-dnssec not given)`;
    return withoutDane(target, why, true, addresses.dnssec, referenceNamesFor(original, target, bases), addresses.expiresAtMs);
  }
  const tlsa = await lookUpTlsa(lookup, bases.map((base) => ({ name: tlsaName(target.port, base), base })), flags, signal);
  if ('ok' in tlsa) return tlsa;
  if (tlsa.kind === 'none') {
    const dnssec = tlsa.insecure ? tlsa.dnssec : addresses.dnssec;
    return withoutDane(target, tlsa.why, tlsa.insecure, dnssec, referenceNamesFor(original, target, bases), Math.min(addresses.expiresAtMs, tlsa.expiresAtMs));
  }
  const dnssec: DnssecState = tlsa.dnssec === 'secure' ? addresses.dnssec : tlsa.dnssec === 'insecure' && addresses.dnssec === 'bogus-ignored' ? 'bogus-ignored' : tlsa.dnssec;
  return { kind: 'dane', tlsa, referenceNames: referenceNamesFor(tlsa.baseDomain, target, bases), dnssec };
}

/** PKIX: the chain verifies against the CA store, and the leaf carries one of the names (RFC 6125). */
export function checkPkix(peer: X509Certificate | undefined, pkix: { readonly trusted: boolean; readonly error?: string | undefined }, plan: Extract<Plan, { kind: 'pkix' }>): Authenticated | Refusal {
  if (!peer) return refuse(ReplyCode.NoPeerCertificate, 'the peer sent no certificate');
  if (!pkix.trusted) return refuse(ReplyCode.ChainInvalid, `the chain does not verify against the CA store: ${pkix.error ?? 'untrusted'}`);
  // RFC 6125 §6.4 for names; an address literal (no-dane only) must be an iPAddress entry (RFC 5280 §4.2.1.6).
  const carries = (name: string): boolean => (isIP(name) !== 0 ? peer.checkIP(name) : peer.checkHost(certificateName(name), { wildcards: true, partialWildcards: false })) !== undefined;
  const identity = plan.referenceNames.find(carries);
  if (identity === undefined) return refuse(ReplyCode.NameMismatch, `the certificate names none of ${plan.referenceNames.join(', ')}`);
  const notAfterMs = Date.parse(peer.validTo);
  return { ok: true, method: 'pkix', identity, dnssec: plan.dnssec, expiresAtMs: Math.min(plan.expiresAtMs, Number.isNaN(notAfterMs) ? 0 : notAfterMs) };
}

const DANE_REPLY: Readonly<Record<Exclude<Extract<DaneVerdict, { ok: false }>['code'], 'no-usable-tlsa'>, ReplyCode>> = {
  'tlsa-mismatch': ReplyCode.TlsaMismatch,
  'name-mismatch': ReplyCode.NameMismatch,
  'chain-invalid': ReplyCode.ChainInvalid,
  'pkix-failed': ReplyCode.ChainInvalid,
};

export interface DaneCheck {
  readonly tls: TLSSocket;
  readonly plan: Extract<Plan, { kind: 'dane' }>;
  readonly pkix: { readonly trusted: boolean; readonly error?: string | undefined };
  readonly usages?: readonly number[] | undefined;
  readonly identity: string;
  readonly nowMs: number;
}

/**
 * DANE over the peer's chain. `no-usable` comes back as such: the caller then acts as if there
 * were no TLSA RRset (RFC 7671 §4.1: unusable records count as absent).
 */
export function checkDane(check: DaneCheck): Authenticated | Refusal | { readonly ok: 'no-usable'; readonly why: string } {
  const { detailed, leaf } = peerCertificates(check.tls);
  if (!detailed) return refuse(ReplyCode.NoPeerCertificate, 'the peer sent no certificate');
  const { tlsa } = check.plan;
  const verdict = verifyDane({
    chain: chainFromPeerCertificate(detailed), tlsaOwner: tlsa.tlsaOwner, records: tlsa.records,
    referenceNames: check.plan.referenceNames, pkix: check.pkix, usages: check.usages, nowEpoch: Math.floor(check.nowMs / 1000),
  });
  if (!verdict.ok) {
    const unusable = [...tlsa.undecodable, ...verdict.unusable];
    const why = `${tlsa.tlsaOwner}: ${verdict.reason}${unusable.length > 0 ? ` (unusable: ${unusable.join('; ')})` : ''}`;
    return verdict.code === 'no-usable-tlsa' ? { ok: 'no-usable', why } : refuse(DANE_REPLY[verdict.code], why);
  }
  const { usage, selector, matchingType } = verdict.record;
  // DANE-EE checks no expiry (RFC 7671 §5.1), so only the DNS bounds its pin.
  const notAfterMs = usage === 3 || !leaf ? Number.POSITIVE_INFINITY : Date.parse(leaf.validTo);
  return {
    ok: true, method: 'dane', identity: check.identity, dnssec: check.plan.dnssec,
    dane: { usage, selector, matchingType, tlsaOwner: tlsa.tlsaOwner },
    expiresAtMs: Math.min(tlsa.expiresAtMs, Number.isNaN(notAfterMs) ? 0 : notAfterMs),
  };
}
