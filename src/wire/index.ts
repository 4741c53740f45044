export * from './constants.js';
export type { Question, ResourceRecord, Edns, EdnsOption, Header, Message, RawHeader } from './message.js';
export { decodeMessage, readHeader } from './message.js';
export { encodeMessage } from './encode.js';
export { canonicalName, nameKey, namesEqual, normalizeName, readName } from './name.js';
export { readPlainQuery, type PlainQuery } from './plain-query.js';
export { decodeSoa, type SoaFields } from './rdata.js';
export { FrameReader, frame } from './framing.js';
export { ageTtls, forEachTtl } from './ttl-offsets.js';
