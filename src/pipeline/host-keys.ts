/**
 * The keys a host publishes in DNS, gathered for one A/AAAA answer: its IPSECKEY, CERT and TLSA
 * RRsets (RFC 4025, RFC 4398, RFC 6698), each looked up through the pipeline (cached, merged
 * with identical queries in flight, validated) and decoded, with its validation status and
 * lifetime. The lookups run in parallel; a record that cannot be decoded or whose key is
 * malformed is reported with the reason and never used.
 */
import type { X509Certificate } from 'node:crypto';
import type { Security } from '../cache/index.js';
import { errorMessage } from '../core/errors.js';
import {
  certMaterial, decodeCert, decodeIpseckey, decodeTlsa, ipseckeyPublicKey,
  type CertRdata, type IpseckeyPublicKey, type IpseckeyRdata, type TlsaRdata,
} from '../records/index.js';
import { namesEqual, Rcode, readName, RRClass, RRType, typeName, type Message, type Question } from '../wire/index.js';

/** What validation said of an RRset the keys came from, as policy reads it. */
export type KeyStatus = 'secure' | 'insecure' | 'unchecked' | 'bogus' | 'indeterminate';

/** A validated lookup through the pipeline: the answer, its status, and until when it holds. */
export interface ValidatedAnswer {
  readonly message: Message;
  readonly security: Security;
  /** Epoch ms the answer stops being valid: its cache lifetime (TTL, capped by RRSIG expiry). */
  readonly expiresAtMs: number;
}

export type ValidatedLookup = (question: Question, signal: AbortSignal) => Promise<ValidatedAnswer>;

/** One RRset of keys: the decoded records (lowest IPSECKEY precedence first), or why none. */
export interface KeySet<T> {
  readonly owner: string;
  readonly type: number;
  readonly status: KeyStatus;
  /** NOERROR with records; `none` for a (proven or unproven, see status) absence; `failed` for SERVFAIL or no answer. */
  readonly outcome: 'records' | 'none' | 'failed';
  readonly records: readonly T[];
  /** Records that could not be used, each with the reason (also logged). */
  readonly rejected: readonly string[];
  readonly reason?: string | undefined;
  readonly expiresAtMs: number;
}

export interface IpseckeyEntry {
  readonly rdata: IpseckeyRdata;
  readonly key: IpseckeyPublicKey;
}

export interface CertEntry {
  readonly rdata: CertRdata;
  readonly certificate?: X509Certificate | undefined;
}

/** Port and protocol of a TLSA lookup, `443/tcp` → `_443._tcp.NAME` (RFC 6698 §3). */
export interface TlsaPort {
  readonly port: number;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
}

/** Which key RRsets to look up for a name (policy decides; the built-in default: all). */
export interface LookupPlan {
  readonly ipseckey: boolean;
  readonly cert: boolean;
  readonly tlsa: readonly TlsaPort[];
  /** A lookup not done by then counts as timed out (it goes on, and its answer is cached). */
  readonly timeoutMs?: number | undefined;
  /** Keys at the name asked for too, when a CNAME led from it to the host (policy `query-name-keys`). */
  readonly queryName?: boolean | undefined;
}

/** The reason of a key RRset whose lookup outlasted the plan's timeout. */
export const TIMED_OUT = 'timed out';

function withTimeout<T>(set: Promise<KeySet<T>>, owner: string, type: number, timeoutMs: number | undefined, nowMs: number): Promise<KeySet<T>> {
  if (timeoutMs === undefined) return set;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<KeySet<T>>((resolve) => {
    timer = setTimeout(() => resolve({
      owner, type, status: 'indeterminate', outcome: 'failed', records: [], rejected: [], reason: `${TIMED_OUT} after ${timeoutMs} ms`, expiresAtMs: nowMs,
    }), timeoutMs);
  });
  return Promise.race([set, late]).finally(() => clearTimeout(timer));
}

export interface HostKeys {
  /** The host's own name: the end of the CNAME chain, where the keys were looked up. */
  readonly name: string;
  readonly ipseckey: KeySet<IpseckeyEntry>;
  readonly cert: KeySet<CertEntry>;
  /** Keyed `443/tcp`. */
  readonly tlsa: ReadonlyMap<string, KeySet<TlsaRdata>>;
}

export function tlsaPortKey(port: TlsaPort): string {
  return `${port.port}/${port.protocol}`;
}

/** Stronger status, higher rank: for "at least as secure as" (dns-match-id) and "the weaker of". */
export const KEY_STATUS_RANK: Readonly<Record<KeyStatus, number>> = { secure: 3, insecure: 2, unchecked: 1, indeterminate: 0, bogus: 0 };

export function keyStatusOf(security: Security): KeyStatus {
  return security.status;
}

type Decoder<T> = (rdata: Uint8Array, owner: string) => T;

const decodeIpseckeyEntry: Decoder<IpseckeyEntry> = (rdata, owner) => {
  const record = decodeIpseckey(rdata, owner);
  const key = ipseckeyPublicKey(record, owner);
  return { rdata: record, key };
};

const decodeCertEntry: Decoder<CertEntry> = (rdata, owner) => {
  const record = decodeCert(rdata, owner);
  const material = certMaterial(record, owner);
  return { rdata: record, certificate: material.kind === 'x509' ? material.certificate : undefined };
};

/** Looks up one key RRset and decodes it; never rejects. */
export async function keySet<T>(lookup: ValidatedLookup, owner: string, type: number, decode: Decoder<T>, signal: AbortSignal, nowMs: number): Promise<KeySet<T>> {
  let answer: ValidatedAnswer;
  try {
    answer = await lookup({ name: owner, type, class: RRClass.IN }, signal);
  } catch (error) {
    return { owner, type, status: 'indeterminate', outcome: 'failed', records: [], rejected: [], reason: errorMessage(error), expiresAtMs: nowMs };
  }
  const { message, security } = answer;
  const status = keyStatusOf(security);
  const reason = security.status === 'bogus' || security.status === 'indeterminate' ? security.reason : undefined;
  if (status === 'bogus' || status === 'indeterminate' || (message.rcode !== Rcode.NoError && message.rcode !== Rcode.NXDomain)) {
    return { owner, type, status, outcome: 'failed', records: [], rejected: [], reason: reason ?? `rcode ${message.rcode}`, expiresAtMs: answer.expiresAtMs };
  }
  const records: T[] = [];
  const rejected: string[] = [];
  // Only the RRset at the end of the CNAME chain from the owner asked: the one the validator
  // checked. Other records an upstream put in the answer section prove nothing.
  const end = finalName(owner, message);
  for (const rr of message.answers) {
    if (rr.type !== type || rr.class !== RRClass.IN || !namesEqual(rr.name, end)) continue;
    try {
      records.push(decode(rr.rdata, rr.name));
    } catch (error) {
      rejected.push(`${rr.name} ${typeName(type)}: ${errorMessage(error)}`);
    }
  }
  const outcome = records.length > 0 || rejected.length > 0 ? 'records' : 'none';
  return { owner, type, status, outcome, records, rejected, reason, expiresAtMs: answer.expiresAtMs };
}

/**
 * IPSECKEY, CERT and TLSA (for each port) of `name`, all asked at once. IPSECKEY records come
 * lowest precedence first (RFC 4025 §2.2: "gateways listed in IPSECKEY records with lower
 * precedence are to be attempted first").
 */
export async function gatherHostKeys(lookup: ValidatedLookup, name: string, plan: LookupPlan | readonly TlsaPort[], signal: AbortSignal, nowMs: number): Promise<HostKeys> {
  // A bare list of ports: IPSECKEY and CERT are looked up too.
  const { ipseckey: wantIpseckey, cert: wantCert, tlsa: ports, timeoutMs } = Array.isArray(plan)
    ? { ipseckey: true, cert: true, tlsa: plan as readonly TlsaPort[], timeoutMs: undefined }
    : plan as LookupPlan;
  const tlsaNames = ports.map((p) => `_${p.port}._${p.protocol}.${name === '.' ? '' : name}`);
  const bounded = <T>(owner: string, type: number, decode: Decoder<T>): Promise<KeySet<T>> =>
    withTimeout(keySet(lookup, owner, type, decode, signal, nowMs), owner, type, timeoutMs, nowMs);
  const [ipseckey, cert, ...tlsa] = await Promise.all([
    wantIpseckey ? bounded(name, RRType.IPSECKEY, decodeIpseckeyEntry) : notAsked<IpseckeyEntry>(name, RRType.IPSECKEY),
    wantCert ? bounded(name, RRType.CERT, decodeCertEntry) : notAsked<CertEntry>(name, RRType.CERT),
    ...tlsaNames.map((owner) => bounded(owner, RRType.TLSA, decodeTlsa)),
  ]);
  const ordered = { ...ipseckey!, records: [...ipseckey!.records].sort((a, b) => a.rdata.precedence - b.rdata.precedence) };
  return {
    name,
    ipseckey: ordered,
    cert: cert!,
    tlsa: new Map(ports.map((p, i) => [tlsaPortKey(p), tlsa[i]!])),
  };
}

/** A key RRset no rule wants: not looked up, so it holds nothing (and forever). */
function notAsked<T>(owner: string, type: number): KeySet<T> {
  return { owner, type, status: 'unchecked', outcome: 'none', records: [], rejected: [], reason: 'not looked up: no policy rule uses it', expiresAtMs: Number.POSITIVE_INFINITY };
}

/** The end of the CNAME chain from `qname` in an answer (the name whose A/AAAA were answered). */
export function finalName(qname: string, message: Message): string {
  let name = qname;
  for (let hops = 0; hops <= message.answers.length; hops++) {
    const cname = message.answers.find((rr) => rr.type === RRType.CNAME && namesEqual(rr.name, name));
    if (!cname) return name;
    name = readName(cname.rdata, 0).name;
  }
  return name;
}
