/**
 * Trust anchors (RFC 4033 §2, RFC 4035 §4.4): the DS or DNSKEY records configured as trusted,
 * where every chain of trust starts, and negative trust anchors (RFC 7646), the names below which
 * validation is turned off. Pure data: reading files and reloading belong to the caller.
 *
 * An anchor whose keys or digests all use algorithms oedns does not implement is kept, with a
 * warning: RFC 4035 §5.2 and RFC 5011 make such a zone insecure, not broken, and the validator
 * decides that (it also sees which algorithms the zone really signs with).
 */
import { ConfigError, errorMessage } from '../core/errors.js';
import { RRType } from '../wire/constants.js';
import type { ResourceRecord } from '../wire/message.js';
import { nameKey, normalizeName } from '../wire/name.js';
import { algorithmName, isSupportedAlgorithm, isSupportedDigestType } from './algorithms.js';
import { ancestorName, compareCanonical, labelCount } from './canonical-name.js';
import { DNSKEY_PROTOCOL, parseDnskey, parseDs } from './dnssec-rdata.js';
import { dsMatches } from './ds.js';
import { parsePresentation } from './presentation.js';

/**
 * The IANA root zone KSKs as DS records (https://data.iana.org/root-anchors/root-anchors.xml):
 * KSK-2017 (20326, valid from 2017-02-02) and KSK-2024 (38696, valid from 2024-07-18).
 * Checked against: IANA's root-anchors.xml as mirrored in github.com/takonomura/iana-root-files
 * (data/trust-anchors/root-anchors.xml); Debian's dns-root-data /usr/share/dns/root.ds; BIND
 * 9.18's /etc/bind/bind.keys (initial-ds for 38696). trust-anchors.test.ts recomputes both digests
 * from the root DNSKEYs in /usr/share/dns/root.key and bind.keys when those files are present.
 */
export const ROOT_TRUST_ANCHOR_TEXT = `
. 172800 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
. 172800 IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16
`;

export const ROOT_TRUST_ANCHORS: readonly ResourceRecord[] = Object.freeze(
  parsePresentation(ROOT_TRUST_ANCHOR_TEXT, { fileName: 'built-in root trust anchors' }),
);

/** The configured DS and DNSKEY records of one zone. */
export interface TrustAnchor {
  /** Absolute presentation name, as first written in the configuration. */
  readonly zone: string;
  readonly ds: readonly ResourceRecord[];
  readonly dnskeys: readonly ResourceRecord[];
}

export interface TrustAnchorSet {
  /** The anchor of `name` or of its closest enclosing zone that has one (case-insensitive). */
  anchorFor(name: string): TrustAnchor | undefined;
  all(): readonly TrustAnchor[];
  /** Anchors that can never validate anything (unsupported algorithms, revoked or non-zone keys). */
  readonly warnings: readonly string[];
}

function sameRdata(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** Why a DS or DNSKEY anchor record cannot authenticate a key, or undefined when it can. */
function uselessBecause(rr: ResourceRecord): string | undefined {
  if (rr.type === RRType.DS) {
    const ds = parseDs(rr);
    if (!isSupportedAlgorithm(ds.algorithm)) return `DS ${ds.keyTag}: algorithm ${algorithmName(ds.algorithm)} is not supported`;
    if (!isSupportedDigestType(ds.digestType)) return `DS ${ds.keyTag}: digest type ${ds.digestType} is not supported`;
    return undefined;
  }
  const key = parseDnskey(rr);
  if (!isSupportedAlgorithm(key.algorithm)) return `DNSKEY ${key.keyTag}: algorithm ${algorithmName(key.algorithm)} is not supported`;
  // RFC 4034 §2.1.1: a key without the Zone Key flag "MUST NOT be used to verify RRSIGs".
  if (!key.zoneKey) return `DNSKEY ${key.keyTag}: the Zone Key flag is not set`;
  // RFC 5011 §2.1: a revoked key "MUST NOT" be used as a trust anchor.
  if (key.revoked) return `DNSKEY ${key.keyTag}: the key is revoked`;
  return undefined;
}

function warningsFor(anchor: TrustAnchor): string[] {
  const reasons = [...anchor.ds, ...anchor.dnskeys].map(uselessBecause);
  if (reasons.some((reason) => reason === undefined)) return [];
  return [`trust anchor for ${anchor.zone} has no usable key or digest (${reasons.join('; ')}); ` +
    'the validator will treat the zone as insecure (RFC 4035 §5.2)'];
}

/**
 * Groups DS and DNSKEY records by owner (case-insensitive) into anchors; duplicates are dropped.
 * Records of other types are a bug in the caller.
 */
export function trustAnchorSet(records: readonly ResourceRecord[]): TrustAnchorSet {
  const byZone = new Map<string, { zone: string; ds: ResourceRecord[]; dnskeys: ResourceRecord[] }>();
  for (const rr of records) {
    if (rr.type !== RRType.DS && rr.type !== RRType.DNSKEY) throw new TypeError(`trust anchor ${rr.name} has type ${rr.type}, not DS or DNSKEY`);
    const key = nameKey(rr.name);
    let anchor = byZone.get(key);
    if (!anchor) byZone.set(key, (anchor = { zone: normalizeName(rr.name), ds: [], dnskeys: [] }));
    const list = rr.type === RRType.DS ? anchor.ds : anchor.dnskeys;
    if (!list.some((other) => sameRdata(other.rdata, rr.rdata))) list.push(rr);
  }
  const anchors: readonly TrustAnchor[] = Object.freeze([...byZone.values()]);
  const warnings = Object.freeze(anchors.flatMap(warningsFor));
  return {
    anchorFor(name) {
      for (let keep = labelCount(name); keep >= 0; keep--) {
        const anchor = byZone.get(nameKey(ancestorName(name, keep)));
        if (anchor) return anchor;
      }
      return undefined;
    },
    all: () => anchors,
    warnings,
  };
}

/** Anchors from a trust-anchor file's text (zone-file DS/DNSKEY lines, Unbound's format too). */
export function trustAnchorsFromText(text: string, fileName: string): TrustAnchorSet {
  const records = parsePresentation(text, { fileName });
  if (records.length === 0) throw new ConfigError(`${fileName}: holds no DS or DNSKEY records`);
  return trustAnchorSet(records);
}

/** The IANA root anchors alone. */
export function defaultTrustAnchors(): TrustAnchorSet {
  return trustAnchorSet(ROOT_TRUST_ANCHORS);
}

/**
 * Whether `dnskey` is trusted by `anchor`: the same owner and RDATA as an anchor DNSKEY, or
 * designated by an anchor DS (RFC 4034 §5.1.4 digest, via dsMatches). Revoked keys, keys without
 * the Zone Key flag and keys with a protocol other than 3 never match. Malformed DNSKEY RDATA
 * throws WireFormatError, as parseDnskey does.
 */
export function keyMatchesAnchor(anchor: TrustAnchor, dnskey: ResourceRecord): boolean {
  if (dnskey.type !== RRType.DNSKEY || compareCanonical(dnskey.name, anchor.zone) !== 0) return false;
  const key = parseDnskey(dnskey);
  // RFC 4034 §2.1.1 (Zone Key), §2.1.2 (Protocol 3); RFC 5011 §2.1: revoked keys are not anchors.
  if (!key.zoneKey || key.revoked || key.protocol !== DNSKEY_PROTOCOL) return false;
  if (anchor.dnskeys.some((trusted) => sameRdata(trusted.rdata, dnskey.rdata))) return true;
  return anchor.ds.some((ds) => dsMatches(parseDs(ds), anchor.zone, dnskey));
}

/** RFC 7646 negative trust anchors: validation is not done at or below these names. */
export interface NegativeTrustAnchors {
  covers(name: string): boolean;
  all(): readonly string[];
}

/** Builds NTAs from domain names (relative names are taken as absolute). Invalid names throw ConfigError. */
export function negativeTrustAnchors(domains: readonly string[]): NegativeTrustAnchors {
  const names = new Map<string, string>();
  for (const domain of domains) {
    let name: string;
    try {
      name = normalizeName(domain.trim());
    } catch (error) {
      throw new ConfigError(`negative trust anchor "${domain}" is not a valid domain name: ${errorMessage(error)}`, { cause: error });
    }
    // RFC 7646 §2 scopes an NTA to a domain that fails validation; one at the root would switch
    // validation off everywhere, which is a configuration mistake rather than a workaround.
    if (name === '.') throw new ConfigError(`negative trust anchor "${domain}" is the root; that would disable validation everywhere`);
    names.set(nameKey(name), name);
  }
  const list = Object.freeze([...names.values()]);
  return {
    covers(name) {
      if (names.size === 0) return false;
      for (let keep = labelCount(name); keep >= 1; keep--) if (names.has(nameKey(ancestorName(name, keep)))) return true;
      return false;
    },
    all: () => list,
  };
}
