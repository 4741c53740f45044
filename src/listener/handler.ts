export interface ClientAddress {
  readonly address: string;
  readonly port: number;
  readonly transport: 'udp' | 'tcp';
}

/**
 * What a listener calls for each query; undefined means send nothing back. A reply at hand is
 * returned directly (cache hits), one that needs waiting as a promise. Never rejects by design.
 */
export type QueryHandler = (query: Uint8Array, client: ClientAddress) => Uint8Array | undefined | Promise<Uint8Array | undefined>;
