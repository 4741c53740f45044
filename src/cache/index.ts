export { MessageCache, cacheKey, type CacheStats } from './message-cache.js';
export { cacheTtlSeconds, classifyAnswer, type AnswerKind } from './ttl.js';
