/**
 * Key records: IPSECKEY (RFC 4025), TLSA (RFC 6698), CERT (RFC 4398) — wire and presentation
 * codecs, the keys and certificates they carry as node:crypto objects, and `oedns record`.
 */
import { registerRdataPrinter } from '../wire/rdata-text.js';
import { KEY_RECORD_TYPES, keyRdataText } from './rdata-text.js';

export { KeyFormatError, PresentationError } from './errors.js';
export {
  decodeIpseckey, encodeIpseckey, GatewayType, IpseckeyAlgorithm, ipseckeyText, parseIpseckeyText,
  type IpseckeyGateway, type IpseckeyRdata,
} from './ipseckey.js';
export { decodeTlsa, encodeTlsa, parseTlsaText, TlsaMatchingType, TlsaSelector, TlsaUsage, tlsaText, type TlsaRdata } from './tlsa.js';
export {
  CertAlgorithm, certAlgorithmText, certText, CertType, certTypeText, decodeCert, encodeCert, parseCertText, type CertRdata,
} from './cert.js';
export { ipseckeyPublicKey, type IpseckeyKeyType, type IpseckeyPublicKey } from './ipseckey-key.js';
export { ipseckeyKeyField, type IpseckeyKeyField } from './public-key-rdata.js';
export { certMaterial, type CertMaterial } from './cert-material.js';
export { isKeyRecordType, KEY_RECORD_TYPES, keyRdataText, parseKeyRdataText } from './rdata-text.js';
export { keyRecordLine, parseKeyRecordLine, type KeyRecordLine } from './record-line.js';
export { ipseckeyLine, tlsaLine, type IpseckeyLineOptions, type TlsaLineOptions } from './record-lines.js';
export { recordCommand, type RecordOutput } from './record-command.js';
export { ipv4Text, ipv6Text, parseIpv4, parseIpv6 } from './address.js';

// wire/ prints records for `oedns lookup` but cannot import this folder (records/ imports wire/),
// so loading records/ hands wire/ the printer for its three types (see wire/rdata-text.ts).
for (const type of KEY_RECORD_TYPES) registerRdataPrinter(type, (rdata) => keyRdataText(type, rdata));
