export { verifyDane } from './verify.js';
export type { DaneFailureCode, DaneInput, DaneVerdict } from './types.js';
