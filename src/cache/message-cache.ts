/**
 * The answer cache: keyed by name (case-insensitive), type, class and the CD bit; TTLs count
 * down from the moment of storing; bounded by entry count and by estimated bytes, evicting the
 * least recently used entry first (a Map keeps insertion order; a hit re-inserts).
 *
 * An entry keeps the answer as one encoded message, decoded only when needed, plus memo slots
 * the pipeline fills with ready-made replies, so that a hit costs a copy and a few patched
 * bytes. Both are held as latin1 strings: on V8 a one-byte string costs its length plus a small
 * header, where each Uint8Array carries a few hundred bytes of object and backing store; with
 * 100,000 names cached that difference is most of the memory.
 */
import type { CacheConfig } from '../config/index.js';
import { decodeMessage, nameKey, encodeMessage, type Message, type Question, type ResourceRecord } from '../wire/index.js';
import { cacheTtlSeconds, classifyAnswer } from './ttl.js';

/**
 * What validation said of a cached answer. The cache only keeps it with the answer; the pipeline
 * decides what it means for a client (AD, SERVFAIL with an Extended DNS Error).
 */
export type Security =
  | { readonly status: 'secure'; readonly validUntilEpoch?: number }
  | { readonly status: 'insecure' | 'unchecked' }
  | { readonly status: 'bogus' | 'indeterminate'; readonly ede: number; readonly reason: string };

/** Shared values for the outcomes without details: one object for all entries, not one each. */
export const UNCHECKED: Security = Object.freeze({ status: 'unchecked' });
export const SECURE: Security = Object.freeze({ status: 'secure' });
export const INSECURE: Security = Object.freeze({ status: 'insecure' });

export interface CachedAnswer {
  readonly security: Security;
  readonly storedAtMs: number;
  readonly expiresAtMs: number;
  /** The stored answer (TTLs as of storing, no OPT), decoded anew on each call. */
  message(): Message;
  /** The stored answer with TTLs reduced by the whole seconds spent in the cache. */
  agedMessage(nowMs: number): Message;
  /** Slots for the pipeline's prepared replies, one per reply variant: wire bytes as latin1. */
  readonly memo: Array<string | undefined>;
}

class Entry implements CachedAnswer {
  readonly memo: Array<string | undefined> = [];
  /** When the entry last moved to the recent end of the LRU order. */
  touchedAtMs: number;
  constructor(
    private readonly wire: string,
    readonly security: Security,
    readonly storedAtMs: number,
    readonly expiresAtMs: number,
    readonly baseBytes: number,
  ) {
    this.touchedAtMs = storedAtMs;
  }

  get bytes(): number {
    return this.memo.reduce((sum, p) => sum + (p ? p.length + MEMO_OVERHEAD_BYTES : 0), this.baseBytes);
  }

  message(): Message {
    return decodeMessage(Buffer.from(this.wire, 'latin1'));
  }

  agedMessage(nowMs: number): Message {
    const message = this.message();
    const elapsedSeconds = Math.floor((nowMs - this.storedAtMs) / 1000);
    if (elapsedSeconds <= 0) return message;
    const age = (r: ResourceRecord): ResourceRecord => ({ ...r, ttl: Math.max(0, r.ttl - elapsedSeconds) });
    return { ...message, answers: message.answers.map(age), authorities: message.authorities.map(age), additionals: message.additionals.map(age) };
  }
}

/** Per-entry overhead on V8 (Map slot, key and wire string headers, entry object, memo array), measured roughly. */
const ENTRY_OVERHEAD_BYTES = 420;
const MEMO_OVERHEAD_BYTES = 40;
/**
 * A hit moves its entry to the recent end at most this often: re-inserting into a Map on every
 * hit is the largest cost of a hit, and LRU order to the second is plenty for eviction.
 */
const LRU_TOUCH_INTERVAL_MS = 1000;

export interface CacheStats {
  readonly entries: number;
  readonly bytes: number;
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
}

/** Name key (see wire's nameKey), then type, class and CD as one character each. */
export function cacheKeyOf(nameKeyText: string, type: number, klass: number, cd: boolean): string {
  return nameKeyText + String.fromCharCode(type, klass, cd ? 1 : 0);
}

export function cacheKey(question: Question, cd: boolean): string {
  return cacheKeyOf(nameKey(question.name), question.type, question.class, cd);
}

export class MessageCache {
  private readonly entries = new Map<string, Entry>();
  /** Bytes of the entries' base form; memo bytes are counted when the entry is removed. */
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

  get(question: Question, cd: boolean, nowMs: number): CachedAnswer | undefined {
    return this.getByKey(cacheKey(question, cd), nowMs, true);
  }

  /** A lookup by a key built with cacheKeyOf; `countMiss` false for a probe the caller will repeat. */
  getByKey(key: string, nowMs: number, countMiss: boolean): CachedAnswer | undefined {
    const entry = this.entries.get(key);
    if (!entry) {
      if (countMiss) this.misses += 1;
      return undefined;
    }
    if (nowMs >= entry.expiresAtMs) {
      this.remove(key, entry);
      if (countMiss) this.misses += 1;
      return undefined;
    }
    if (nowMs - entry.touchedAtMs >= LRU_TOUCH_INTERVAL_MS) {
      entry.touchedAtMs = nowMs;
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    this.hits += 1;
    return entry;
  }

  /** Like getByKey, without counting a hit or a miss and without moving the entry in LRU order. */
  peekByKey(key: string, nowMs: number): CachedAnswer | undefined {
    const entry = this.entries.get(key);
    return entry && nowMs < entry.expiresAtMs ? entry : undefined;
  }

  /** Stores an upstream answer if it is cacheable; returns the seconds it will live (0: not stored). */
  put(question: Question, cd: boolean, message: Message, nowMs: number): number {
    return this.putByKey(cacheKey(question, cd), question, message, nowMs);
  }

  /** put, with the key of (question, CD) already built by cacheKey, and what validation said. */
  putByKey(key: string, question: Question, message: Message, nowMs: number, security: Security = UNCHECKED): number {
    let ttlSeconds = cacheTtlSeconds(message, question, this.limits);
    // RFC 4035 §5.3.3: validated data is not kept past its signatures' expiration.
    if (security.status === 'secure' && security.validUntilEpoch !== undefined) {
      ttlSeconds = Math.min(ttlSeconds, security.validUntilEpoch - Math.floor(nowMs / 1000));
    }
    if (ttlSeconds <= 0) return 0;
    // RFC 2308 §5: the SOA of a cached negative answer carries the remaining negative TTL; no
    // record of any answer is handed out with more than cache-max-ttl.
    const capSeconds = classifyAnswer(message, question) === 'positive' ? this.limits.maxTtlSeconds : ttlSeconds;
    const cap = (r: ResourceRecord): ResourceRecord => (r.ttl > capSeconds ? { ...r, ttl: capSeconds } : r);
    this.store(key, { ...message, answers: message.answers.map(cap), authorities: message.authorities.map(cap), additionals: message.additionals.map(cap) }, security, nowMs, ttlSeconds);
    return ttlSeconds;
  }

  /**
   * Remembers a failed validation for `seconds` (a SERVFAIL with the question only), so that the
   * same bogus data does not cost the same work again at an attacker's will.
   */
  putFailure(key: string, question: Question, security: Extract<Security, { status: 'bogus' | 'indeterminate' }>, nowMs: number, seconds: number): void {
    const failure: Message = {
      id: 0, qr: true, opcode: 0, aa: false, tc: false, rd: true, ra: true, ad: false, cd: false, rcode: 2,
      questions: [question], answers: [], authorities: [], additionals: [],
    };
    this.store(key, failure, security, nowMs, seconds);
  }

  private store(key: string, message: Message, security: Security, nowMs: number, seconds: number): void {
    const previous = this.entries.get(key);
    if (previous) this.remove(key, previous);
    const wire = Buffer.from(encodeMessage({ ...message, edns: undefined })).toString('latin1');
    const entry = new Entry(wire, security, nowMs, nowMs + seconds * 1000, ENTRY_OVERHEAD_BYTES + key.length + wire.length);
    this.entries.set(key, entry);
    this.bytes += entry.baseBytes;
    this.evict();
  }

  /** Accounts for a memo slot the pipeline just filled. */
  noteMemo(prepared: string): void {
    this.bytes += prepared.length + MEMO_OVERHEAD_BYTES;
    this.evict();
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
