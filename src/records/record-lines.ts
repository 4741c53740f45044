/**
 * The zone-file lines `oedns record` prints, like hash-slinger's `ipseckey` and `tlsa`: built
 * from a key or certificate, printed by the same printer `oedns lookup` uses, so every line reads
 * back through parseKeyRecordLine to the same RDATA.
 */
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { ConfigError, errorMessage } from '../core/errors.js';
import { RRType } from '../wire/constants.js';
import { ipv4Text, ipv6Text, parseIpv4, parseIpv6 } from './address.js';
import { encodeIpseckey, GatewayType, type IpseckeyGateway } from './ipseckey.js';
import { ipseckeyKeyField } from './public-key-rdata.js';
import { keyRecordLine } from './record-line.js';
import { absoluteName, textFailer } from './text.js';
import { encodeTlsa, TlsaMatchingType, TlsaSelector } from './tlsa.js';

export interface IpseckeyLineOptions {
  readonly name: string;
  /** PEM of a public key, a private key or a certificate: its public key goes in the record. */
  readonly keyPem: string;
  /** An IPv4 or IPv6 address, or a domain name; absent: no gateway (type 0). */
  readonly gateway?: string | undefined;
  readonly precedence: number;
  readonly ttlSeconds?: number | undefined;
}

export interface TlsaLineOptions {
  readonly name: string;
  /** The certificate, PEM or DER. */
  readonly certificate: string | Uint8Array;
  readonly usage: number;
  readonly selector: number;
  readonly matchingType: number;
  readonly port: number;
  readonly protocol: string;
  readonly ttlSeconds?: number | undefined;
}

const configFail = (flag: string) => (reason: string) => new ConfigError(`${flag}: ${reason}`);

function gateway(text: string | undefined): IpseckeyGateway {
  if (text === undefined || text === '' || text === '.') return { type: GatewayType.None };
  const v4 = parseIpv4(text);
  if (v4) return { type: GatewayType.Ipv4, address: ipv4Text(v4) };
  const v6 = parseIpv6(text);
  if (v6) return { type: GatewayType.Ipv6, address: ipv6Text(v6) };
  return { type: GatewayType.Name, name: absoluteName(text, '.', 'gateway', textFailer('--gateway')) };
}

function checkRange(value: number, flag: string, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new ConfigError(`${flag} ${value} is not an integer from 0 to ${max}`);
  return value;
}

function ttl(ttlSeconds: number | undefined): number | undefined {
  return ttlSeconds === undefined ? undefined : checkRange(ttlSeconds, '--ttl', 0x7fffffff);
}

/** `NAME [TTL] IN IPSECKEY precedence gateway-type algorithm gateway key`. */
export function ipseckeyLine(options: IpseckeyLineOptions): string {
  let key;
  try {
    key = createPublicKey(options.keyPem);
  } catch (error) {
    throw new ConfigError(`--key: not a PEM public or private key: ${errorMessage(error)}`, { cause: error });
  }
  const field = ipseckeyKeyField(key);
  const rdata = encodeIpseckey({
    precedence: checkRange(options.precedence, '--precedence', 0xff),
    gateway: gateway(options.gateway),
    ...field,
  });
  const name = absoluteName(options.name, '.', 'NAME', textFailer('record'));
  return keyRecordLine(name, ttl(options.ttlSeconds), RRType.IPSECKEY, rdata);
}

function associationData(certificate: X509Certificate, selector: number, matchingType: number): Uint8Array {
  let selected: Uint8Array;
  if (selector === TlsaSelector.Cert) selected = certificate.raw;
  else if (selector === TlsaSelector.Spki) selected = certificate.publicKey.export({ type: 'spki', format: 'der' });
  else throw configFail('--selector')(`${selector} cannot be computed; use 0 (full certificate) or 1 (SubjectPublicKeyInfo)`);
  if (matchingType === TlsaMatchingType.Full) return new Uint8Array(selected);
  if (matchingType === TlsaMatchingType.Sha256) return new Uint8Array(createHash('sha256').update(selected).digest());
  if (matchingType === TlsaMatchingType.Sha512) return new Uint8Array(createHash('sha512').update(selected).digest());
  throw configFail('--matching')(`${matchingType} cannot be computed; use 0 (full), 1 (SHA-256) or 2 (SHA-512)`);
}

/** `_PORT._PROTO.NAME [TTL] IN TLSA usage selector matching-type data` (RFC 6698 §3). */
export function tlsaLine(options: TlsaLineOptions): string {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(typeof options.certificate === 'string' ? options.certificate : Buffer.from(options.certificate));
  } catch (error) {
    throw new ConfigError(`--cert: not a PEM or DER X.509 certificate: ${errorMessage(error)}`, { cause: error });
  }
  if (!/^[a-z][a-z0-9-]*$/i.test(options.protocol)) throw new ConfigError(`--proto "${options.protocol}" is not a protocol name`);
  const rdata = encodeTlsa({
    usage: checkRange(options.usage, '--usage', 0xff),
    selector: checkRange(options.selector, '--selector', 0xff),
    matchingType: checkRange(options.matchingType, '--matching', 0xff),
    data: associationData(certificate, options.selector, options.matchingType),
  });
  const port = checkRange(options.port, '--port', 0xffff);
  const host = absoluteName(options.name, '.', 'NAME', textFailer('record'));
  const name = absoluteName(`_${port}._${options.protocol.toLowerCase()}.${host === '.' ? '' : host}`, '.', 'NAME', textFailer('record'));
  return keyRecordLine(name, ttl(options.ttlSeconds), RRType.TLSA, rdata);
}
