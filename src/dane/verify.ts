import type { DaneInput, DaneVerdict } from './types.js';

/** Placeholder until verification lands. */
export function verifyDane(_input: DaneInput): DaneVerdict {
  throw new Error('verifyDane: not implemented yet');
}
