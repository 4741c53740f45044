/**
 * IPSECKEY (RFC 4025): a public key for IPsec, with an optional gateway.
 *
 *   precedence (1) | gateway type (1) | algorithm (1) | gateway (0, 4, 16 or a name) | public key (rest)
 *
 * Presentation (RFC 4025 §3.1): `precedence gateway-type algorithm gateway base64-key`, with `.`
 * for "no gateway". Printed as dig +nosplit prints it.
 */
import { ipv4Text, ipv6Text, parseIpv4, parseIpv6 } from './address.js';
import { digNameText, nameWire, readUncompressedName } from './name-text.js';
import { RdataReader, rdataLabel } from './rdata-reader.js';
import { absoluteName, base64Field, base64Text, textFailer, tokenize, unsignedField } from './text.js';

/** RFC 4025 §2.3 — IPSECKEY gateway type (IANA "IPSECKEY Resource Record Parameters"). */
export const GatewayType = { None: 0, Ipv4: 1, Ipv6: 2, Name: 3 } as const;
export type GatewayType = (typeof GatewayType)[keyof typeof GatewayType];

/**
 * IANA "IPSECKEY Resource Record Parameters", Algorithm Type Field (RFC 4025 §2.4, RFC 8005 for
 * ECDSA, RFC 9373 for EdDSA). Values missing here are kept as numbers; ipseckeyPublicKey reports
 * them as unsupported.
 */
export const IpseckeyAlgorithm = { None: 0, Dsa: 1, Rsa: 2, Ecdsa: 3, EdDsa: 4 } as const;
export type IpseckeyAlgorithm = (typeof IpseckeyAlgorithm)[keyof typeof IpseckeyAlgorithm];

export type IpseckeyGateway =
  | { readonly type: typeof GatewayType.None }
  /** Address in the text form BIND prints (`2001:db8::1`). */
  | { readonly type: typeof GatewayType.Ipv4 | typeof GatewayType.Ipv6; readonly address: string }
  /** Absolute name in oedns' presentation form (wire/name.ts). */
  | { readonly type: typeof GatewayType.Name; readonly name: string };

export interface IpseckeyRdata {
  /** RFC 4025 §2.2: lower values are tried first. */
  readonly precedence: number;
  readonly gateway: IpseckeyGateway;
  readonly algorithm: number;
  /** Empty when there is no key (RFC 4025 §2.4: algorithm 0). */
  readonly publicKey: Uint8Array;
}

/** Strict: truncated, overlong, compressed or unknown-gateway RDATA is a WireFormatError. */
export function decodeIpseckey(rdata: Uint8Array, owner?: string): IpseckeyRdata {
  const reader = new RdataReader(rdata, rdataLabel('IPSECKEY', owner));
  const precedence = reader.u8('precedence');
  const gatewayType = reader.u8('gateway type');
  const algorithm = reader.u8('algorithm');
  const gateway = readGateway(reader, gatewayType);
  return { precedence, gateway, algorithm, publicKey: reader.rest('public key') };
}

function readGateway(reader: RdataReader, gatewayType: number): IpseckeyGateway {
  switch (gatewayType) {
    case GatewayType.None:
      return { type: GatewayType.None };
    case GatewayType.Ipv4:
      return { type: GatewayType.Ipv4, address: ipv4Text(reader.bytes(4, 'IPv4 gateway')) };
    case GatewayType.Ipv6:
      return { type: GatewayType.Ipv6, address: ipv6Text(reader.bytes(16, 'IPv6 gateway')) };
    case GatewayType.Name:
      return { type: GatewayType.Name, name: readUncompressedName(reader, 'gateway name') };
    default:
      // The gateway type says how long the gateway is (RFC 4025 §2.3); with an unknown one the
      // public key cannot be found, so the record cannot be read (BIND refuses it too).
      throw reader.fail(`gateway type ${gatewayType} is not defined (RFC 4025 §2.3 defines 0-3), so the gateway and key cannot be located`);
  }
}

function gatewayWire(gateway: IpseckeyGateway): Uint8Array {
  switch (gateway.type) {
    case GatewayType.None:
      return new Uint8Array(0);
    case GatewayType.Ipv4:
    case GatewayType.Ipv6: {
      const bytes = gateway.type === GatewayType.Ipv4 ? parseIpv4(gateway.address) : parseIpv6(gateway.address);
      if (!bytes) throw textFailer('IPSECKEY')(`gateway "${gateway.address}" is not an IPv${gateway.type === GatewayType.Ipv4 ? 4 : 6} address`);
      return bytes;
    }
    case GatewayType.Name:
      return nameWire(gateway.name);
  }
}

export function encodeIpseckey(record: IpseckeyRdata): Uint8Array {
  const gateway = gatewayWire(record.gateway);
  const out = new Uint8Array(3 + gateway.length + record.publicKey.length);
  out.set([record.precedence, record.gateway.type, record.algorithm]);
  out.set(gateway, 3);
  out.set(record.publicKey, 3 + gateway.length);
  return out;
}

function gatewayText(gateway: IpseckeyGateway): string {
  switch (gateway.type) {
    case GatewayType.None:
      return '.';
    case GatewayType.Ipv4:
    case GatewayType.Ipv6:
      return gateway.address;
    case GatewayType.Name:
      return digNameText(gateway.name);
  }
}

/** `10 1 2 192.0.2.38 AQNRU3mG…`, as dig +nosplit prints it (no key: nothing after the gateway). */
export function ipseckeyText(record: IpseckeyRdata): string {
  const head = `${record.precedence} ${record.gateway.type} ${record.algorithm} ${gatewayText(record.gateway)}`;
  return record.publicKey.length > 0 ? `${head} ${base64Text(record.publicKey)}` : head;
}

/**
 * Reads RFC 4025 §3.1 text (parentheses and comments allowed). A relative gateway name is taken
 * relative to `origin` (default the root). The key may be absent (RFC 4025 §2.4), though BIND
 * 9.18 insists on one.
 */
export function parseIpseckeyText(text: string, origin = '.', owner?: string): IpseckeyRdata {
  const fail = textFailer('IPSECKEY', owner);
  const tokens = tokenize(text, fail);
  const precedence = unsignedField(tokens[0], 'precedence', 0xff, fail);
  const gatewayType = unsignedField(tokens[1], 'gateway type', 0xff, fail);
  const algorithm = unsignedField(tokens[2], 'algorithm', 0xff, fail);
  const token = tokens[3];
  if (token === undefined) throw fail('gateway is missing');
  let gateway: IpseckeyGateway;
  switch (gatewayType) {
    case GatewayType.None:
      if (token !== '.') throw fail(`gateway type 0 needs "." as its gateway, not "${token}" (RFC 4025 §3.1)`);
      gateway = { type: GatewayType.None };
      break;
    case GatewayType.Ipv4:
    case GatewayType.Ipv6: {
      const bytes = gatewayType === GatewayType.Ipv4 ? parseIpv4(token) : parseIpv6(token);
      if (!bytes) throw fail(`gateway "${token}" is not an IPv${gatewayType === GatewayType.Ipv4 ? 4 : 6} address`);
      gateway = { type: gatewayType, address: gatewayType === GatewayType.Ipv4 ? ipv4Text(bytes) : ipv6Text(bytes) };
      break;
    }
    case GatewayType.Name:
      gateway = { type: GatewayType.Name, name: absoluteName(token, origin, 'gateway', fail) };
      break;
    default:
      throw fail(`gateway type ${gatewayType} is not defined (RFC 4025 §2.3 defines 0-3)`);
  }
  const publicKey = tokens.length > 4 ? base64Field(tokens.slice(4), 'public key', fail) : new Uint8Array(0);
  return { precedence, gateway, algorithm, publicKey };
}
