/**
 * Failure shunts, as Libreswan keeps them: when IKE with a peer fails, the address is left alone
 * for a while before the next try. The table only remembers that the address failed and until
 * when; what that means is the current rule's to say, at decision time:
 *   under `use`     → an explicit pass (clear) until the shunt expires, then a new attempt;
 *   under `require` → block and SERVFAIL until it expires, then a new attempt, which itself
 *                     ends in require or block — never in clear, expired or not, and whatever
 *                     action was in force when the failure was recorded.
 * Pure: the time is always an argument (epoch seconds); nothing here reads the clock.
 */
import { normalizeAddress } from './cidr.js';

export interface Shunt {
  /** Canonical address text. */
  readonly address: string;
  readonly sinceEpoch: number;
  readonly expiresEpoch: number;
  /** What failed, for logs (`IKE_SA failed: AUTHENTICATION_FAILED`). */
  readonly reason: string;
}

/** What the decision needs from the table. */
export interface ShuntLookup {
  active(address: string, nowSeconds: number): Shunt | undefined;
}

function key(address: string): string {
  const canonical = normalizeAddress(address);
  if (canonical === undefined) throw new Error(`shunt address "${address}" is not an IP address`);
  return canonical;
}

export class ShuntTable implements ShuntLookup {
  private readonly byAddress = new Map<string, Shunt>();

  /** Records a failed negotiation; a later failure replaces the earlier shunt. */
  recordFailure(address: string, lifetimeSeconds: number, nowSeconds: number, reason: string): Shunt {
    const shunt: Shunt = { address: key(address), sinceEpoch: nowSeconds, expiresEpoch: nowSeconds + lifetimeSeconds, reason };
    this.byAddress.set(shunt.address, shunt);
    return shunt;
  }

  /** The shunt in force at `nowSeconds`; an expired one is forgotten. */
  active(address: string, nowSeconds: number): Shunt | undefined {
    const k = key(address);
    const shunt = this.byAddress.get(k);
    if (shunt === undefined) return undefined;
    if (nowSeconds < shunt.expiresEpoch) return shunt;
    this.byAddress.delete(k);
    return undefined;
  }

  /** A negotiation succeeded: the address is no longer shunted. */
  clear(address: string): boolean {
    return this.byAddress.delete(key(address));
  }

  /** Removes and returns every shunt expired at `nowSeconds`, so their addresses are decided again. */
  expire(nowSeconds: number): readonly Shunt[] {
    const expired = [...this.byAddress.values()].filter((s) => nowSeconds >= s.expiresEpoch);
    for (const shunt of expired) this.byAddress.delete(shunt.address);
    return expired;
  }

  get size(): number {
    return this.byAddress.size;
  }
}
