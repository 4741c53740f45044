/**
 * The three key record types side by side: RDATA bytes to dig's text and zone-file text to RDATA
 * bytes, each through the type's strict decoder, so whatever comes out re-reads identically.
 */
import { RRType, typeName } from '../wire/constants.js';
import { certText, decodeCert, encodeCert, parseCertText } from './cert.js';
import { decodeIpseckey, encodeIpseckey, ipseckeyText, parseIpseckeyText } from './ipseckey.js';
import { hexField, textFailer, tokenize, unsignedField } from './text.js';
import { decodeTlsa, encodeTlsa, parseTlsaText, tlsaText } from './tlsa.js';

/** The RR types this folder reads and prints. */
export const KEY_RECORD_TYPES: readonly number[] = [RRType.IPSECKEY, RRType.TLSA, RRType.CERT];

export function isKeyRecordType(type: number): boolean {
  return KEY_RECORD_TYPES.includes(type);
}

/** RDATA as dig +nosplit prints it; WireFormatError if the RDATA is malformed. */
export function keyRdataText(type: number, rdata: Uint8Array, owner?: string): string {
  switch (type) {
    case RRType.IPSECKEY:
      return ipseckeyText(decodeIpseckey(rdata, owner));
    case RRType.TLSA:
      return tlsaText(decodeTlsa(rdata, owner));
    case RRType.CERT:
      return certText(decodeCert(rdata, owner));
    default:
      throw new RangeError(`${typeName(type)} is not a key record type`);
  }
}

/**
 * RDATA text to wire bytes. Also reads the RFC 3597 §5 generic form `\# <length> <hex>`, checked
 * by the type's decoder like anything from the wire.
 */
export function parseKeyRdataText(type: number, text: string, origin = '.', owner?: string): Uint8Array {
  const name = typeName(type);
  const fail = textFailer(name, owner);
  const tokens = tokenize(text, fail);
  if (tokens[0] === '\\#') {
    const length = unsignedField(tokens[1], 'generic RDATA length', 0xffff, fail);
    const rdata = length === 0 && tokens.length === 2 ? new Uint8Array(0) : hexField(tokens.slice(2), 'generic RDATA', fail);
    if (rdata.length !== length) throw fail(`generic RDATA has ${rdata.length} bytes, not the ${length} announced`);
    keyRdataText(type, rdata, owner);
    return rdata;
  }
  switch (type) {
    case RRType.IPSECKEY:
      return encodeIpseckey(parseIpseckeyText(text, origin, owner));
    case RRType.TLSA:
      return encodeTlsa(parseTlsaText(text, owner));
    case RRType.CERT:
      return encodeCert(parseCertText(text, owner));
    default:
      throw fail('is not a key record type (IPSECKEY, TLSA, CERT)');
  }
}
