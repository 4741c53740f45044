/**
 * PolicySpec → kernel SPD entries. Every field that reaches an `ip` argv or an `ip -batch` line is
 * checked and re-serialised here, before any process runs: addresses are parsed (node:net) and
 * written back in canonical form, numbers are integers in range, words come from fixed tables.
 * A DNS name or any other text from the network has no field to travel in (CVE-2019-18934 was
 * Unbound's ipsecmod passing such text through a shell).
 *
 * Glossary: an *entry* is one kernel policy (one direction); a *pair* is the out and in entries
 * of one address pair and port; one spec with N ports becomes N pairs.
 */
import { BackendError } from '../../core/errors.js';
import { canonicalAddressText } from '../address.js';
import type { PolicySpec } from '../backend.js';

/**
 * IANA Protocol Numbers (https://www.iana.org/assignments/protocol-numbers), the ones this
 * backend installs, by the keyword iproute2 prints (from netbase's /etc/protocols).
 */
export const IpProtocol = {
  icmp: 1, tcp: 6, udp: 17, dccp: 33, gre: 47, esp: 50, ah: 51, 'ipv6-icmp': 58, sctp: 132,
} as const;
export type IpProtocol = (typeof IpProtocol)[keyof typeof IpProtocol];

/** Protocols whose selector has ports (iproute2: `sport`/`dport`). */
const PORT_PROTOCOLS: ReadonlySet<number> = new Set([IpProtocol.tcp, IpProtocol.udp, IpProtocol.dccp, IpProtocol.sctp]);
/** Protocols whose selector has an ICMP type (iproute2: `type`, kept in the sport field). */
const ICMP_PROTOCOLS: ReadonlySet<number> = new Set([IpProtocol.icmp, IpProtocol['ipv6-icmp']]);

/** Kernel entries one spec may expand to: an xfrm selector holds one port, not a range. */
export const MAX_PORTS_PER_SPEC = 64;

/**
 * oedns' entries carry a priority in [base, base + size): that band is how list() and removeAll()
 * recognise them (see xfrm-backend.ts for why not a mark). Lower numbers win in the kernel, so
 * `pass` sits below protect/block, and within each the more specific selector comes first.
 */
export const PRIORITY_BAND = { base: 0xed50, size: 0x100 } as const;
const PRIORITY_OFFSET = { pass: 0x00, other: 0x80, anyProtocol: 0x40, anyPort: 0x20, anyLocal: 0x10 } as const;

export type Direction = 'out' | 'in';

export interface XfrmSelector {
  /** `address/prefix`, prefix 0 (any) or a whole address. */
  readonly src: string;
  readonly dst: string;
  readonly protocol?: number | undefined;
  readonly sport?: number | undefined;
  readonly dport?: number | undefined;
  readonly icmpType?: number | undefined;
}

export interface XfrmTemplate {
  readonly mode: 'transport' | 'tunnel';
  readonly level: 'required' | 'use';
  /** Tunnel mode only: outer addresses; undefined means any (the kernel picks the source). */
  readonly src?: string | undefined;
  readonly dst?: string | undefined;
}

export interface XfrmEntry {
  readonly dir: Direction;
  readonly selector: XfrmSelector;
  readonly priority: number;
  readonly action: 'allow' | 'block';
  readonly tmpl?: XfrmTemplate | undefined;
}

export interface XfrmPair {
  readonly out: XfrmEntry;
  readonly in: XfrmEntry;
}

function reject(what: string): never {
  throw new BackendError(`xfrm: refused policy: ${what}`);
}

/** The canonical text of an address of `family`, or a BackendError; never the input text. */
export function canonicalAddress(text: unknown, family: 4 | 6, field: string): string {
  return canonicalAddressText(text, family) ?? reject(`${field} is not an IPv${family} address`);
}

function checkInteger(value: unknown, min: number, max: number, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) reject(`${field} out of range`);
  return value;
}

const KNOWN_PROTOCOLS: ReadonlySet<number> = new Set(Object.values(IpProtocol));

/** The remote ports (or ICMP types) of a selector, one by one; [undefined] for all. */
function expandPorts(spec: PolicySpec, protocol: number | undefined): readonly (number | undefined)[] {
  const ranges = spec.selector.ports ?? [];
  if (!Array.isArray(ranges)) reject('selector.ports is not a list');
  if (ranges.length === 0) return [undefined];
  if (protocol === undefined || !(PORT_PROTOCOLS.has(protocol) || ICMP_PROTOCOLS.has(protocol))) {
    reject(`ports need tcp, udp, dccp, sctp, icmp or ipv6-icmp, not protocol ${String(protocol)}`);
  }
  const max = ICMP_PROTOCOLS.has(protocol) ? 0xff : 0xffff;
  const ports: number[] = [];
  for (const range of ranges) {
    const first = checkInteger(range.first, 0, max, 'port');
    const last = checkInteger(range.last, first, max, 'port range end');
    if (ports.length + (last - first + 1) > MAX_PORTS_PER_SPEC) reject(`more than ${MAX_PORTS_PER_SPEC} ports`);
    for (let port = first; port <= last; port++) ports.push(port);
  }
  return ports;
}

function priorityOf(spec: PolicySpec, port: number | undefined): number {
  const o = PRIORITY_OFFSET;
  return PRIORITY_BAND.base + (spec.action.kind === 'pass' ? o.pass : o.other) +
    (spec.selector.protocol === undefined ? o.anyProtocol : 0) + (port === undefined ? o.anyPort : 0) + (spec.local === undefined ? o.anyLocal : 0);
}

function templates(spec: PolicySpec, local: string | undefined): { out?: XfrmTemplate; in?: XfrmTemplate; action: 'allow' | 'block' } {
  const action = spec.action;
  switch (action.kind) {
    case 'block': return { action: 'block' };
    case 'pass': return { action: 'allow' };
    case 'responder': return reject('responder needs an IKE backend');
    case 'protect': {
      const level = action.level === 'require' ? 'required' : action.level === 'use' ? 'use' : reject('level is not require|use');
      if (action.mode === 'transport') {
        if (action.gateway !== undefined) reject('a gateway needs tunnel mode');
        return { action: 'allow', out: { mode: 'transport', level }, in: { mode: 'transport', level } };
      }
      if (action.mode !== 'tunnel') reject('mode is not transport|tunnel');
      // Linux (seen on 6.18): "Mode in optional template not allowed in outbound policy".
      if (level === 'use') reject('tunnel mode needs level require: the kernel refuses optional tunnel templates outbound');
      const gateway = canonicalAddress(action.gateway, spec.family, 'gateway');
      return {
        action: 'allow',
        out: { mode: 'tunnel', level, src: local, dst: gateway },
        in: { mode: 'tunnel', level, src: gateway, dst: local },
      };
    }
    default: return reject('unknown action');
  }
}

/** Validates a spec and expands it into kernel pairs; throws BackendError before anything runs. */
export function specToPairs(spec: PolicySpec): readonly XfrmPair[] {
  if (spec.family !== 4 && spec.family !== 6) reject('family is not 4 or 6');
  const bits = spec.family === 4 ? 32 : 128;
  const any = spec.family === 4 ? '0.0.0.0/0' : '::/0';
  const remote = `${canonicalAddress(spec.remote, spec.family, 'remote')}/${bits}`;
  const localAddress = spec.local === undefined ? undefined : canonicalAddress(spec.local, spec.family, 'local');
  const local = localAddress === undefined ? any : `${localAddress}/${bits}`;
  const protocol = spec.selector.protocol === undefined ? undefined : checkInteger(spec.selector.protocol, 0, 255, 'protocol');
  if (protocol !== undefined && !KNOWN_PROTOCOLS.has(protocol)) reject(`protocol ${protocol} is not one this backend installs`);
  const { action, out, in: inbound } = templates(spec, localAddress);
  return expandPorts(spec, protocol).map((port) => {
    const icmp = protocol !== undefined && ICMP_PROTOCOLS.has(protocol);
    const priority = priorityOf(spec, port);
    return {
      // RFC 4301 §4.4.1: the outbound selector names the remote port as destination, the inbound one as source.
      out: { dir: 'out', priority, action, tmpl: out, selector: { src: local, dst: remote, protocol, dport: icmp ? undefined : port, icmpType: icmp ? port : undefined } },
      in: { dir: 'in', priority, action, tmpl: inbound, selector: { src: remote, dst: local, protocol, sport: icmp ? undefined : port, icmpType: icmp ? port : undefined } },
    };
  });
}

/** Whether a priority is in oedns' band. */
export function isOursPriority(priority: number): boolean {
  return priority >= PRIORITY_BAND.base && priority < PRIORITY_BAND.base + PRIORITY_BAND.size;
}
