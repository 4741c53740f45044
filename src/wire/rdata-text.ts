/**
 * Records in presentation form (RFC 1035 §5.1), as `dig` prints them, for `oedns lookup` and
 * logs. Typed fields come from @leichtgewicht/dns-packet; types it does not know are printed in
 * the RFC 3597 generic form `\# <length> <hex>`.
 */
import * as dnsPacket from '@leichtgewicht/dns-packet';
import { className, RRType, typeName } from './constants.js';
import { frame } from './framing.js';
import type { ResourceRecord } from './message.js';
import { readName } from './name.js';

/**
 * Printers that other leaf folders register for their types. records/ prints IPSECKEY, TLSA and
 * CERT, and it imports wire/ for names and constants; wire/ importing records/ back would tie two
 * leaves into a cycle, so records/index.ts registers its printer here when it is loaded instead.
 * A printer throws for malformed RDATA, which then prints in the generic form.
 */
const registeredPrinters = new Map<number, (rdata: Uint8Array) => string>();

export function registerRdataPrinter(type: number, print: (rdata: Uint8Array) => string): void {
  registeredPrinters.set(type, print);
}

function generic(rdata: Uint8Array): string {
  return `\\# ${rdata.length}${rdata.length ? ` ${Buffer.from(rdata).toString('hex').toUpperCase()}` : ''}`;
}

function quoted(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) {
    if (byte === 0x22 || byte === 0x5c) text += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x7f) text += String.fromCharCode(byte);
    else text += `\\${byte.toString().padStart(3, '0')}`;
  }
  return `"${text}"`;
}

function txt(rdata: Uint8Array): string {
  const parts: string[] = [];
  for (let offset = 0; offset < rdata.length; offset += 1 + rdata[offset]!) {
    parts.push(quoted(rdata.subarray(offset + 1, offset + 1 + rdata[offset]!)));
  }
  return parts.join(' ');
}

/** YYYYMMDDHHMMSS, the RRSIG time form (RFC 4034 §3.2). */
function rrsigTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function base64(bytes: Uint8Array | undefined): string {
  return Buffer.from(bytes ?? []).toString('base64');
}

function typed(record: ResourceRecord): string {
  const { rdata } = record;
  const registered = registeredPrinters.get(record.type);
  if (registered) return registered(rdata);
  const decode = <T>(type: string): T => dnsPacket.enc(type).decode(frame(rdata), 0) as T;
  switch (record.type) {
    case RRType.A:
      return rdata.length === 4 ? Array.from(rdata).join('.') : generic(rdata);
    case RRType.AAAA:
      return decode<string>('AAAA');
    case RRType.NS: case RRType.CNAME: case RRType.PTR: case RRType.DNAME:
      return readName(rdata, 0).name;
    case RRType.MX: {
      const mx = decode<{ preference: number; exchange: string }>('MX');
      return `${mx.preference} ${readName(rdata, 2).name}`;
    }
    case RRType.TXT:
      return txt(rdata);
    case RRType.SOA: {
      const mname = readName(rdata, 0);
      const rname = readName(rdata, mname.length);
      const numbers = new DataView(rdata.buffer, rdata.byteOffset + mname.length + rname.length, 20);
      return [mname.name, rname.name, ...[0, 4, 8, 12, 16].map((o) => numbers.getUint32(o))].join(' ');
    }
    case RRType.DS: {
      const ds = decode<{ keyTag: number; algorithm: number; digestType: number; digest: Uint8Array }>('DS');
      return `${ds.keyTag} ${ds.algorithm} ${ds.digestType} ${Buffer.from(ds.digest).toString('hex').toUpperCase()}`;
    }
    case RRType.DNSKEY: {
      const key = decode<{ flags: number; algorithm: number; key: Uint8Array }>('DNSKEY');
      return `${key.flags} ${rdata[2]} ${key.algorithm} ${base64(key.key)}`;
    }
    case RRType.RRSIG: {
      const sig = decode<{ typeCovered: string; algorithm: number; labels: number; originalTTL: number; expiration: number; inception: number; keyTag: number; signersName: string; signature: Uint8Array }>('RRSIG');
      return [sig.typeCovered, sig.algorithm, sig.labels, sig.originalTTL, rrsigTime(sig.expiration), rrsigTime(sig.inception), sig.keyTag, `${sig.signersName.replace(/\.?$/, '.')}`, base64(sig.signature)].join(' ');
    }
    default:
      return generic(rdata);
  }
}

/** One record as a zone-file line: owner, TTL, class, type, RDATA. */
export function recordText(record: ResourceRecord): string {
  let data: string;
  try {
    data = typed(record);
  } catch {
    data = generic(record.rdata);
  }
  return `${record.name}\t${record.ttl}\t${className(record.class)}\t${typeName(record.type)}\t${data}`;
}
