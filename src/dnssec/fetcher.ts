import type { Message } from '../wire/index.js';

/**
 * How the validator gets the DNSKEY and DS RRsets it needs: through the same upstream as every
 * other query, with DO=1 and CD=1 so a validating upstream hands over the raw data. Throws when
 * no answer could be had (the validator then says indeterminate).
 */
export interface DnssecFetcher {
  fetch(name: string, type: number, signal: AbortSignal): Promise<Message>;
}

