import { describe, expect, it } from 'vitest';
import { nameToLabels } from '../wire/name.js';
import { compareCanonical, isSubdomain, labelCount } from './canonical-name.js';

/** The RFC 4034 §6.1 order spelled out byte by byte, to check the string fast path against. */
function referenceCompare(a: string, b: string): number {
  const lower = (l: Uint8Array): number[] => Array.from(l, (x) => (x >= 0x41 && x <= 0x5a ? x | 0x20 : x));
  const la = nameToLabels(a).map(lower);
  const lb = nameToLabels(b).map(lower);
  for (let i = 1; i <= Math.min(la.length, lb.length); i++) {
    const x = la[la.length - i]!;
    const y = lb[lb.length - i]!;
    for (let j = 0; j < Math.min(x.length, y.length); j++) if (x[j] !== y[j]) return x[j]! - y[j]!;
    if (x.length !== y.length) return x.length - y.length;
  }
  return la.length - lb.length;
}

function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => ((state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

describe('canonical names (RFC 4034 §6.1)', () => {
  it('orders names as RFC 4034 §6.1 does, the example list included', () => {
    const ordered = ['example.', 'a.example.', 'yljkjljk.a.example.', 'Z.a.example.', 'zABC.a.EXAMPLE.', 'z.example.', '\\001.z.example.', '*.z.example.', '\\200.z.example.'];
    for (let i = 0; i + 1 < ordered.length; i++) expect(compareCanonical(ordered[i]!, ordered[i + 1]!)).toBeLessThan(0);
  });

  it('agrees with a byte-by-byte reference on random names, with and without escapes', () => {
    const random = seededRandom(42);
    const alphabet = ['a', 'B', 'z', 'Z', '-', '0', '_', '*', '\\046', '\\065', '\\097', '\\\\', '~'];
    const label = (): string => Array.from({ length: 1 + Math.floor(random() * 3) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    const name = (): string => `${Array.from({ length: Math.floor(random() * 4) }, label).join('.')}.`.replace(/^\.$/, '.');
    for (let i = 0; i < 3000; i++) {
      const a = name();
      const b = random() < 0.3 ? `${label()}.${a}`.replace(/\.\.$/, '.') : name();
      expect(Math.sign(compareCanonical(a, b)), `${a} vs ${b}`).toBe(Math.sign(referenceCompare(a, b)));
      expect(isSubdomain(a, b), `${a} under ${b}`).toBe(referenceIsSubdomain(a, b));
      expect(labelCount(a)).toBe(nameToLabels(a).length);
    }
  });

  it('still rejects names it cannot encode', () => {
    expect(() => labelCount(`${'a'.repeat(64)}.example.`)).toThrow(/longer than 63/);
    expect(() => compareCanonical('a..example.', 'example.')).toThrow(/empty label/);
  });
});

function referenceIsSubdomain(name: string, ancestor: string): boolean {
  const n = nameToLabels(name);
  const a = nameToLabels(ancestor);
  if (a.length > n.length) return false;
  const lower = (l: Uint8Array): string => Array.from(l, (x) => (x >= 0x41 && x <= 0x5a ? x | 0x20 : x)).join(',');
  for (let i = 1; i <= a.length; i++) if (lower(n[n.length - i]!) !== lower(a[a.length - i]!)) return false;
  return true;
}
