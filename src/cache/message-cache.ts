/**
 * The answer cache: keyed by name (case-insensitive), type, class and the CD bit; TTLs count
 * down from the moment of storing; bounded by entry count and by estimated bytes, evicting the
 * least recently used entry first (a Map keeps insertion order; a hit re-inserts).
 */
import type { CacheConfig } from '../config/index.js';
import { canonicalName, type Message, type Question, type ResourceRecord } from '../wire/index.js';
import { cacheTtlSeconds, classifyAnswer } from './ttl.js';

interface Entry {
  readonly message: Message;
  readonly storedAtMs: number;
  readonly expiresAtMs: number;
  readonly bytes: number;
}

/** Fixed overhead per entry and per record, measured roughly on V8 (objects, strings, maps). */
const ENTRY_OVERHEAD_BYTES = 400;
const RECORD_OVERHEAD_BYTES = 160;

export interface CacheStats {
  readonly entries: number;
  readonly bytes: number;
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
}

export function cacheKey(question: Question, cd: boolean): string {
  return `${canonicalName(question.name)}|${question.type}|${question.class}|${cd ? 1 : 0}`;
}

export class MessageCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(private limits: CacheConfig) {}

  /** New limits (SIGHUP); shrinking evicts at once. */
  reconfigure(limits: CacheConfig): void {
    this.limits = limits;
    this.evict();
  }

  /** A cached answer with TTLs reduced by the time spent in the cache, or undefined. */
  get(question: Question, cd: boolean, nowMs: number): Message | undefined {
    const key = cacheKey(question, cd);
    const entry = this.entries.get(key);
    if (!entry) {
      this.misses += 1;
      return undefined;
    }
    if (nowMs >= entry.expiresAtMs) {
      this.remove(key, entry);
      this.misses += 1;
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.hits += 1;
    const elapsedSeconds = Math.floor((nowMs - entry.storedAtMs) / 1000);
    if (elapsedSeconds === 0) return entry.message;
    const age = (r: ResourceRecord): ResourceRecord => ({ ...r, ttl: Math.max(0, r.ttl - elapsedSeconds) });
    return {
      ...entry.message,
      answers: entry.message.answers.map(age),
      authorities: entry.message.authorities.map(age),
      additionals: entry.message.additionals.map(age),
    };
  }

  /** Stores an upstream answer if it is cacheable; returns the seconds it will live (0: not stored). */
  put(question: Question, cd: boolean, message: Message, nowMs: number): number {
    const ttlSeconds = cacheTtlSeconds(message, question, this.limits);
    const negative = classifyAnswer(message, question) !== 'positive';
    if (ttlSeconds <= 0) return 0;
    const key = cacheKey(question, cd);
    const previous = this.entries.get(key);
    if (previous) this.remove(key, previous);
    // RFC 2308 §5: the SOA of a cached negative answer carries the remaining negative TTL; no
    // record of any answer is handed out with more than cache-max-ttl.
    const capSeconds = negative ? ttlSeconds : this.limits.maxTtlSeconds;
    const cap = (r: ResourceRecord): ResourceRecord => (r.ttl > capSeconds ? { ...r, ttl: capSeconds } : r);
    const stored: Message = {
      ...message,
      answers: message.answers.map(cap),
      authorities: message.authorities.map(cap),
      additionals: message.additionals.map(cap),
      edns: undefined,
    };
    const entry: Entry = { message: stored, storedAtMs: nowMs, expiresAtMs: nowMs + ttlSeconds * 1000, bytes: estimateBytes(key, stored) };
    this.entries.set(key, entry);
    this.bytes += entry.bytes;
    this.evict();
    return ttlSeconds;
  }

  stats(): CacheStats {
    return { entries: this.entries.size, bytes: this.bytes, hits: this.hits, misses: this.misses, evictions: this.evictions };
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  private remove(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.limits.maxEntries && this.bytes <= this.limits.maxBytes) break;
      this.remove(key, entry);
      this.evictions += 1;
    }
  }
}

function estimateBytes(key: string, message: Message): number {
  let bytes = ENTRY_OVERHEAD_BYTES + key.length * 2;
  for (const section of [message.answers, message.authorities, message.additionals]) {
    for (const r of section) bytes += RECORD_OVERHEAD_BYTES + r.name.length * 2 + r.rdata.length;
  }
  return bytes;
}
