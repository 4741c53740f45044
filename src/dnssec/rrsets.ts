/** Records of a section grouped into RRsets, each with the RRSIGs that cover it (RFC 4034 §3). */
import { canonicalName, RRType, type ResourceRecord } from '../wire/index.js';
import { parseRrsig } from './dnssec-rdata.js';

export interface SignedRrset {
  readonly name: string;
  readonly type: number;
  readonly records: readonly ResourceRecord[];
  readonly rrsigs: readonly ResourceRecord[];
}

/** The RRSIG's Type Covered, or undefined for a malformed RRSIG (which then covers nothing). */
function typeCovered(rrsig: ResourceRecord): number | undefined {
  try {
    return parseRrsig(rrsig).typeCovered;
  } catch {
    return undefined;
  }
}

/** Groups by owner (case-insensitive), type and class, in order of first appearance. */
export function groupRrsets(records: readonly ResourceRecord[]): SignedRrset[] {
  const sets = new Map<string, { name: string; type: number; records: ResourceRecord[]; rrsigs: ResourceRecord[] }>();
  const keyOf = (name: string, type: number, klass: number): string => `${canonicalName(name)}|${type}|${klass}`;
  for (const record of records) {
    if (record.type === RRType.RRSIG) continue;
    const key = keyOf(record.name, record.type, record.class);
    const set = sets.get(key) ?? { name: record.name, type: record.type, records: [], rrsigs: [] };
    set.records.push(record);
    sets.set(key, set);
  }
  for (const record of records) {
    if (record.type !== RRType.RRSIG) continue;
    const covered = typeCovered(record);
    if (covered === undefined) continue;
    sets.get(keyOf(record.name, covered, record.class))?.rrsigs.push(record);
  }
  return [...sets.values()];
}

/** The signer name of an RRset's RRSIGs if they agree; undefined when unsigned or mixed. */
export function signerOf(rrset: SignedRrset): string | undefined {
  const signers = new Set<string>();
  let first: string | undefined;
  for (const rrsig of rrset.rrsigs) {
    try {
      const signer = parseRrsig(rrsig).signerName;
      first ??= signer;
      signers.add(canonicalName(signer));
    } catch {
      // a malformed RRSIG names no signer
    }
  }
  return signers.size === 1 ? first : undefined;
}
