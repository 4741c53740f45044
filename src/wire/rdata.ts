/**
 * Typed views of RDATA fields, decoded by @leichtgewicht/dns-packet from the bytes oedns keeps.
 * dns-packet's RDATA codecs start at the 2-byte RDLENGTH, so the bytes are framed first.
 */
import * as dnsPacket from '@leichtgewicht/dns-packet';
import { WireFormatError } from '../core/errors.js';
import { RRType, typeName } from './constants.js';
import type { ResourceRecord } from './message.js';

function framed(rdata: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(rdata.length + 2);
  bytes[0] = rdata.length >>> 8;
  bytes[1] = rdata.length & 0xff;
  bytes.set(rdata, 2);
  return bytes;
}

export interface SoaFields {
  readonly mname: string;
  readonly rname: string;
  readonly serial: number;
  readonly refreshSeconds: number;
  readonly retrySeconds: number;
  readonly expireSeconds: number;
  /** RFC 2308 §4: the negative-caching TTL. */
  readonly minimumSeconds: number;
}

export function decodeSoa(record: ResourceRecord): SoaFields {
  if (record.type !== RRType.SOA) throw new WireFormatError(`${record.name} ${typeName(record.type)} is not an SOA record`);
  try {
    const soa = dnsPacket.soa.decode(framed(record.rdata), 0);
    return {
      mname: soa.mname, rname: soa.rname, serial: soa.serial ?? 0, refreshSeconds: soa.refresh ?? 0,
      retrySeconds: soa.retry ?? 0, expireSeconds: soa.expire ?? 0, minimumSeconds: soa.minimum ?? 0,
    };
  } catch (error) {
    throw new WireFormatError(`SOA RDATA of ${record.name} cannot be decoded`, { cause: error });
  }
}
