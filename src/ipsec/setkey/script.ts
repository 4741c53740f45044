/**
 * A PolicySpec as setkey(8) SPD statements (ipsec-tools / KAME syntax, as in seed 004):
 *
 *   spdadd 10.0.0.22/32 10.0.0.23/32 any -P out ipsec esp/transport//require;
 *   spdadd 10.0.0.23/32 10.0.0.22/32 any -P in ipsec esp/transport//require;
 *
 * Glossary (setkey(8)): src_range/dst_range `address/prefixlen[port]`; upperspec the upper-layer
 * protocol (`any`, a name, or a number) optionally followed by ICMP `type,code`; policy
 * `-P direction discard|none|ipsec protocol/mode/src-dst/level`. In tunnel mode src-dst are the SA
 * end points, ours first for `out` and the gateway's first for `in`.
 *
 * Every value is re-serialised here (addresses by text.ts, numbers by String()), so nothing from
 * DNS reaches the script as text. The SPD matches entries in insertion order (KAME) or by priority
 * then insertion order (Linux PF_KEY without `prio`): narrower entries must be added before the
 * broad one for the same pair, as pipeline/intents.ts orders them.
 */
import { BackendError } from '../../core/errors.js';
import type { PolicySpec } from '../backend.js';
import { canonicalAddress } from './text.js';

/** IANA Assigned Internet Protocol Numbers: the protocols setkey names, or where oedns selects ports or types. */
export const IpProtocol = { Icmp: 1, Tcp: 6, Udp: 17, Icmpv6: 58, Sctp: 132 } as const;
export type IpProtocol = (typeof IpProtocol)[keyof typeof IpProtocol];

/** setkey's words for upper-layer protocols (`icmp6` is its own keyword; the others are in /etc/protocols). */
const UPPERSPEC_NAMES: ReadonlyMap<number, string> = new Map([
  [IpProtocol.Icmp, 'icmp'], [IpProtocol.Tcp, 'tcp'], [IpProtocol.Udp, 'udp'], [IpProtocol.Icmpv6, 'icmp6'],
]);
const PORT_PROTOCOLS: ReadonlySet<number> = new Set([IpProtocol.Tcp, IpProtocol.Udp, IpProtocol.Sctp]);
const ICMP_PROTOCOLS: ReadonlySet<number> = new Set([IpProtocol.Icmp, IpProtocol.Icmpv6]);

/**
 * setkey takes one port (or ICMP type) per entry, so a range becomes one entry per value. A wider
 * range than this is refused rather than turned into thousands of SPD entries.
 */
export const MAX_SELECTOR_VALUES = 64;

export type Direction = 'out' | 'in';

/** One SPD entry, every field already in setkey syntax. */
export interface SpdEntry {
  readonly srcRange: string;
  readonly dstRange: string;
  readonly upperspec: string;
  readonly direction: Direction;
  /** `discard`, `none` or `ipsec esp/MODE/ENDPOINTS/LEVEL`. */
  readonly policy: string;
}

function hostRange(address: string | undefined, family: 4 | 6): string {
  if (address === undefined) return family === 4 ? '0.0.0.0/0' : '::/0';
  return `${canonicalAddress(address, family)}/${family === 4 ? 32 : 128}`;
}

/** The values a selector lists (ports or ICMP types), each range expanded. */
function selectorValues(spec: PolicySpec): number[] {
  const values: number[] = [];
  for (const { first, last } of spec.selector.ports ?? []) {
    if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || last > 0xffff || first > last) {
      throw new BackendError(`invalid port or type range ${first}-${last} for ${spec.remote}`);
    }
    if (values.length + (last - first + 1) > MAX_SELECTOR_VALUES) {
      throw new BackendError(`selector for ${spec.remote} lists more than ${MAX_SELECTOR_VALUES} ports or types; setkey needs one entry each`);
    }
    for (let v = first; v <= last; v += 1) values.push(v);
  }
  return values;
}

function upperspecName(protocol: number | undefined): string {
  if (protocol === undefined) return 'any';
  if (!Number.isInteger(protocol) || protocol < 0 || protocol > 255) throw new BackendError(`invalid IP protocol ${protocol}`);
  return UPPERSPEC_NAMES.get(protocol) ?? String(protocol);
}

function actionPolicy(spec: PolicySpec, direction: Direction, local: string | undefined): string {
  const { action } = spec;
  switch (action.kind) {
    case 'block':
      return 'discard';
    case 'pass':
      return 'none';
    case 'protect': {
      if (action.mode === 'transport') return `ipsec esp/transport//${action.level}`;
      if (local === undefined) throw new BackendError(`tunnel mode to ${spec.remote} needs the local address as SA end point`);
      const gateway = canonicalAddress(action.gateway ?? spec.remote, spec.family);
      const ends = direction === 'out' ? `${local}-${gateway}` : `${gateway}-${local}`;
      return `ipsec esp/tunnel/${ends}/${action.level}`;
    }
    case 'responder':
      throw new BackendError(`setkey cannot express a responder-only entry for ${spec.remote} (an IKE daemon's job)`);
  }
}

/**
 * The SPD entries of one spec: for each port or ICMP type (or once, for all traffic), `out` then
 * `in`. Ports in the selector are the remote side's: destination going out, source coming in.
 */
export function spdEntries(spec: PolicySpec): SpdEntry[] {
  const local = spec.local === undefined ? undefined : canonicalAddress(spec.local, spec.family);
  const localRange = hostRange(local, spec.family);
  const remoteRange = hostRange(spec.remote, spec.family);
  const protocol = spec.selector.protocol;
  const name = upperspecName(protocol);
  const values = selectorValues(spec);
  const policies = { out: actionPolicy(spec, 'out', local), in: actionPolicy(spec, 'in', local) };
  const pair = (remoteSuffix: string, upperspec: string): SpdEntry[] => [
    { srcRange: localRange, dstRange: remoteRange + remoteSuffix, upperspec, direction: 'out', policy: policies.out },
    { srcRange: remoteRange + remoteSuffix, dstRange: localRange, upperspec, direction: 'in', policy: policies.in },
  ];
  if (values.length === 0) return pair('', name);
  if (protocol !== undefined && PORT_PROTOCOLS.has(protocol)) return values.flatMap((port) => pair(`[${port}]`, name));
  if (protocol !== undefined && ICMP_PROTOCOLS.has(protocol)) {
    return values.flatMap((type) => {
      // setkey(8): "When a zero is specified, the kernel deals with it as a wildcard"; type 0
      // (echo reply) would silently widen the entry to all ICMP.
      if (type === 0 || type > 0xff) throw new BackendError(`ICMP type ${type} cannot be selected with setkey (0 is the wildcard)`);
      return pair('', `${name} ${type},0`);
    });
  }
  throw new BackendError(`ports given for protocol ${protocol ?? 'any'} to ${spec.remote}; setkey selects ports for TCP, UDP and SCTP only`);
}

/** `spdadd` statements, one a line, in the order given. */
export function addScript(entries: readonly SpdEntry[]): string {
  return entries.map((e) => `spdadd ${e.srcRange} ${e.dstRange} ${e.upperspec} -P ${e.direction} ${e.policy};\n`).join('');
}

/** `spddelete` statements for the entries, in the order given. */
export function deleteScript(entries: readonly SpdEntry[]): string {
  return entries.map((e) => `spddelete ${e.srcRange} ${e.dstRange} ${e.upperspec} -P ${e.direction};\n`).join('');
}
