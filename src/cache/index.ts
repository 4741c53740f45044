export { MessageCache, cacheKey, cacheKeyOf, type CacheStats, type CachedAnswer } from './message-cache.js';
export { cacheTtlSeconds, classifyAnswer, type AnswerKind } from './ttl.js';
