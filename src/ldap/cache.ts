/**
 * Results of user key checks (seed 000 §6.1 future work: cache LDAP and DNS answers to speed up
 * reconnections), keyed by what the result depends on: the flags that change the rules, the
 * address, and the SHA-256 of the peer's SubjectPublicKeyInfo. A different key for the same user
 * is a different question. Each result is kept only while the DNS data behind it holds, and never
 * longer than the caps in limits.ts; the oldest entry goes first when the cache is full.
 */
import { createHash } from 'node:crypto';
import type { TlsFlags, UserKeyResult } from '../tls/index.js';

export interface UserKeyCacheKey {
  readonly flags: TlsFlags;
  readonly address: string;
  readonly spkiDer: Uint8Array;
}

interface Held {
  readonly result: UserKeyResult;
  readonly expiresAtMs: number;
}

export function cacheKeyText(key: UserKeyCacheKey): string {
  // no-ldap is not part of it: with no-ldap the key servers are never asked.
  const flags = [key.flags.noDnssec, key.flags.ignoreBogus, key.flags.noDane].map((on) => (on ? '1' : '0')).join('');
  const spki = createHash('sha256').update(key.spkiDer).digest('hex');
  return `${flags} ${spki} ${key.address}`;
}

export class UserKeyCache {
  private readonly held = new Map<string, Held>();

  constructor(private readonly maxEntries: number, private readonly nowMs: () => number) {}

  get size(): number {
    return this.held.size;
  }

  get(key: UserKeyCacheKey): UserKeyResult | undefined {
    const text = cacheKeyText(key);
    const entry = this.held.get(text);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= this.nowMs()) {
      this.held.delete(text);
      return undefined;
    }
    return entry.result;
  }

  /** Keeps `result` until `expiresAtMs`; one already expired is not kept. */
  set(key: UserKeyCacheKey, result: UserKeyResult, expiresAtMs: number): void {
    if (expiresAtMs <= this.nowMs()) return;
    const text = cacheKeyText(key);
    this.held.delete(text);
    this.held.set(text, { result, expiresAtMs });
    // Map iteration is insertion order: the first key is the oldest write.
    while (this.held.size > this.maxEntries) {
      const oldest = this.held.keys().next().value;
      if (oldest === undefined) break;
      this.held.delete(oldest);
    }
  }
}
