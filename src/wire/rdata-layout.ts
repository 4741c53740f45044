/**
 * Where domain names sit inside the RDATA of the types whose names may arrive compressed.
 * RFC 3597 §4: receivers must decompress the RFC 1035 types; senders may compress only those.
 * A few later types are decompressed on receipt too, because some servers compress them anyway.
 */
import { RRType } from './constants.js';

/** A name, a fixed run of bytes, or everything that is left. */
export type RdataPart = 'name' | 'rest' | number;

const oneName: readonly RdataPart[] = ['name'];

/** Layouts of the RFC 1035 types: their names may be compressed when oedns writes them. */
export const RFC1035_LAYOUTS: ReadonlyMap<number, readonly RdataPart[]> = new Map<number, readonly RdataPart[]>([
  [RRType.NS, oneName], [RRType.MD, oneName], [RRType.MF, oneName], [RRType.CNAME, oneName],
  [RRType.MB, oneName], [RRType.MG, oneName], [RRType.MR, oneName], [RRType.PTR, oneName],
  [RRType.SOA, ['name', 'name', 20]], [RRType.MINFO, ['name', 'name']], [RRType.MX, [2, 'name']],
]);

/** RFC 3597 §4 lists these as "MUST NOT compress" for senders; tolerate it when reading. */
const LENIENT_LAYOUTS: ReadonlyMap<number, readonly RdataPart[]> = new Map<number, readonly RdataPart[]>([
  [17 /* RP */, ['name', 'name']], [18 /* AFSDB */, [2, 'name']], [21 /* RT */, [2, 'name']],
  [RRType.SRV, [6, 'name']], [36 /* KX */, [2, 'name']], [RRType.DNAME, oneName],
  [RRType.RRSIG, [18, 'name', 'rest']], [RRType.NSEC, ['name', 'rest']],
]);

export function readLayout(type: number): readonly RdataPart[] | undefined {
  return RFC1035_LAYOUTS.get(type) ?? LENIENT_LAYOUTS.get(type);
}
