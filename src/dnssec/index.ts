export * from './verdict.js';
export * from './limits.js';
export { canonicalLabels, canonicalNameWire, compareCanonical, isSubdomain, labelCount } from './canonical-name.js';
