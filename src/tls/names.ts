/**
 * What the TLS path asks of DNS: one RRset, validated by the same chain of trust and validator as
 * `oedns serve`, with its status and lifetime. main.ts hands in the implementation (tls-names.ts,
 * over the pipeline's Resolver); the TLS path never imports pipeline/.
 */

/** The DNSSEC status of an RRset or of the denial that it does not exist. */
export type NameStatus = 'secure' | 'insecure' | 'bogus' | 'indeterminate';

export interface NameAnswer {
  /** The name asked. */
  readonly name: string;
  readonly type: number;
  readonly status: NameStatus;
  /**
   * `records`: NOERROR with records of the type; `nxdomain` and `nodata`: their absence (proven
   * when status is secure); `failed`: SERVFAIL, REFUSED, or no upstream answered in time.
   */
  readonly outcome: 'records' | 'nxdomain' | 'nodata' | 'failed';
  /** Where the records are: the asked name or, after CNAMEs, the end of the chain (RFC 7671 §7). */
  readonly owner: string;
  /** The RDATA of each record of the type at `owner`, as received. */
  readonly rdata: readonly Uint8Array[];
  /** Epoch ms this answer stops holding (its TTL, capped by RRSIG expiry). */
  readonly expiresAtMs: number;
  /** Why bogus, indeterminate, insecure or failed. */
  readonly reason?: string | undefined;
}

export interface LookupOptions {
  /**
   * The data as the upstream gave it, signatures not checked (status `insecure`, reason says
   * so): only for `ignore-bogus`, after a validated lookup said bogus.
   */
  readonly unchecked?: boolean;
}

export type NameLookup = (name: string, type: number, signal: AbortSignal, options?: LookupOptions) => Promise<NameAnswer>;
