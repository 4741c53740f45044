/**
 * SMTP to a mail domain with DANE, client side (RFC 7672). The domain's MX RRset (RFC 5321 §5.1:
 * the domain itself when there is none) gives the hosts in preference order; for each:
 *
 *   MX secure, its addresses secure, TLSA at _PORT._tcp.HOST (RFC 7672 §2.2.1, §2.2.2):
 *     usable DANE-TA/DANE-EE records   → TLS authenticated by them only (usages [2, 3], §3.1),
 *                                        names: the TLSA base domain, the MX host, the next-hop
 *                                        domain (§3.2.2); any failure: this MX is not used
 *     records, none usable             → TLS required but not authenticated (§2.2)
 *     no TLSA (a secure denial)        → opportunistic TLS
 *     TLSA lookup failed or bogus      → DNS_FAILED / DNSSEC_BOGUS: this MX is skipped, never
 *                                        taken as "no TLSA" (§2.2: that would be a downgrade)
 *   MX or addresses insecure           → opportunistic TLS (unauthenticated)
 *
 * `no-dane` asks for PKIX instead (the CA store, the MX host name); `no-dnssec` lets insecure
 * data count as secure. Unlike a mail server, this front end never goes on in plaintext: a host
 * without STARTTLS fails STARTTLS_REFUSED. The first MX that works wins; when none does, the
 * error is the most preferred one's, with the others in its message.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../core/log.js';
import { readName, RRType } from '../wire/index.js';
import { abortError, clientHandshake, connectTcp } from './handshake.js';
import { checkedLookup, lookUpAddresses, lookUpTlsa, tlsaName, weakest, type HostAddresses } from './host-lookup.js';
import type { NameLookup } from './names.js';
import { ReplyCode } from './reply-codes.js';
import { makeSession } from './session-info.js';
import { TlsError, type TlsEngine, type TlsFlags, type TlsSession } from './session.js';
import { addressLiteral, smtpStartTls } from './smtp.js';

/** RFC 7672 §3.1: only DANE-TA(2) and DANE-EE(3) authenticate SMTP servers. */
export const SMTP_USAGES: readonly number[] = [2, 3];
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** Greeting to TLS established, per MX host. */
const DEFAULT_DIALOGUE_TIMEOUT_MS = 30_000;

export type SmtpPolicy = 'dane' | 'pkix' | 'mandatory' | 'opportunistic';

export interface SmtpDaneDeps {
  readonly lookup: NameLookup;
  readonly engine: TlsEngine;
  readonly log: Logger;
  readonly connectTimeoutMs?: number | undefined;
  readonly dialogueTimeoutMs?: number | undefined;
}

export interface SmtpDestination {
  /** The next-hop domain: the mail domain whose MX RRset is looked up. */
  readonly domain: string;
  /** 25 for mail between domains; tests use others. */
  readonly port: number;
  readonly flags: TlsFlags;
  /** EHLO argument; default an address literal of our side. */
  readonly helo?: string | undefined;
}

export interface SmtpConnection {
  readonly session: TlsSession;
  readonly mxHost: string;
  readonly policy: SmtpPolicy;
}

export interface MxHost {
  readonly name: string;
  readonly preference: number;
}

/** The MX hosts in the order to try (RFC 5321 §5.1: lowest preference first, ties shuffled), and whether the RRset is secure. */
export async function lookUpMx(lookup: NameLookup, domain: string, flags: TlsFlags, signal: AbortSignal): Promise<{ readonly hosts: readonly MxHost[]; readonly secure: boolean }> {
  const checked = await checkedLookup(lookup, domain, RRType.MX, flags, signal);
  if (!checked.ok) throw new TlsError(checked.reply, checked.message);
  const { answer, dnssec } = checked;
  const secure = dnssec === 'secure' || flags.noDnssec;
  if (answer.outcome === 'nxdomain') throw new TlsError(ReplyCode.NotFound, `${domain} does not exist`);
  if (answer.outcome !== 'records') return { hosts: [{ name: answer.owner, preference: 0 }], secure };
  const hosts: MxHost[] = [];
  for (const rdata of answer.rdata) {
    try {
      hosts.push({ preference: (rdata[0]! << 8) | rdata[1]!, name: readName(rdata, 2).name });
    } catch {
      // A malformed record cannot name a host; the others still can.
    }
  }
  // RFC 7505 §3: a single MX of "." says the domain accepts no mail.
  if (hosts.length === 1 && hosts[0]!.name === '.') throw new TlsError(ReplyCode.NotFound, `${domain} accepts no mail (null MX, RFC 7505)`);
  const usable = hosts.filter((h) => h.name !== '.');
  if (usable.length === 0) throw new TlsError(ReplyCode.NotFound, `${domain} has no usable MX record`);
  const shuffled = usable.map((h) => ({ h, key: Math.random() })).sort((a, b) => a.h.preference - b.h.preference || a.key - b.key);
  return { hosts: shuffled.map(({ h }) => h), secure };
}

interface Planned {
  readonly policy: SmtpPolicy;
  readonly addresses: HostAddresses;
  readonly dnssec: TlsSession['dnssec'];
}

/** What one MX host gets (the table above), before any connection to it. */
async function planMx(lookup: NameLookup, mx: string, port: number, mxSecure: boolean, flags: TlsFlags, signal: AbortSignal): Promise<Planned> {
  const addresses = await lookUpAddresses(lookup, mx, flags, signal);
  if (!addresses.ok) throw new TlsError(addresses.reply, addresses.message);
  if (flags.noDane) return { policy: 'pkix', addresses, dnssec: 'unused' };
  const trusted = addresses.dnssec === 'secure' || flags.noDnssec;
  if (!mxSecure || !trusted) return { policy: 'opportunistic', addresses, dnssec: weakest(addresses.dnssec, mxSecure ? 'secure' : 'insecure') };
  const bases = addresses.secureCname && addresses.owner.toLowerCase() !== mx.toLowerCase() ? [addresses.owner, mx] : [mx];
  const tlsa = await lookUpTlsa(lookup, bases.map((base) => ({ name: tlsaName(port, base), base })), flags, signal);
  if ('ok' in tlsa) throw new TlsError(tlsa.reply, tlsa.message);
  if (tlsa.kind === 'none') return { policy: 'opportunistic', addresses, dnssec: tlsa.dnssec };
  const usable = tlsa.records.some((r) => SMTP_USAGES.includes(r.usage) && r.selector <= 1 && r.matchingType <= 2);
  return { policy: usable ? 'dane' : 'mandatory', addresses, dnssec: weakest(addresses.dnssec, tlsa.dnssec) };
}

async function connectFirst(planned: Planned, port: number, timeoutMs: number, signal: AbortSignal): Promise<Socket> {
  let lastError: unknown;
  for (const { address } of planned.addresses.addresses) {
    try {
      return await connectTcp(address, port, timeoutMs, signal);
    } catch (error) {
      if (!(error instanceof TlsError) || signal.aborted) throw error;
      lastError = error;
    }
  }
  throw lastError ?? new TlsError(ReplyCode.NotFound, 'no address');
}

/** TLS after STARTTLS, as the plan says: the engine authenticates; the other policies only encrypt. */
async function secure(deps: SmtpDaneDeps, socket: Socket, mx: string, destination: SmtpDestination, planned: Planned, signal: AbortSignal, onAbort: () => Error): Promise<TlsSession> {
  if (planned.policy === 'dane' || planned.policy === 'pkix') {
    const target = { name: mx, port: destination.port, usages: SMTP_USAGES, extraNames: [destination.domain], withoutTlsa: 'opportunistic' as const };
    return deps.engine.upgradeClient(socket, target, destination.flags, signal);
  }
  const tls = await clientHandshake(socket, { servername: mx, ca: [] }, signal, onAbort);
  return makeSession(tls, { method: 'none', identity: mx, dnssec: planned.dnssec, serverName: mx });
}

async function tryMx(deps: SmtpDaneDeps, mx: string, mxSecure: boolean, destination: SmtpDestination, signal: AbortSignal): Promise<SmtpConnection> {
  const deadline = AbortSignal.timeout(deps.dialogueTimeoutMs ?? DEFAULT_DIALOGUE_TIMEOUT_MS);
  const bounded = AbortSignal.any([signal, deadline]);
  const onAbort = (): Error => abortError(signal, deadline, `SMTP with ${mx}`);
  try {
    const planned = await planMx(deps.lookup, mx, destination.port, mxSecure, destination.flags, bounded);
    const socket = await connectFirst(planned, destination.port, deps.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, bounded);
    await smtpStartTls(socket, destination.helo ?? addressLiteral(socket), bounded);
    const session = await secure(deps, socket, mx, destination, planned, bounded, onAbort);
    deps.log.info({ domain: destination.domain, mx, policy: planned.policy, method: session.method, dnssec: session.dnssec }, 'smtp tls established');
    return { session, mxHost: mx, policy: planned.policy };
  } catch (error) {
    if (bounded.aborted && !(error instanceof TlsError && error.reply !== ReplyCode.Timeout)) throw onAbort();
    throw error;
  }
}

/** The first MX host that gives TLS by the rules above, or the most preferred one's refusal. */
export async function connectSmtp(deps: SmtpDaneDeps, destination: SmtpDestination, signal: AbortSignal): Promise<SmtpConnection> {
  const { hosts, secure: mxSecure } = await lookUpMx(deps.lookup, destination.domain, destination.flags, signal);
  const failures: Array<{ readonly mx: string; readonly error: TlsError }> = [];
  for (const { name } of hosts) {
    try {
      return await tryMx(deps, name, mxSecure, destination, signal);
    } catch (error) {
      if (!(error instanceof TlsError) || signal.aborted) throw error;
      deps.log.info({ domain: destination.domain, mx: name, reply: error.reply, err: error.message }, 'smtp mx refused');
      failures.push({ mx: name, error });
    }
  }
  const first = failures[0]!;
  const message = failures.map((f) => `${f.mx} ${f.error.reply}: ${f.error.message}`).join('; ');
  throw new TlsError(first.error.reply, message, { cause: first.error });
}

