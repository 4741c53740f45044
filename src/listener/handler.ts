export interface ClientAddress {
  readonly address: string;
  readonly port: number;
  readonly transport: 'udp' | 'tcp';
}

/** What a listener calls for each query; undefined means send nothing back. Never rejects by design. */
export type QueryHandler = (query: Uint8Array, client: ClientAddress) => Promise<Uint8Array | undefined>;
