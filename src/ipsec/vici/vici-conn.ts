/**
 * PolicySpec → strongSwan conn (the vici backend's plan), and back from `list-conns`. Pure.
 *
 * One conn per spec, one child per conn. The conn's name encodes the policy key, so oedns' conns
 * are recognisable (`oedns-` prefix) and list() can tell which entry a conn is:
 *   oedns-<local|any>-<remote>-<protocol|any>-<ports|all>     e.g. oedns-any-192_0_2_2-6-443,1000:2000
 * with `_` for the dots of IPv4 addresses: swanctl --list-conns garbles conns whose names
 * contain a dot (it reads them as settings paths). No field contains `-`, so the name splits
 * back. The
 * child is named after the action (`protect`, `responder`, `pass`, `block`): list-conns does not
 * show start_action, and the child name is how a listing tells a responder from a trap.
 *
 * Everything that goes into a VICI message is checked here first: addresses with net.isIP (no
 * zone index), identities against a strict FQDN grammar, proposals against a safe alphabet.
 */
import { isIP } from 'node:net';
import { BackendError } from '../../core/errors.js';
import type { InstalledPolicy, PolicyAction, PolicySpec, TrafficSelector } from '../backend.js';
import { viciText, viciTextList, type ViciChildConfig, type ViciConnConfig, type ViciNamed, type ViciPubkeyAuth } from './vici-commands.js';
import { isViciTree } from './vici-codec.js';

export const CONN_PREFIX = 'oedns-';

/** IANA protocol numbers whose "ports" are ICMP types (strongSwan puts the type in the port position). */
const ICMP_PROTOCOLS: ReadonlySet<number> = new Set([1, 58]);
/** RFC 1035 §2.3.4: a name is at most 255 octets on the wire, 253 characters in text without the root dot. */
const MAX_FQDN_CHARS = 253;
const FQDN_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const PROPOSAL = /^[A-Za-z0-9_-]{1,128}$/;
/**
 * Traffic selectors per side of one conn. xfrm matches ports by value and mask, so a range becomes
 * one selector per aligned block (at most ~30 per range); charon installs a policy per selector.
 * A policy file with more ranges than this is refused rather than flooding the SPD.
 */
export const MAX_TRAFFIC_SELECTORS = 64;

/** Where IKE conns and the identity they carry come from: this host's config. */
export interface LocalIdentity {
  /** FQDN without trailing dot. */
  readonly id: string;
  /** SPKI PEM of this host's key (charon finds the private key through it). */
  readonly publicKeyPem: string;
}

/** A strict FQDN (LDH labels, last label not all digits, so charon cannot take it for an address); returns it without the trailing dot. */
export function checkedFqdn(name: string, what: string): string {
  const bare = (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
  const labels = bare.split('.');
  const ok = bare.length > 0 && bare.length <= MAX_FQDN_CHARS && labels.every((l) => FQDN_LABEL.test(l)) && !/^[0-9]+$/.test(labels.at(-1) ?? '');
  if (!ok) throw new BackendError(`vici: ${what} ${JSON.stringify(name)} is not a plain FQDN (letters, digits, hyphens)`);
  return bare;
}

export function checkedAddress(address: string, family: 4 | 6, what: string): string {
  if (isIP(address) !== family || address.includes('%')) throw new BackendError(`vici: ${what} ${JSON.stringify(address)} is not an IPv${family} address`);
  return address;
}

function portsText(selector: TrafficSelector): string {
  const ports = selector.ports ?? [];
  return ports.length === 0 ? 'all' : ports.map((p) => (p.first === p.last ? `${p.first}` : `${p.first}:${p.last}`)).join(',');
}

const nameOf = (address: string): string => address.replaceAll('.', '_');
const addressOf = (field: string): string => field.replaceAll('_', '.');

export function childName(action: PolicyAction): string {
  return action.kind;
}

/** The conn name of a spec (the policy key in a form charon and swanctl print as is). */
export function connName(spec: PolicySpec): string {
  checkedAddress(spec.remote, spec.family, 'remote address');
  if (spec.local !== undefined) checkedAddress(spec.local, spec.family, 'local address');
  return `${CONN_PREFIX}${spec.local === undefined ? 'any' : nameOf(spec.local)}-${nameOf(spec.remote)}-${spec.selector.protocol ?? 'any'}-${portsText(spec.selector)}`;
}

/** Splits [first, last] into blocks a value/mask pair covers exactly (largest aligned blocks first). */
export function alignedBlocks(first: number, last: number): { first: number; last: number }[] {
  const blocks: { first: number; last: number }[] = [];
  let at = first;
  while (at <= last) {
    let size = 1;
    while (at % (size * 2) === 0 && at + size * 2 - 1 <= last) size *= 2;
    blocks.push({ first: at, last: at + size - 1 });
    at += size;
  }
  return blocks;
}

/** strongSwan's `[proto/port]` suffixes for a selector: '' for any traffic, one per port block. */
export function protoPortSuffixes(selector: TrafficSelector): string[] {
  const { protocol } = selector;
  if (protocol === undefined) return [''];
  if (!Number.isInteger(protocol) || protocol < 0 || protocol > 255) throw new BackendError(`vici: protocol ${protocol} is not 0-255`);
  const ports = selector.ports ?? [];
  if (ports.length === 0) return [`[${protocol}]`];
  const icmp = ICMP_PROTOCOLS.has(protocol);
  const max = icmp ? 0xff : 0xffff;
  const out: string[] = [];
  for (const { first, last } of ports) {
    if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || last > max || first > last) {
      throw new BackendError(`vici: ${icmp ? 'ICMP type' : 'port'} range ${first}-${last} is not within 0-${max}`);
    }
    // An ICMP "port" is the type in the selector's port field; one selector per type keeps it exact.
    const blocks = icmp ? Array.from({ length: last - first + 1 }, (_, i) => ({ first: first + i, last: first + i })) : alignedBlocks(first, last);
    for (const b of blocks) out.push(`[${protocol}/${b.first === b.last ? b.first : `${b.first}-${b.last}`}]`);
  }
  if (out.length > MAX_TRAFFIC_SELECTORS) throw new BackendError(`vici: the selector needs ${out.length} traffic selectors, more than ${MAX_TRAFFIC_SELECTORS}`);
  return out;
}

const hostPrefix = (address: string, family: 4 | 6): string => `${address}/${family === 4 ? 32 : 128}`;
const anyNet = (family: 4 | 6): string => (family === 4 ? '0.0.0.0/0' : '::/0');

function checkedProposals(list: readonly string[] | undefined, what: string): readonly string[] | undefined {
  if (!list || list.length === 0) return undefined;
  for (const p of list) if (!PROPOSAL.test(p)) throw new BackendError(`vici: ${what} proposal ${JSON.stringify(p)} has characters outside [A-Za-z0-9_-]`);
  return list;
}

/**
 * Shunt conns (pass/drop) have no IKE part of their own, but charon still matches incoming IKE
 * against every conn, and one without auth rounds would take any peer (it was seen selected for
 * an unknown initiator). A remote identity in `.invalid` (RFC 6761 §6.4), for which no key is ever
 * loaded, keeps them out of peer config selection.
 */
export const SHUNT_REMOTE_ID = 'no-ike.oedns.invalid';

/** The load-conn plan of a spec: a trap (protect), a responder conn, or a pass/drop shunt. */
export function connConfig(spec: PolicySpec, local: LocalIdentity): ViciConnConfig {
  const name = connName(spec);
  const family = spec.family;
  const suffixes = protoPortSuffixes(spec.selector);
  const protocolOnly = spec.selector.protocol === undefined ? '' : `[${spec.selector.protocol}]`;
  const remoteTs = suffixes.map((s) => `${hostPrefix(spec.remote, family)}${s}`);
  const { action } = spec;
  if (action.kind === 'pass' || action.kind === 'block') {
    const localTs = [`${spec.local === undefined ? anyNet(family) : hostPrefix(spec.local, family)}${protocolOnly}`];
    return {
      name, version: 2, localAddrs: spec.local === undefined ? [] : [spec.local], remoteAddrs: [spec.remote],
      remote: { id: SHUNT_REMOTE_ID },
      children: { [childName(action)]: { mode: action.kind === 'pass' ? 'pass' : 'drop', startAction: 'trap', localTs, remoteTs } },
    };
  }
  if (!spec.peer) throw new BackendError(`vici: a ${action.kind} policy for ${spec.remote} needs the peer's identity and key`);
  const remote: ViciPubkeyAuth = { id: checkedFqdn(spec.peer.identity, 'peer identity'), pubkeysPem: [spec.peer.publicKeyPem] };
  const tunnel = action.kind === 'protect' && action.mode === 'tunnel';
  const gateway = tunnel ? action.gateway : undefined;
  if (tunnel && gateway === undefined) throw new BackendError(`vici: tunnel mode for ${spec.remote} has no gateway`);
  const child: ViciChildConfig = {
    mode: tunnel ? 'tunnel' : 'transport',
    startAction: action.kind === 'protect' ? 'trap' : 'none',
    espProposals: checkedProposals(spec.proposals?.esp, 'ESP'),
    localTs: [`dynamic${protocolOnly}`],
    remoteTs,
  };
  return {
    name, version: 2,
    localAddrs: spec.local === undefined ? [] : [spec.local],
    remoteAddrs: [gateway === undefined ? spec.remote : checkedAddress(gateway, family, 'gateway')],
    proposals: checkedProposals(spec.proposals?.ike, 'IKE'),
    local: { id: local.id, pubkeysPem: [local.publicKeyPem] },
    remote,
    children: { [childName(action)]: child },
  };
}

function parseSelector(protocol: string, ports: string): TrafficSelector | undefined {
  if (protocol === 'any') return ports === 'all' ? {} : undefined;
  const number = Number(protocol);
  if (!/^[0-9]{1,3}$/.test(protocol) || number > 255) return undefined;
  if (ports === 'all') return { protocol: number, ports: [] };
  const ranges = ports.split(',').map((p) => {
    const [first, last = first] = p.split(':');
    return { first: Number(first), last: Number(last) };
  });
  return ranges.every((r) => Number.isInteger(r.first) && Number.isInteger(r.last)) ? { protocol: number, ports: ranges } : undefined;
}

/**
 * A listed conn as the policy it is, from its name, child and addresses; undefined for conns that
 * are not oedns'. `peerKeyPem` finds the key charon holds for an identity (from list-certs).
 */
export function specFromListed(conn: ViciNamed, peerKeyPem: (id: string) => string | undefined): InstalledPolicy | undefined {
  if (!conn.name.startsWith(CONN_PREFIX)) return undefined;
  const [localField, remoteField, protocol, ports, ...rest] = conn.name.slice(CONN_PREFIX.length).split('-');
  if (localField === undefined || remoteField === undefined || protocol === undefined || ports === undefined || rest.length > 0) return undefined;
  const local = localField === 'any' ? undefined : addressOf(localField);
  const remote = addressOf(remoteField);
  if (local !== undefined && isIP(local) !== isIP(remote)) return undefined;
  const family = isIP(remote);
  if (family !== 4 && family !== 6) return undefined;
  const selector = parseSelector(protocol, ports);
  const children = conn.tree['children'];
  const [child] = isViciTree(children) ? Object.entries(children) : [];
  if (!selector || !child || !isViciTree(child[1])) return undefined;
  const mode = viciText(child[1]['mode']);
  let action: PolicyAction;
  if (child[0] === 'pass' || child[0] === 'block') action = { kind: child[0] };
  else if (child[0] === 'responder') action = { kind: 'responder' };
  else if (child[0] === 'protect') {
    const tunnel = mode === 'TUNNEL';
    action = { kind: 'protect', level: 'require', mode: tunnel ? 'tunnel' : 'transport', gateway: tunnel ? viciTextList(conn.tree['remote_addrs'])?.[0] : undefined };
  } else return undefined;
  const remoteAuth = conn.tree['remote-1'];
  const id = isViciTree(remoteAuth) ? viciText(remoteAuth['id']) : undefined;
  const peer = action.kind === 'protect' || action.kind === 'responder'
    ? (id === undefined ? undefined : { identity: `${id}.`, publicKeyPem: peerKeyPem(id) ?? '' })
    : undefined;
  return {
    family, local, remote, selector, action, peer, backend: 'vici', handle: conn.name,
  };
}
