export { MessageCache, cacheKey, cacheKeyOf, INSECURE, SECURE, UNCHECKED, type CacheStats, type CachedAnswer, type Security } from './message-cache.js';
export { cacheTtlSeconds, classifyAnswer, type AnswerKind } from './ttl.js';
