/**
 * The validating resolver without listeners: cache, upstream pool, chain of trust, validator and
 * the Resolver over them, as `oedns serve` builds it. The TLS commands (tunnel, tls-daemon,
 * tls-exec) stand on it to resolve and validate names themselves.
 */
import { MessageCache } from './cache/index.js';
import type { Config } from './config/index.js';
import type { Logger } from './core/log.js';
import { BOGUS_CACHE_SECONDS } from './dnssec/index.js';
import { DnssecService, type DnssecSetup } from './dnssec-service.js';
import { Resolver, type KeyBroker } from './pipeline/index.js';
import { UpstreamPool } from './upstream/index.js';

export interface ResolverStack {
  readonly cache: MessageCache;
  readonly upstream: UpstreamPool;
  readonly validation: DnssecService;
  readonly resolver: Resolver;
}

export interface ResolverStackLogs {
  readonly upstream: Logger;
  readonly pipeline: Logger;
  readonly dnssec: Logger;
}

/** `keys` gets the resolver (its key lookups go through it) and returns the keys step, if any. */
export function createResolverStack(config: Config, dnssec: DnssecSetup, logs: ResolverStackLogs, keys?: (resolver: () => Resolver) => KeyBroker | undefined): ResolverStack {
  const cache = new MessageCache(config.cache);
  const upstream = new UpstreamPool(config.upstream, logs.upstream);
  // The validator fetches DNSKEY/DS through the resolver it serves: bound once both exist.
  let resolver: Resolver | undefined;
  const current = (): Resolver => resolver!;
  const validation = new DnssecService({ fetch: (name, type, signal) => current().fetchForValidation(name, type, signal) }, dnssec, logs.dnssec);
  resolver = new Resolver({
    cache, upstream, log: logs.pipeline, validator: validation, failureCacheSeconds: BOGUS_CACHE_SECONDS, keys: keys?.(current),
  });
  return { cache, upstream, validation, resolver };
}
