/**
 * The server side of the engine (recv-tls, the tunnel server): handshake over an accepted socket,
 * then the client's certificate by seed 000 §4.1's rule. A certificate naming an e-mail address is
 * a user's: its key must be on the user's domain's key server (ldap/, seed 000 §4.2), or with
 * `no-ldap` the CA store must vouch for the address. Any other is a domain's: DANE, with the
 * client's TLSA RRset at its domain name itself (draft-ietf-dance-client-auth §2.3, "freeform
 * client identity"; the domain is the certificate's first dNSName, since Node cannot read the
 * draft's dane_clientid extension), or PKIX with `no-dane`.
 */
import type { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { SecureContext, TLSSocket } from 'node:tls';
import { checkDane, checkPkix, withoutDane, type Authenticated, type Plan } from './authenticate.js';
import { pinKey, type PinCache } from './cache.js';
import { abortError, ignore, outwait, serverHandshake, serverSidePkix } from './handshake.js';
import { lookUpTlsa, refuse, type Refusal } from './host-lookup.js';
import { certificateDomain, certificateEmail, peerCertificates, spkiSha256 } from './peer-identity.js';
import { ReplyCode } from './reply-codes.js';
import { makeSession } from './session-info.js';
import { TlsError, type ConnectTarget, type TlsEngineDeps, type TlsFlags, type TlsSession } from './session.js';

export interface ServerContext {
  readonly deps: TlsEngineDeps;
  readonly context: SecureContext | undefined;
  readonly pins: PinCache;
  readonly handshakeTimeoutMs: number;
  readonly nowMs: () => number;
}

type Outcome = Refusal | { readonly ok: true; readonly method: TlsSession['method']; readonly identity: string; readonly dane?: TlsSession['dane']; readonly dnssec: TlsSession['dnssec'] };

export async function upgradeServerSocket(ctx: ServerContext, socket: Socket, options: { readonly requireClientCertificate: boolean }, flags: TlsFlags, signal: AbortSignal): Promise<TlsSession> {
  socket.on('error', ignore);
  if (!ctx.context) {
    socket.destroy();
    throw new TlsError(ReplyCode.Internal, 'no server certificate: give --cert and --key to accept TLS');
  }
  const deadline = AbortSignal.timeout(ctx.handshakeTimeoutMs);
  const bounded = AbortSignal.any([signal, deadline]);
  const client = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
  const onAbort = (): Error => abortError(signal, deadline, `TLS with client ${client}`);
  const tls = await serverHandshake(socket, ctx.context, bounded, onAbort);
  tls.on('error', ignore);
  try {
    const result = await authenticateClient(ctx, tls, options.requireClientCertificate, flags, bounded);
    if (bounded.aborted) throw onAbort();
    if (!result.ok) throw new TlsError(result.reply, result.message);
    const session = makeSession(tls, result);
    ctx.deps.log.info({ client, identity: session.identity, method: session.method, dnssec: session.dnssec }, 'client authenticated');
    return session;
  } catch (error) {
    tls.destroy();
    if (bounded.aborted) throw onAbort();
    if (error instanceof TlsError) ctx.deps.log.info({ client, reply: error.reply, reason: error.message }, 'client refused');
    throw error;
  }
}

async function authenticateClient(ctx: ServerContext, tls: TLSSocket, required: boolean, flags: TlsFlags, signal: AbortSignal): Promise<Outcome> {
  const peer = peerCertificates(tls).leaf;
  if (!peer) {
    return required ? refuse(ReplyCode.NoPeerCertificate, 'the client sent no certificate') : { ok: true, method: 'none', identity: 'anonymous', dnssec: 'unused' };
  }
  const email = certificateEmail(peer);
  if (email !== undefined) return checkUser(ctx, tls, peer, email, flags, signal);
  const domain = certificateDomain(peer);
  if (domain === undefined) return refuse(ReplyCode.NameMismatch, 'the client certificate names neither an e-mail address nor a domain (subjectAltName)');
  return checkClientDomain(ctx, tls, peer, domain, flags, signal);
}

/** Seed 000 §4.2, or with `no-ldap` the CA store and the address (RFC 5280 rfc822Name). */
async function checkUser(ctx: ServerContext, tls: TLSSocket, peer: X509Certificate, email: string, flags: TlsFlags, signal: AbortSignal): Promise<Outcome> {
  if (flags.noLdap) {
    const pkix = serverSidePkix(tls);
    if (!pkix.trusted) return refuse(ReplyCode.ChainInvalid, `the client chain does not verify against the CA store: ${pkix.error ?? 'untrusted'}`);
    if (peer.checkEmail(email) === undefined) return refuse(ReplyCode.NameMismatch, `the certificate does not carry ${email}`);
    return { ok: true, method: 'pkix', identity: email, dnssec: 'unused' };
  }
  if (!ctx.deps.userKeys) return refuse(ReplyCode.LdapNoServer, `no key server check is configured for ${email}`);
  const result = await ctx.deps.userKeys(email, peer, flags, signal);
  if (!result.ok) return refuse(result.reply, result.reason);
  return { ok: true, method: 'ldap', identity: result.identity, dnssec: result.dnssec };
}

/** DANE for TLS clients with the same DNS rules as for servers; a pin per client domain. */
async function checkClientDomain(ctx: ServerContext, tls: TLSSocket, peer: X509Certificate, domain: string, flags: TlsFlags, signal: AbortSignal): Promise<Outcome> {
  const pkix = serverSidePkix(tls);
  // A client is not connected to: its "target" is its name; there is no port in its TLSA name (draft §2.3).
  const target: ConnectTarget = { name: domain, port: 0, withoutTlsa: 'fail' };
  if (flags.noDane) return checkPkix(peer, pkix, { kind: 'pkix', referenceNames: [domain], dnssec: 'unused', expiresAtMs: 0 });
  const key = pinKey('client', target, flags);
  const pin = ctx.pins.get(key);
  const spki = spkiSha256(peer);
  if (pin?.spkiSha256 === spki) return { ok: true, method: 'pinned', identity: pin.identity, dane: pin.dane, dnssec: pin.dnssec };
  if (pin) ctx.deps.log.warn({ clientDomain: domain, pinned: pin.spkiSha256, presented: spki }, 'key changed; validating in full');
  const tlsa = await outwait((uncancelled) => lookUpTlsa(ctx.deps.lookup, [{ name: domain, base: domain }], flags, uncancelled), signal,
    () => abortError(signal, undefined, `looking up TLSA for ${domain}`));
  if ('ok' in tlsa) return tlsa;
  if (tlsa.kind === 'none') return refuse(tlsa.insecure ? ReplyCode.DnssecInsecure : ReplyCode.NoTlsa, tlsa.why);
  const plan: Extract<Plan, { kind: 'dane' }> = { kind: 'dane', tlsa, referenceNames: [domain], dnssec: tlsa.dnssec };
  const verdict = checkDane({ tls, plan, pkix, identity: domain, nowMs: ctx.nowMs() });
  if (verdict.ok === 'no-usable') {
    const fallback = withoutDane(target, verdict.why, false, plan.dnssec, [domain], 0);
    return 'ok' in fallback ? fallback : refuse(ReplyCode.NoTlsa, verdict.why);
  }
  if (verdict.ok) pinResult(ctx, key, spki, verdict);
  return verdict;
}

function pinResult(ctx: ServerContext, key: string, spki: string, result: Authenticated): void {
  if (result.method === 'none') return;
  ctx.pins.set(key, { spkiSha256: spki, method: result.method, identity: result.identity, dane: result.dane, dnssec: result.dnssec, expiresAtMs: result.expiresAtMs });
}
