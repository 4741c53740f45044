import type { Message } from '../wire/index.js';

/**
 * How the validator gets the DNSKEY and DS RRsets it needs: through the same upstream as every
 * other query, with DO=1 and CD=1 so a validating upstream hands over the raw data. Throws when
 * no answer could be had (the validator then says indeterminate).
 */
export interface DnssecFetcher {
  fetch(name: string, type: number, signal: AbortSignal): Promise<Message>;
}

/** What the validator needs of the trust anchors (see trust-anchors.ts). */
export interface AnchorSource {
  /** The anchor at `name` or its closest ancestor that has one. */
  anchorFor(name: string): { readonly zone: string; readonly ds: readonly import('../wire/index.js').ResourceRecord[]; readonly dnskeys: readonly import('../wire/index.js').ResourceRecord[] } | undefined;
}

/** Negative trust anchors (RFC 7646): names at or below them are treated as insecure. */
export interface NegativeAnchors {
  covers(name: string): boolean;
}
