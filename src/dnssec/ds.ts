/**
 * DS digests (RFC 4034 §5.1.4, RFC 4509 §2, RFC 6605 §2): the hash of the DNSKEY owner name in
 * canonical wire form followed by the DNSKEY RDATA, which is how a parent vouches for a child's key.
 */
import { createHash } from 'node:crypto';
import type { ResourceRecord } from '../wire/message.js';
import { digestHash } from './algorithms.js';
import { canonicalNameWire, compareCanonical } from './canonical-name.js';
import { DNSKEY_PROTOCOL, parseDnskey, type DsRdata } from './dnssec-rdata.js';

/**
 * RFC 4034 §5.1.4: "digest = digest_algorithm( DNSKEY owner name | DNSKEY RDATA)", the owner
 * name in canonical form (§6.2). Undefined for a digest type oedns does not implement.
 */
export function dsDigest(ownerName: string, dnskeyRdata: Uint8Array, digestType: number): Uint8Array | undefined {
  const hash = digestHash(digestType);
  if (!hash) return undefined;
  return new Uint8Array(createHash(hash).update(canonicalNameWire(ownerName)).update(dnskeyRdata).digest());
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether `ds` (from the parent, owned by `ownerName`) designates `dnskey`: same owner, key tag,
 * algorithm and digest. False for unsupported digest types; the caller decides what those mean
 * (RFC 4035 §5.2: a DS RRset with only unsupported digests makes the zone insecure).
 */
export function dsMatches(ds: DsRdata, ownerName: string, dnskey: ResourceRecord): boolean {
  if (compareCanonical(ownerName, dnskey.name) !== 0) return false;
  const key = parseDnskey(dnskey);
  // RFC 4034 §5.2: "The DNSKEY RR referred to in the DS RR MUST be a DNSSEC zone key."
  if (!key.zoneKey || key.protocol !== DNSKEY_PROTOCOL) return false;
  if (ds.keyTag !== key.keyTag || ds.algorithm !== key.algorithm) return false;
  const digest = dsDigest(ownerName, dnskey.rdata, ds.digestType);
  return digest !== undefined && bytesEqual(digest, ds.digest);
}
