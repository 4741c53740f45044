/** Readers for the fields of a rule that are more than one word: names, networks, selectors, ports. */
import { isMap, type Node } from 'yaml';
import { formatCidr, isMappedRange, parseCidr, type Cidr } from './cidr.js';
import { parseDomainPattern, type DomainPattern } from './domain-pattern.js';
import type { IkeProposals, PortRange, TlsaPort } from './rule.js';
import type { YamlReader } from './yaml-reader.js';
import { PROTOCOL_NAMES } from './vocabulary.js';

const MAX_PORT = 65_535;

export function readDomains(reader: YamlReader, node: Node): readonly DomainPattern[] | undefined {
  const items = reader.strings(node, 'domains');
  if (items === undefined) return undefined;
  const patterns: DomainPattern[] = [];
  for (const item of items) {
    const pattern = parseDomainPattern(item.value);
    if (typeof pattern === 'string') return reader.fail(item.node, `bad domain in "domains": ${pattern}`);
    patterns.push(pattern);
  }
  return patterns.some((p) => p.kind === 'any') ? [] : patterns;
}

export function readNetworks(reader: YamlReader, node: Node): readonly Cidr[] | undefined {
  const items = reader.strings(node, 'networks');
  if (items === undefined) return undefined;
  const networks: Cidr[] = [];
  for (const item of items) {
    const cidr = parseCidr(item.value);
    if (typeof cidr === 'string') return reader.fail(item.node, `bad CIDR in "networks": ${cidr}`);
    if (isMappedRange(cidr)) {
      return reader.fail(item.node, `bad CIDR in "networks": ${formatCidr(cidr)} is IPv4-mapped; write the IPv4 network (mapped addresses are matched as IPv4)`);
    }
    networks.push(cidr);
  }
  return networks;
}

/** `tcp`, `udp`, `sctp`, `icmp`, `ipv6-icmp` (or `icmpv6`), `any`, or a protocol number. */
export function readProtocol(reader: YamlReader, node: Node): number | 'any' | undefined {
  const value = reader.scalar(node, 'protocol');
  if (value === undefined) return undefined;
  if (value === 'any') return 'any';
  if (typeof value === 'string' && PROTOCOL_NAMES[value] !== undefined) return PROTOCOL_NAMES[value];
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 255) return value;
  return reader.fail(node, `unknown protocol "${String(value)}"; known: any, ${Object.keys(PROTOCOL_NAMES).join(', ')}, or a number from 0 to 255`);
}

function readPortRange(reader: YamlReader, value: unknown, node: Node, key: string): PortRange | undefined {
  const text = String(value);
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const first = Number(match?.[1]);
  const last = match?.[2] === undefined ? first : Number(match[2]);
  if (!match || (typeof value !== 'number' && typeof value !== 'string') || first < 1 || last > MAX_PORT || first > last) {
    return reader.fail(node, `bad port "${text}" in "${key}": a port from 1 to ${MAX_PORT}, or a range "first-last"`);
  }
  return { first, last };
}

export function readPorts(reader: YamlReader, node: Node): readonly PortRange[] | undefined {
  const items = reader.items(node, 'ports');
  if (items === undefined) return undefined;
  const ranges: PortRange[] = [];
  for (const item of items) {
    const range = readPortRange(reader, item.value, item.node, 'ports');
    if (range === undefined) return undefined;
    ranges.push(range);
  }
  return ranges;
}

export function readIcmpTypes(reader: YamlReader, node: Node): readonly number[] | undefined {
  const items = reader.items(node, 'icmp-types');
  if (items === undefined) return undefined;
  const bad = items.find((i) => typeof i.value !== 'number' || !Number.isInteger(i.value) || i.value < 0 || i.value > 255);
  if (bad) return reader.fail(bad.node, `bad ICMP type "${String(bad.value)}" in "icmp-types": a number from 0 to 255`);
  return items.map((i) => i.value as number);
}

/** `443` (TCP) or `"853/udp"`. */
export function readTlsaPorts(reader: YamlReader, node: Node): readonly TlsaPort[] | undefined {
  const items = reader.items(node, 'tlsa-ports');
  if (items === undefined) return undefined;
  const ports: TlsaPort[] = [];
  for (const item of items) {
    const match = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(String(item.value));
    const port = Number(match?.[1]);
    if (!match || (typeof item.value !== 'number' && typeof item.value !== 'string') || port < 1 || port > MAX_PORT) {
      return reader.fail(item.node, `bad TLSA port "${String(item.value)}" in "tlsa-ports": a port from 1 to ${MAX_PORT}, optionally "/tcp", "/udp" or "/sctp"`);
    }
    ports.push({ port, protocol: (match[2] ?? 'tcp') as TlsaPort['protocol'] });
  }
  return ports;
}

/** strongSwan proposal keywords joined by dashes: `aes256gcm16-prfsha384-x25519`, `default`. */
const PROPOSAL = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

export function readProposals(reader: YamlReader, node: Node): IkeProposals | undefined {
  const entries = reader.mapping(node, '"proposals"', ['ike', 'esp']);
  if (entries === undefined) return undefined;
  const read = (key: 'ike' | 'esp'): readonly string[] | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return [];
    const items = reader.strings(entry.value, `proposals.${key}`);
    const bad = items?.find((i) => !PROPOSAL.test(i.value));
    if (bad) return reader.fail(bad.node, `bad ${key.toUpperCase()} proposal "${bad.value}": strongSwan keywords joined by "-", e.g. aes256gcm16-x25519`);
    return items?.map((i) => i.value);
  };
  const ike = read('ike');
  const esp = read('esp');
  if (isMap(node) && node.items.length === 0) return reader.fail(node, '"proposals" is empty; give "ike" or "esp"');
  return ike === undefined || esp === undefined ? undefined : { ike, esp };
}
