/**
 * Validation results and key pins (seed 000 §6.1 future work: "succeeded TLS connections could be
 * cached ... the daemon could also be extended to pin certificates"). After a DANE or PKIX
 * success the engine remembers, per (name, port, flags, usages, fallback), the peer's key and how
 * it was authenticated, until the first of the DNS answers it stood on expires (and, where expiry
 * was checked, the certificate's notAfter). A repeat connection that presents the same key within
 * that time needs no TLSA lookup and no DANE work; a different key is validated in full.
 * Bounded: least recently used entries go first.
 */
import type { AuthMethod, ConnectTarget, TlsFlags, TlsSession } from './session.js';

/** Entries kept; each is a few hundred bytes. */
export const DEFAULT_PIN_ENTRIES = 10_000;

export interface PinnedResult {
  /** SHA-256 of the peer's SubjectPublicKeyInfo, hex. */
  readonly spkiSha256: string;
  /** How the peer was authenticated when the pin was made. */
  readonly method: Extract<AuthMethod, 'dane' | 'pkix'>;
  readonly identity: string;
  readonly dane?: TlsSession['dane'];
  readonly dnssec: TlsSession['dnssec'];
  /** Epoch ms the pin stops holding. */
  readonly expiresAtMs: number;
}

/** The flags, usages and fallback change what "authenticated" means, so they are part of the key. */
export function pinKey(side: 'server' | 'client', target: Pick<ConnectTarget, 'name' | 'port' | 'usages' | 'withoutTlsa' | 'extraNames'>, flags: TlsFlags): string {
  const flagBits = [flags.noDnssec, flags.ignoreBogus, flags.noDane, flags.noLdap].map((on) => (on ? '1' : '0')).join('');
  const usages = target.usages ? [...target.usages].sort().join(',') : '*';
  const extra = target.extraNames ? [...target.extraNames].map((n) => n.toLowerCase()).sort().join(',') : '';
  return `${side}|${target.name.toLowerCase().replace(/\.$/, '')}|${target.port}|${flagBits}|${usages}|${target.withoutTlsa ?? 'fail'}|${extra}`;
}

export class PinCache {
  private readonly entries = new Map<string, PinnedResult>();

  constructor(
    private readonly maxEntries = DEFAULT_PIN_ENTRIES,
    private readonly nowMs: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The pin for key if it still holds; a use makes it the most recently used. */
  get(key: string): PinnedResult | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expiresAtMs <= this.nowMs()) return undefined;
    this.entries.set(key, entry);
    return entry;
  }

  set(key: string, result: PinnedResult): void {
    this.entries.delete(key);
    if (!(result.expiresAtMs > this.nowMs())) return;
    this.entries.set(key, result);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
