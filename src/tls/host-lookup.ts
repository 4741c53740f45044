/**
 * The DNS half of the TLS path: a peer's addresses and its TLSA RRset, with the rules that decide
 * which answers the engine may stand on (seed 000 §4.1.1 flags; RFC 7671 §7 for CNAMEs; RFC 7672
 * §2.2 for failures). Outcomes are values: `Refusal` carries the reply code and why.
 *
 * Glossary: "usable for DANE" means secure, or insecure/bogus-ignored data the `no-dnssec` flag
 * lets through; data that is not usable for DANE makes DANE unavailable, and the caller's
 * `withoutTlsa` decides what happens then (RFC 7672 §2.2.2: insecure TLSA means no DANE).
 */
import { isIP } from 'node:net';
import { decodeTlsa, ipv4Text, ipv6Text, type TlsaRdata } from '../records/index.js';
import { errorMessage } from '../core/errors.js';
import { namesEqual, normalizeName, RRType } from '../wire/index.js';
import type { NameAnswer, NameLookup } from './names.js';
import { ReplyCode } from './reply-codes.js';
import type { TlsFlags, TlsSession } from './session.js';

export type DnssecState = Exclude<TlsSession['dnssec'], 'unused'>;

export interface Refusal {
  readonly ok: false;
  readonly reply: ReplyCode;
  readonly message: string;
}

export const refuse = (reply: ReplyCode, message: string): Refusal => ({ ok: false, reply, message });

const STRENGTH: Readonly<Record<DnssecState, number>> = { secure: 2, insecure: 1, 'bogus-ignored': 0 };

/** The weakest of the states the decision stood on. */
export function weakest(...states: readonly DnssecState[]): DnssecState {
  return states.reduce((a, b) => (STRENGTH[b] < STRENGTH[a] ? b : a), 'secure');
}

/** One answer that passed the bogus and failure rules; its data may still be insecure. */
interface Checked {
  readonly ok: true;
  readonly answer: NameAnswer;
  readonly dnssec: DnssecState;
}

/**
 * Asks once and applies the rules every lookup shares: bogus is refused unless `ignore-bogus`
 * (then the data is fetched unchecked and marked bogus-ignored); indeterminate and failed are
 * DNS_FAILED (RFC 7672 §2.2: a failed lookup is never taken as absence). Status before outcome:
 * a bogus answer may carry records or be a cached SERVFAIL.
 */
export async function checkedLookup(lookup: NameLookup, name: string, type: number, flags: TlsFlags, signal: AbortSignal): Promise<Checked | Refusal> {
  const what = `${name}/${type === RRType.TLSA ? 'TLSA' : type === RRType.AAAA ? 'AAAA' : type === RRType.A ? 'A' : type}`;
  let answer = await lookup(name, type, signal);
  let dnssec: DnssecState = 'secure';
  if (answer.status === 'bogus') {
    if (!flags.ignoreBogus) return refuse(ReplyCode.DnssecBogus, `${what} is bogus: ${answer.reason ?? 'validation failed'}`);
    answer = await lookup(name, type, signal, { unchecked: true });
    dnssec = 'bogus-ignored';
  } else if (answer.status === 'indeterminate') {
    return refuse(ReplyCode.DnsFailed, `${what} could not be validated: ${answer.reason ?? 'indeterminate'}`);
  } else if (answer.status === 'insecure') {
    dnssec = 'insecure';
  }
  if (answer.outcome === 'failed') return refuse(ReplyCode.DnsFailed, `${what} lookup failed: ${answer.reason ?? 'no answer'}`);
  return { ok: true, answer, dnssec };
}

export interface PeerAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

export interface HostAddresses {
  readonly ok: true;
  readonly addresses: readonly PeerAddress[];
  /** Where the address records are: the name itself, or the end of its CNAME chain. */
  readonly owner: string;
  /** The answer followed CNAMEs and is secure, so the expanded name is a TLSA base domain (RFC 7671 §7). */
  readonly secureCname: boolean;
  readonly dnssec: DnssecState;
  readonly expiresAtMs: number;
}

function addressesOf(answer: NameAnswer, family: 4 | 6): PeerAddress[] {
  return answer.outcome !== 'records' ? [] : answer.rdata
    .filter((rdata) => rdata.length === (family === 4 ? 4 : 16))
    .map((rdata) => ({ address: family === 4 ? ipv4Text(rdata) : ipv6Text(rdata), family }));
}

/**
 * A and AAAA in parallel. Bogus on either refuses (an attack on one family is an attack); one
 * failed family is tolerated when the other has addresses; none anywhere is NOT_FOUND, unless a
 * failure hides what might be there (DNS_FAILED). Insecure data passes here: the engine decides.
 */
export async function lookUpAddresses(lookup: NameLookup, name: string, flags: TlsFlags, signal: AbortSignal): Promise<HostAddresses | Refusal> {
  const literal = isIP(name);
  if (literal !== 0) {
    // An address literal has no DNS to check; only PKIX (no-dane) can authenticate it.
    return { ok: true, addresses: [{ address: name, family: literal as 4 | 6 }], owner: name, secureCname: false, dnssec: 'insecure', expiresAtMs: Number.POSITIVE_INFINITY };
  }
  const [v4, v6] = await Promise.all([RRType.A, RRType.AAAA].map((type) => checkedLookup(lookup, name, type, flags, signal)));
  const checked = [v4!, v6!];
  const bogus = checked.find((c): c is Refusal => !c.ok && c.reply === ReplyCode.DnssecBogus);
  if (bogus) return bogus;
  const withRecords = checked.filter((c): c is Checked => c.ok && c.answer.outcome === 'records');
  const addresses = withRecords.flatMap((c) => addressesOf(c.answer, c.answer.type === RRType.A ? 4 : 6));
  if (addresses.length === 0) {
    const failed = checked.find((c): c is Refusal => !c.ok);
    return failed ?? refuse(ReplyCode.NotFound, `${name} has no address (${checked.map((c) => (c.ok ? c.answer.outcome : 'failed')).join(', ')})`);
  }
  const first = withRecords[0]!.answer;
  return {
    ok: true, addresses, owner: first.owner,
    secureCname: withRecords[0]!.dnssec === 'secure' && !namesEqual(first.owner, normalizeName(name)),
    dnssec: weakest(...withRecords.map((c) => c.dnssec)),
    expiresAtMs: Math.min(...withRecords.map((c) => c.answer.expiresAtMs)),
  };
}

export type TlsaLookup =
  | {
    readonly kind: 'records';
    /** Where the RRset is (after any CNAME at the TLSA name itself). */
    readonly tlsaOwner: string;
    /** The TLSA base domain the RRset was found under (RFC 7671 §7). */
    readonly baseDomain: string;
    readonly records: readonly TlsaRdata[];
    /** RDATA that did not decode: unusable, as if absent (RFC 7671 §4.1). */
    readonly undecodable: readonly string[];
    readonly dnssec: DnssecState;
    readonly expiresAtMs: number;
  }
  | {
    readonly kind: 'none';
    /** True when there was data but DNSSEC did not vouch for it and no-dnssec was not given. */
    readonly insecure: boolean;
    readonly why: string;
    readonly dnssec: DnssecState;
    readonly expiresAtMs: number;
  };

/** `_PORT._tcp.NAME.` (RFC 6698 §3). */
export function tlsaName(port: number, baseDomain: string): string {
  return `_${port}._tcp.${normalizeName(baseDomain)}`;
}

/**
 * The TLSA RRset for the first base domain that has one, in order (RFC 7671 §7: the CNAME-expanded
 * name first, then the original). A failure or bogus answer stops the search: a later name must
 * not stand in for an answer an attacker suppressed.
 */
export async function lookUpTlsa(lookup: NameLookup, owners: readonly { readonly name: string; readonly base: string }[], flags: TlsFlags, signal: AbortSignal): Promise<TlsaLookup | Refusal> {
  let none: TlsaLookup | undefined;
  for (const { name, base } of owners) {
    const checked = await checkedLookup(lookup, name, RRType.TLSA, flags, signal);
    if (!checked.ok) return checked;
    const { answer, dnssec } = checked;
    if (dnssec !== 'secure' && !flags.noDnssec) {
      return { kind: 'none', insecure: true, why: `${name}/TLSA is ${dnssec} (no-dnssec not given)`, dnssec, expiresAtMs: answer.expiresAtMs };
    }
    if (answer.outcome === 'records') {
      const records: TlsaRdata[] = [];
      const undecodable: string[] = [];
      for (const rdata of answer.rdata) {
        try {
          records.push(decodeTlsa(rdata, answer.owner));
        } catch (error) {
          undecodable.push(errorMessage(error));
        }
      }
      if (records.length > 0) return { kind: 'records', tlsaOwner: answer.owner, baseDomain: base, records, undecodable, dnssec, expiresAtMs: answer.expiresAtMs };
      none ??= { kind: 'none', insecure: false, why: `no usable TLSA at ${name}: ${undecodable.join('; ')}`, dnssec, expiresAtMs: answer.expiresAtMs };
      continue;
    }
    none ??= { kind: 'none', insecure: false, why: `no TLSA at ${name} (${answer.outcome})`, dnssec, expiresAtMs: answer.expiresAtMs };
  }
  return none ?? { kind: 'none', insecure: false, why: 'no TLSA name to ask', dnssec: 'secure', expiresAtMs: Number.POSITIVE_INFINITY };
}
