/**
 * The client side of the engine: look the host up, decide the plan (or find a pin), connect to
 * each address in turn, handshake, authenticate. Everything after the TCP connection (handshake,
 * a TLSA lookup after a changed key, the checks) runs under one deadline; on any failure the
 * socket is destroyed before the TlsError leaves.
 */
import type { Socket } from 'node:net';
import type { SecureContext, TLSSocket } from 'node:tls';
import { checkDane, checkPkix, planForHost, withoutDane, type Authenticated, type Plan } from './authenticate.js';
import { pinKey, type PinCache, type PinnedResult } from './cache.js';
import { abortError, clientHandshake, connectTcp, ignore, outwait } from './handshake.js';
import { lookUpAddresses, weakest, type HostAddresses, type Refusal } from './host-lookup.js';
import { hostIdentity, peerCertificates, spkiSha256 } from './peer-identity.js';
import { ReplyCode } from './reply-codes.js';
import { makeSession } from './session-info.js';
import { TlsError, type ConnectTarget, type TlsEngineDeps, type TlsFlags, type TlsSession } from './session.js';

export interface ClientContext {
  readonly deps: TlsEngineDeps;
  /** The CA store and this side's certificate, made once (handshake.ts clientContext); a string says why it could not be. */
  readonly context: SecureContext | string;
  readonly pins: PinCache;
  readonly connectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly nowMs: () => number;
}

const fail = (refusal: Refusal): never => {
  throw new TlsError(refusal.reply, refusal.message);
};

/** What is known before connecting: the addresses, and either a pin or a plan. */
interface Prepared {
  readonly addresses: HostAddresses;
  readonly pin?: PinnedResult;
  readonly plan?: Plan;
}

/** The lookups come first, so that DNS failures never reach the peer (RFC 7672 §2.2). */
async function prepare(ctx: ClientContext, target: ConnectTarget, flags: TlsFlags, signal: AbortSignal): Promise<Prepared> {
  const cutShort = (): Error => abortError(signal, undefined, `looking up ${target.name}`);
  const addresses = await outwait((uncancelled) => lookUpAddresses(ctx.deps.lookup, target.name, flags, uncancelled), signal, cutShort);
  if (!addresses.ok) return fail(addresses);
  // A pin stands in for the TLSA lookup and DANE, never for the rule that the addresses be secure.
  const pin = addresses.dnssec === 'secure' || flags.noDnssec || flags.noDane ? ctx.pins.get(pinKey('server', target, flags)) : undefined;
  if (pin) return { addresses, pin };
  const plan = await outwait((uncancelled) => planForHost(ctx.deps.lookup, target, flags, addresses, uncancelled), signal, cutShort);
  if ('ok' in plan) return fail(plan);
  return { addresses, plan };
}

export async function connectClient(ctx: ClientContext, target: ConnectTarget, flags: TlsFlags, signal: AbortSignal): Promise<TlsSession> {
  const prepared = await prepare(ctx, target, flags, signal);
  let lastError: unknown;
  for (const { address } of prepared.addresses.addresses) {
    let socket: Socket;
    try {
      socket = await connectTcp(address, target.port, ctx.connectTimeoutMs, signal);
    } catch (error) {
      if (!(error instanceof TlsError)) throw error;
      ctx.deps.log.debug({ peer: target.name, address, port: target.port, reply: error.reply }, 'connect failed');
      lastError = error;
      continue;
    }
    return secureClient(ctx, socket, target, flags, prepared, signal);
  }
  throw lastError;
}

export async function upgradeClientSocket(ctx: ClientContext, socket: Socket, target: ConnectTarget, flags: TlsFlags, signal: AbortSignal): Promise<TlsSession> {
  socket.on('error', ignore);
  let prepared: Prepared;
  try {
    prepared = await prepare(ctx, target, flags, signal);
  } catch (error) {
    socket.destroy();
    throw error;
  }
  return secureClient(ctx, socket, target, flags, prepared, signal);
}

/** Handshake and checks under the deadline; the socket is destroyed unless a session comes back. */
async function secureClient(ctx: ClientContext, socket: Socket, target: ConnectTarget, flags: TlsFlags, prepared: Prepared, signal: AbortSignal): Promise<TlsSession> {
  if (typeof ctx.context === 'string') {
    socket.destroy();
    throw new TlsError(ReplyCode.Internal, ctx.context);
  }
  const deadline = AbortSignal.timeout(ctx.handshakeTimeoutMs);
  const bounded = AbortSignal.any([signal, deadline]);
  const onAbort = (): Error => abortError(signal, deadline, `TLS with ${target.name}:${target.port}`);
  const tls = await clientHandshake(socket, { servername: target.name, context: ctx.context }, bounded, onAbort);
  tls.on('error', ignore);
  try {
    const result = await authenticateServer(ctx, tls, target, flags, prepared, bounded);
    if (bounded.aborted) throw onAbort();
    if (!result.ok) throw new TlsError(result.reply, result.message);
    const session = makeSession(tls, { ...result, serverName: hostIdentity(target.name) });
    ctx.deps.log.info({ peer: target.name, port: target.port, address: session.peerAddress, method: session.method, usage: session.dane?.usage, dnssec: session.dnssec }, 'peer authenticated');
    return session;
  } catch (error) {
    tls.destroy();
    if (bounded.aborted) throw onAbort();
    if (error instanceof TlsError) ctx.deps.log.info({ peer: target.name, port: target.port, reply: error.reply, reason: error.message }, 'peer refused');
    throw error;
  }
}

type Outcome = (Authenticated | { readonly ok: true; readonly method: 'pinned'; readonly identity: string; readonly dane?: TlsSession['dane']; readonly dnssec: TlsSession['dnssec'] }) | Refusal;

async function authenticateServer(ctx: ClientContext, tls: TLSSocket, target: ConnectTarget, flags: TlsFlags, prepared: Prepared, signal: AbortSignal): Promise<Outcome> {
  const { addresses, pin } = prepared;
  const key = pinKey('server', target, flags);
  const { leaf } = peerCertificates(tls);
  if (pin && leaf) {
    if (spkiSha256(leaf) === pin.spkiSha256) {
      const dnssec = pin.dnssec === 'unused' ? pin.dnssec : weakest(pin.dnssec, addresses.dnssec);
      return { ok: true, method: 'pinned', identity: pin.identity, dane: pin.dane, dnssec };
    }
    ctx.deps.log.warn({ peer: target.name, port: target.port, pinned: pin.spkiSha256, presented: spkiSha256(leaf) }, 'key changed; validating in full');
    ctx.pins.delete(key);
  }
  const plan = prepared.plan ?? await outwait((uncancelled) => planForHost(ctx.deps.lookup, target, flags, addresses, uncancelled), signal,
    () => abortError(signal, undefined, `looking up TLSA for ${target.name}`));
  if ('ok' in plan) return plan;
  const result = checkPlan(ctx, tls, target, plan);
  if (result.ok && result.method !== 'none' && leaf) {
    ctx.pins.set(key, {
      spkiSha256: spkiSha256(leaf), method: result.method, identity: result.identity, dane: result.dane, dnssec: result.dnssec,
      expiresAtMs: Math.min(result.expiresAtMs, addresses.expiresAtMs),
    });
  }
  return result;
}

function checkPlan(ctx: ClientContext, tls: TLSSocket, target: ConnectTarget, plan: Plan): Authenticated | Refusal {
  const pkix = { trusted: tls.authorized, error: tls.authorizationError === null ? undefined : String(tls.authorizationError) };
  if (plan.kind === 'none') return { ok: true, method: 'none', identity: hostIdentity(target.name), dnssec: plan.dnssec, expiresAtMs: 0 };
  if (plan.kind === 'pkix') return checkPkix(peerCertificates(tls).leaf, pkix, plan);
  const verdict = checkDane({ tls, plan, pkix, usages: target.usages, identity: hostIdentity(target.name), nowMs: ctx.nowMs() });
  if (verdict.ok !== 'no-usable') return verdict;
  const fallback = withoutDane(target, verdict.why, false, plan.dnssec, plan.referenceNames, plan.tlsa.expiresAtMs);
  return 'ok' in fallback ? fallback : checkPlan(ctx, tls, target, fallback);
}
