/**
 * SRV (RFC 2782): where a domain's key server is, `_pgpkey-ldap._tcp.<domain>` (seed 000 §4.2).
 *
 *   priority (2) | weight (2) | port (2) | target (uncompressed name)
 *
 * The RRset is read with the lookup's DNSSEC status first (seed 000 §5.3: the SRV record must be
 * signed), then ordered as RFC 2782 says: lowest priority first, and within a priority by a
 * weighted random draw.
 */
import { errorMessage } from '../core/errors.js';
import { RdataReader, rdataLabel } from '../records/rdata-reader.js';
import { readUncompressedName } from '../records/name-text.js';
import type { NameLookup, TlsFlags, TlsSession } from '../tls/index.js';
import { RRType } from '../wire/constants.js';
import { isHostName } from './address.js';
import { MAX_SRV_RECORDS } from './limits.js';
import type { UserKeyFailure } from './result.js';

/** The service and protocol labels of a domain's PGP/LDAP key server. */
export const KEY_SERVER_SERVICE = '_pgpkey-ldap._tcp';

export interface SrvRdata {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  /** Presentation form, absolute (`keys.example.`); `.` means "no service here" (RFC 2782). */
  readonly target: string;
}

/** Strict: truncated RDATA, a bad name or trailing bytes is a WireFormatError. */
export function decodeSrv(rdata: Uint8Array, owner?: string): SrvRdata {
  const reader = new RdataReader(rdata, rdataLabel('SRV', owner));
  const priority = reader.u16('priority');
  const weight = reader.u16('weight');
  const port = reader.u16('port');
  const target = readUncompressedName(reader, 'target');
  reader.end();
  return { priority, weight, port, target };
}

/** A key server to try: a host name (no trailing dot) and a port. */
export interface KeyServerTarget {
  readonly name: string;
  readonly port: number;
}

/**
 * RFC 2782 order: ascending priority; within one priority, repeatedly draw a record with
 * probability weight/sum, weight-0 records placed first so that they are chosen only rarely when
 * others have weight. `random` returns [0, 1); tests pass a fixed one.
 */
export function orderSrv(records: readonly SrvRdata[], random: () => number = Math.random): SrvRdata[] {
  const priorities = [...new Set(records.map((r) => r.priority))].sort((a, b) => a - b);
  return priorities.flatMap((priority) => {
    const pool = records.filter((r) => r.priority === priority).sort((a, b) => (a.weight === 0 ? 0 : 1) - (b.weight === 0 ? 0 : 1));
    const ordered: SrvRdata[] = [];
    while (pool.length > 0) {
      const sum = pool.reduce((total, r) => total + r.weight, 0);
      // RFC 2782: a uniform number between 0 and the sum (inclusive); the first record whose
      // running sum reaches it is next.
      const draw = Math.floor(random() * (sum + 1));
      let running = 0;
      const index = pool.findIndex((r) => (running += r.weight) >= draw);
      ordered.push(...pool.splice(index < 0 ? 0 : index, 1));
    }
    return ordered;
  });
}

export interface KeyServers {
  readonly targets: readonly KeyServerTarget[];
  /** How trustworthy the SRV RRset was. */
  readonly dnssec: TlsSession['dnssec'];
  /** When the SRV answer stops holding. */
  readonly expiresAtMs: number;
}

export type KeyServersResult = { readonly ok: true; readonly value: KeyServers } | UserKeyFailure;

const failure = (reply: UserKeyFailure['reply'], reason: string, expiresAtMs?: number): UserKeyFailure => ({ ok: false, reply, reason, expiresAtMs });

/** Looks up and orders the domain's key servers, applying the DNSSEC flags (seed 000 §4.1.1). */
export async function findKeyServers(
  lookup: NameLookup, domain: string, flags: TlsFlags, signal: AbortSignal, random: () => number = Math.random,
): Promise<KeyServersResult> {
  const owner = `${KEY_SERVER_SERVICE}.${domain}.`;
  let answer = await lookup(owner, RRType.SRV, signal);
  let dnssec: TlsSession['dnssec'] = 'secure';
  if (answer.status === 'bogus') {
    if (!flags.ignoreBogus) return failure('DNSSEC_BOGUS', `SRV ${owner} is bogus: ${answer.reason ?? 'no reason given'}`);
    // ignore-bogus makes bogus data count as insecure, which still needs no-dnssec (session.ts).
    if (!flags.noDnssec) return failure('DNSSEC_INSECURE', `SRV ${owner} is bogus, and ignore-bogus only makes it insecure (no-dnssec not given)`);
    answer = await lookup(owner, RRType.SRV, signal, { unchecked: true });
    dnssec = 'bogus-ignored';
  } else if (answer.status === 'indeterminate') {
    return failure('DNS_FAILED', `SRV ${owner}: ${answer.reason ?? 'no validated answer'}`);
  } else if (answer.status === 'insecure') {
    if (!flags.noDnssec) return failure('DNSSEC_INSECURE', `SRV ${owner} is not signed (${answer.reason ?? 'insecure'})`, answer.expiresAtMs);
    dnssec = 'insecure';
  }
  if (answer.outcome === 'failed') return failure('DNS_FAILED', `SRV ${owner}: ${answer.reason ?? 'lookup failed'}`);
  if (answer.outcome !== 'records') return failure('LDAP_NO_SERVER', `${domain} publishes no ${KEY_SERVER_SERVICE} SRV record (${answer.outcome})`, answer.expiresAtMs);
  const usable = usableTargets(answer.rdata.slice(0, MAX_SRV_RECORDS), answer.owner, random);
  if (!usable.ok) return failure('LDAP_NO_SERVER', usable.reason, answer.expiresAtMs);
  return { ok: true, value: { targets: usable.targets, dnssec, expiresAtMs: answer.expiresAtMs } };
}

type Usable = { readonly ok: true; readonly targets: readonly KeyServerTarget[] } | { readonly ok: false; readonly reason: string };

/** Decodes and orders; malformed records, port 0 and targets that are not host names count as absent. */
function usableTargets(rdata: readonly Uint8Array[], owner: string, random: () => number): Usable {
  const records: SrvRdata[] = [];
  const problems: string[] = [];
  for (const bytes of rdata) {
    try {
      records.push(decodeSrv(bytes, owner));
    } catch (error) {
      problems.push(errorMessage(error));
    }
  }
  // RFC 2782: a lone record with target "." means the service is decidedly not available.
  if (records.length === 1 && records[0]!.target === '.') return { ok: false, reason: `${owner} SRV target "." : no key server offered (RFC 2782)` };
  const targets: KeyServerTarget[] = [];
  for (const record of orderSrv(records, random)) {
    const name = record.target.replace(/\.$/, '');
    if (record.target === '.') continue;
    if (record.port === 0 || !isHostName(name)) problems.push(`unusable SRV target ${record.target} port ${record.port}`);
    else targets.push({ name: name.toLowerCase(), port: record.port });
  }
  if (targets.length === 0) return { ok: false, reason: `${owner} has no usable SRV record (${problems.join('; ') || 'none'})` };
  return { ok: true, targets };
}
