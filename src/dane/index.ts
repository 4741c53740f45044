export { verifyDane } from './verify.js';
export { chainFromPeerCertificate } from './peer-chain.js';
export { recordLabel, certLabel } from './association.js';
export type { DaneFailureCode, DaneInput, DaneVerdict } from './types.js';
