/**
 * Typed views of RDATA fields, decoded by @leichtgewicht/dns-packet from the bytes oedns keeps.
 * dns-packet's RDATA codecs start at the 2-byte RDLENGTH, so the bytes get that prefix first
 * (the same 2-byte length that frames a TCP message).
 */
import * as dnsPacket from '@leichtgewicht/dns-packet';
import { WireFormatError } from '../core/errors.js';
import { RRType, typeName } from './constants.js';
import { frame } from './framing.js';
import type { ResourceRecord } from './message.js';


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
    const soa = dnsPacket.soa.decode(frame(record.rdata), 0);
    return {
      mname: soa.mname, rname: soa.rname, serial: soa.serial ?? 0, refreshSeconds: soa.refresh ?? 0,
      retrySeconds: soa.retry ?? 0, expireSeconds: soa.expire ?? 0, minimumSeconds: soa.minimum ?? 0,
    };
  } catch (error) {
    throw new WireFormatError(`SOA RDATA of ${record.name} cannot be decoded`, { cause: error });
  }
}
