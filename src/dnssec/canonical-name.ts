/**
 * Names in DNSSEC's canonical forms (RFC 4034 §6.1, §6.2): the wire form with ASCII letters
 * lowercased, and the canonical ordering of names (label by label from the right, each label
 * compared as unsigned bytes after lowercasing).
 */
import { labelsToWire, nameToLabels } from '../wire/name.js';

function lowerLabel(label: Uint8Array): Uint8Array {
  const out = new Uint8Array(label.length);
  for (let i = 0; i < label.length; i++) {
    const byte = label[i]!;
    out[i] = byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
  }
  return out;
}

/** Lowercased labels of a presentation name, leftmost first, root excluded. */
export function canonicalLabels(name: string): Uint8Array[] {
  return nameToLabels(name).map(lowerLabel);
}

/** RFC 4034 §6.2: uncompressed wire form with ASCII letters lowercased. */
export function canonicalNameWire(name: string): Uint8Array {
  return labelsToWire(canonicalLabels(name));
}


/** Printable ASCII without escapes: the usual name, whose labels can be compared as strings. */
const PLAIN_NAME = /^[\x21-\x5b\x5d-\x7e]*$/;
const MAX_LABEL_CHARS = 63;
const MAX_PLAIN_NAME_CHARS = 253;

/**
 * Lowercased labels of a name written without escapes, rightmost label last; undefined for any
 * other name (escapes, empty or over-long labels), which takes the byte-wise path and its errors.
 * For such names, comparing lowercased strings is comparing RFC 4034 §6.1 canonical bytes.
 */
function plainLabels(name: string): string[] | undefined {
  if (name === '.' || name === '') return [];
  if (name.length > MAX_PLAIN_NAME_CHARS + 1 || !PLAIN_NAME.test(name)) return undefined;
  const labels = name.toLowerCase().split('.');
  if (labels[labels.length - 1] === '') labels.pop();
  for (const label of labels) if (label.length === 0 || label.length > MAX_LABEL_CHARS) return undefined;
  return labels;
}

/** Number of labels, not counting the root (and, for RRSIG Labels, not a leading `*`, RFC 4034 §3.1.3). */
export function labelCount(name: string): number {
  return (plainLabels(name) ?? nameToLabels(name)).length;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** RFC 4034 §6.1 canonical ordering: negative if a sorts before b, 0 if equal, positive after. */
export function compareCanonical(a: string, b: string): number {
  const pa = plainLabels(a);
  const pb = pa && plainLabels(b);
  if (pa && pb) {
    for (let i = 1; i <= Math.min(pa.length, pb.length); i++) {
      const x = pa[pa.length - i]!;
      const y = pb[pb.length - i]!;
      if (x !== y) return x < y ? -1 : 1;
    }
    return pa.length - pb.length;
  }
  const la = canonicalLabels(a);
  const lb = canonicalLabels(b);
  for (let i = 1; i <= Math.min(la.length, lb.length); i++) {
    const c = compareBytes(la[la.length - i]!, lb[lb.length - i]!);
    if (c !== 0) return c;
  }
  return la.length - lb.length;
}

/** Whether `name` is `ancestor` or below it (case-insensitive). */
export function isSubdomain(name: string, ancestor: string): boolean {
  const pn = plainLabels(name);
  const pa = pn && plainLabels(ancestor);
  if (pn && pa) {
    if (pa.length > pn.length) return false;
    for (let i = 1; i <= pa.length; i++) if (pn[pn.length - i] !== pa[pa.length - i]) return false;
    return true;
  }
  const ln = canonicalLabels(name);
  const la = canonicalLabels(ancestor);
  if (la.length > ln.length) return false;
  for (let i = 1; i <= la.length; i++) if (compareBytes(ln[ln.length - i]!, la[la.length - i]!) !== 0) return false;
  return true;
}

/** Presentation labels, leftmost first, escapes kept: 'a\.b.example.' → ['a\.b', 'example']. */
export function presentationLabels(name: string): string[] {
  return name.match(/(?:\\\d{3}|\\[^]|[^.\\])+/g) ?? [];
}

/** The ancestor of `name` made of its `keep` rightmost labels ('.' for 0). */
export function ancestorName(name: string, keep: number): string {
  if (keep <= 0) return '.';
  return `${presentationLabels(name).slice(-keep).join('.')}.`;
}

export function wildcardOf(name: string): string {
  return name === '.' ? '*.' : `*.${ancestorName(name, presentationLabels(name).length)}`;
}
