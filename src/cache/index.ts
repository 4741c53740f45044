export { MessageCache, cacheKey, type CacheStats, type CachedAnswer, type PreparedReply } from './message-cache.js';
export { cacheTtlSeconds, classifyAnswer, type AnswerKind } from './ttl.js';
