/**
 * Tokens for the second step of STARTTLS-style use (`connect` then `start-tls @TOKEN`, `accept`
 * then `recv-tls @TOKEN`): 128 random bits, good for one use within TOKEN_TTL_MS. A token is
 * a capability: whoever holds it may upgrade (and so take over) that relay, which is why it is
 * unguessable, single use, short-lived, and only ever sent on the connection that owns the relay.
 */
import { randomBytes } from 'node:crypto';
import { TOKEN_HEX_DIGITS } from './protocol.js';

/** How long a token may wait for its `start-tls @TOKEN` / `recv-tls @TOKEN`. */
export const TOKEN_TTL_MS = 60_000;

export class TokenTable<T> {
  private readonly entries = new Map<string, { readonly value: T; readonly timer: NodeJS.Timeout }>();

  constructor(private readonly ttlMs = TOKEN_TTL_MS) {}

  /** A fresh token for `value`; it expires by itself (`onExpire` runs then; the relay it names goes on, plaintext). */
  issue(value: T, onExpire?: () => void): string {
    const token = randomBytes(TOKEN_HEX_DIGITS / 2).toString('hex');
    const timer = setTimeout(() => {
      this.entries.delete(token);
      onExpire?.();
    }, this.ttlMs);
    timer.unref();
    this.entries.set(token, { value, timer });
    return token;
  }

  /** The value, once: the token is gone afterwards. Undefined for an unknown, used or expired token. */
  take(token: string): T | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    this.drop(token);
    return entry.value;
  }

  /** Forgets a token (its relay closed before it was used). */
  drop(token: string): void {
    const entry = this.entries.get(token);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.entries.delete(token);
  }

  /** The values of the tokens not yet used or expired. */
  values(): T[] {
    return [...this.entries.values()].map((entry) => entry.value);
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    for (const token of [...this.entries.keys()]) this.drop(token);
  }
}
