/**
 * The query pipeline: bytes from a listener in, bytes for the client out. It checks the query,
 * answers from the cache or forwards upstream (merging identical queries in flight), has the
 * answer validated (unless the client set CD), and shapes it for the client: AD for secure data,
 * SERVFAIL with an Extended DNS Error for bogus. It never throws for anything a client or an
 * upstream sends.
 */
import type { Endpoint } from '../config/index.js';
import { errorMessage, UpstreamError, WireFormatError } from '../core/errors.js';
import { RateLimitedLog, type Logger } from '../core/log.js';
import type { CachedAnswer, MessageCache, Security } from '../cache/index.js';
import { cacheKey, cacheKeyOf, UNCHECKED } from '../cache/index.js';
import type { UpstreamPool } from '../upstream/index.js';
import {
  decodeMessage, HEADER_BYTES, nameKey, readName, readPlainQuery, Opcode, Rcode, readHeader, RRClass, RRType, typeName,
  type Message, type Question,
} from '../wire/index.js';
import { extendedError, patchedReply, replyFromCache } from './cached-reply.js';
import type { ValidatedAnswer } from './host-keys.js';
import { isAddressQuestion, type KeyBroker } from './key-broker.js';
import { SharedWork } from './shared-work.js';
import { answerFor, encodeForTransport, errorFor, udpLimit, udpLimitFor, wantsAd, type ClientQuery, type ExtendedError } from './respond.js';

export interface ClientInfo {
  readonly address: string;
  readonly port: number;
  readonly transport: 'udp' | 'tcp';
}

const SERVFAIL: Pick<Message, 'rcode' | 'answers' | 'authorities' | 'additionals'> = { rcode: Rcode.ServFail, answers: [], authorities: [], additionals: [] };
/** RFC 8914 §4.7, for a validator failure that carries no code of its own. */
const EDE_DNSSEC_BOGUS = 6;

/** Query types a forwarder does not pass on. */
const REFUSED_QTYPES: ReadonlySet<number> = new Set([RRType.AXFR, RRType.IXFR]);
const NOTIMP_QTYPES: ReadonlySet<number> = new Set([RRType.MAILA, RRType.MAILB]);

/** Validates an upstream answer (the dnssec module, handed in by main.ts). */
export interface AnswerValidator {
  validate(question: Question, message: Message, signal: AbortSignal): Promise<Security>;
}

export interface ResolverDeps {
  readonly cache: MessageCache;
  readonly upstream: UpstreamPool;
  readonly log: Logger;
  /** Without one (unit tests of forwarding alone), answers are passed on unvalidated. */
  readonly validator?: AnswerValidator | undefined;
  /** Seconds a failed validation is remembered. */
  readonly failureCacheSeconds?: number;
  /** The keys step of A/AAAA answers (IPSECKEY, CERT, TLSA → decision); without one, none. */
  readonly keys?: KeyBroker | undefined;
  readonly nowMs?: () => number;
}

/** An upstream answer with what validation said of it. */
interface Outcome {
  readonly message: Message;
  readonly security: Security;
}

/** The client of the validator's own DNSKEY/DS fetches, for logs. */
const VALIDATOR_CLIENT: ClientInfo = { address: 'validator', port: 0, transport: 'udp' };
/** The client of the key lookups (IPSECKEY, CERT, TLSA) made for A/AAAA answers. */
const KEYS_CLIENT: ClientInfo = { address: 'keys', port: 0, transport: 'udp' };
/** RFC 8914 §4.1 "Other Error": the answer was withheld because its IPsec policy was not in place. */
const EDE_OTHER = 0;

export interface ResolverStats {
  queries: number;
  cacheHits: number;
  upstreamQueries: number;
  merged: number;
  servfail: number;
  formerr: number;
  dropped: number;
}

export class Resolver {
  /** Upstream queries in flight, each shared by every identical question asked meanwhile. */
  private readonly inflight = new SharedWork<Outcome>();
  /** Key answers being validated (lookupForKeys), so that A and AAAA validate one once. */
  private readonly judging = new SharedWork<Outcome>();
  private readonly badInput: RateLimitedLog;
  private readonly nowMs: () => number;
  readonly stats: ResolverStats = { queries: 0, cacheHits: 0, upstreamQueries: 0, merged: 0, servfail: 0, formerr: 0, dropped: 0 };

  /** Per-query debug logging costs time even when filtered; check the level once per query. */
  private get debug(): boolean {
    return this.deps.log.isLevelEnabled('debug');
  }

  constructor(private readonly deps: ResolverDeps) {
    this.badInput = new RateLimitedLog(deps.log);
    this.nowMs = deps.nowMs ?? Date.now;
  }

  /**
   * Handles one query; undefined means "send nothing" (not even a header could be read). A cache
   * hit and a rejected query are answered synchronously (no promise on the hot path); the rest
   * returns a promise that never rejects.
   */
  handle(bytes: Uint8Array, client: ClientInfo, signal: AbortSignal): Uint8Array | undefined | Promise<Uint8Array | undefined> {
    const quick = this.fromCacheQuickly(bytes, client);
    if (quick) return quick;
    const limit = (edns: ClientQuery['edns']): number | undefined => (client.transport === 'udp' ? udpLimit(edns) : undefined);
    const parsed = this.parse(bytes, client);
    if (parsed.kind === 'drop') return undefined;
    if (parsed.kind === 'error') return encodeForTransport(parsed.reply, limit(parsed.reply.edns));
    const query = parsed.query;
    this.stats.queries += 1;
    const started = this.nowMs();
    const key = cacheKey(query.question, query.cd);
    const cached = this.deps.cache.getByKey(key, started, true);
    if (!cached) return this.resolveUpstream(query, key, bytes, client, signal, started, limit(query.edns));
    if (this.keysStepDue(query.question, started) && !extendedError(cached.security)) {
      return this.answerAfterKeys(query, bytes, cached, client, signal, limit(query.edns));
    }
    this.stats.cacheHits += 1;
    const reply = replyFromCache(query, bytes, cached, this.deps.cache, started, limit(query.edns));
    if (this.debug) this.deps.log.debug({ qname: query.question.name, qtype: typeName(query.question.type), source: 'cache', client: client.address }, 'answered');
    return reply;
  }

  /**
   * The hot path: a plain query read without decoding it, answered from a prepared reply. Any
   * query it cannot serve that way (not plain, not cached, needing truncation) takes the full path.
   */
  private fromCacheQuickly(bytes: Uint8Array, client: ClientInfo): Uint8Array | undefined {
    const plain = readPlainQuery(bytes);
    if (!plain) return undefined;
    const now = this.nowMs();
    const keys = this.deps.keys;
    if (keys && plain.class === RRClass.IN && (plain.type === RRType.A || plain.type === RRType.AAAA) && !keys.isCovered(plain.nameKey, plain.type, now)) return undefined;
    const cached = this.deps.cache.getByKey(cacheKeyOf(plain.nameKey, plain.type, plain.class, plain.cd), now, false);
    if (!cached) return undefined;
    const limitBytes = client.transport === 'udp' ? udpLimitFor(plain.edns ? plain.udpPayloadSize : undefined) : undefined;
    const shape = { id: plain.id, rd: plain.rd, wantsAd: plain.ad || plain.dnssecOk, cd: plain.cd, edns: plain.edns, dnssecOk: plain.dnssecOk, limitBytes };
    const reply = patchedReply(shape, bytes, cached, this.deps.cache, now);
    if (!reply) return undefined;
    this.stats.queries += 1;
    this.stats.cacheHits += 1;
    if (this.debug) this.deps.log.debug({ qname: readName(bytes, HEADER_BYTES).name, qtype: typeName(plain.type), source: 'cache', client: client.address }, 'answered');
    return reply;
  }

  private async resolveUpstream(
    query: ClientQuery, key: string, bytes: Uint8Array, client: ClientInfo, signal: AbortSignal, started: number, limitBytes: number | undefined,
  ): Promise<Uint8Array> {
    let upstream: Pick<Message, 'rcode' | 'answers' | 'authorities' | 'additionals'>;
    let source = 'upstream';
    let extras: Parameters<typeof answerFor>[2] = {};
    try {
      const keysDue = this.keysStepDue(query.question, started);
      if (keysDue) this.deps.keys!.prefetch(query.question, signal);
      const outcome = await this.forward(key, query.question, query.cd, client, signal);
      const fresh = this.deps.cache.peekByKey(key, this.nowMs());
      if (keysDue && !extendedError(outcome.security)) {
        const withheld = await this.keysStep(query.question, query.cd ? undefined : { ...outcome, expiresAtMs: fresh?.expiresAtMs ?? this.nowMs() }, signal);
        if (withheld) return this.withheldReply(query, withheld, client, started, limitBytes);
      }
      // Just cached: answer through the cache so the reply is prepared for the next hit too.
      if (fresh) {
        if (this.debug) this.deps.log.debug({ qname: query.question.name, qtype: typeName(query.question.type), rcode: outcome.message.rcode, security: outcome.security.status, source, ms: this.nowMs() - started, client: client.address }, 'answered');
        return replyFromCache(query, bytes, fresh, this.deps.cache, this.nowMs(), limitBytes);
      }
      const failed = extendedError(outcome.security);
      upstream = failed ? SERVFAIL : outcome.message;
      extras = { ad: outcome.security.status === 'secure' && wantsAd(query), ede: failed };
    } catch (error) {
      this.stats.servfail += 1;
      const level = error instanceof UpstreamError ? 'warn' : 'error';
      this.deps.log[level]({ qname: query.question.name, qtype: typeName(query.question.type), err: errorMessage(error) }, 'query failed');
      upstream = SERVFAIL;
      source = 'failure';
    }
    const reply = answerFor(query, upstream, extras);
    if (this.debug) this.deps.log.debug({ qname: query.question.name, qtype: typeName(query.question.type), rcode: reply.rcode, source, ms: this.nowMs() - started, client: client.address }, 'answered');
    return encodeForTransport(reply, limitBytes);
  }

  private keysStepDue(question: Question, nowMs: number): boolean {
    const keys = this.deps.keys;
    return keys !== undefined && question.class === RRClass.IN && isAddressQuestion(question) && !keys.isCovered(nameKey(question.name), question.type, nowMs);
  }

  /**
   * The keys step (KeyBroker.settle) for an A/AAAA answer; for a CD query, whose answer is not
   * validated, on oedns' own validated answer to the same question. Returns the Extended DNS
   * Error to SERVFAIL with when the policy withholds the answer.
   */
  private async keysStep(question: Question, validated: ValidatedAnswer | undefined, signal: AbortSignal): Promise<ExtendedError | undefined> {
    const answer = validated ?? await this.lookupValidated(question, signal);
    const release = await this.deps.keys!.settle(question, answer, signal);
    if (release.release) return undefined;
    this.stats.servfail += 1;
    return { infoCode: EDE_OTHER, extraText: release.reason };
  }

  /** SERVFAIL for an answer its policy withholds, logged at debug like every answer. */
  private withheldReply(query: ClientQuery, ede: ExtendedError, client: ClientInfo, started: number, limitBytes: number | undefined): Uint8Array {
    if (this.debug) this.deps.log.debug({ qname: query.question.name, qtype: typeName(query.question.type), rcode: Rcode.ServFail, withheld: ede.extraText, ms: this.nowMs() - started, client: client.address }, 'answered');
    return encodeForTransport(answerFor(query, SERVFAIL, { ede }), limitBytes);
  }

  /** A cached A/AAAA answer whose keys decision has lapsed: the keys step first, then the cached reply. */
  private async answerAfterKeys(query: ClientQuery, bytes: Uint8Array, cached: CachedAnswer, client: ClientInfo, signal: AbortSignal, limitBytes: number | undefined): Promise<Uint8Array> {
    const started = this.nowMs();
    try {
      const withheld = await this.keysStep(query.question, query.cd ? undefined : { message: cached.agedMessage(this.nowMs()), security: cached.security, expiresAtMs: cached.expiresAtMs }, signal);
      if (withheld) return this.withheldReply(query, withheld, client, started, limitBytes);
    } catch (error) {
      this.deps.log.error({ qname: query.question.name, err: errorMessage(error), client: client.address }, 'keys step failed');
    }
    this.stats.cacheHits += 1;
    return replyFromCache(query, bytes, cached, this.deps.cache, this.nowMs(), limitBytes);
  }

  /**
   * An answer as oedns itself would give it: from the cache or forwarded, validated (no CD), with
   * its status and lifetime. For the key lookups; throws only when no upstream answered.
   */
  async lookupValidated(question: Question, signal: AbortSignal): Promise<ValidatedAnswer> {
    const key = cacheKey(question, false);
    const now = this.nowMs();
    const cached = this.deps.cache.getByKey(key, now, true);
    if (cached) return { message: cached.agedMessage(now), security: cached.security, expiresAtMs: cached.expiresAtMs };
    const outcome = await this.forward(key, question, false, KEYS_CLIENT, signal);
    const fresh = this.deps.cache.peekByKey(key, this.nowMs());
    return { message: outcome.message, security: outcome.security, expiresAtMs: fresh?.expiresAtMs ?? this.nowMs() };
  }

  private parse(bytes: Uint8Array, client: ClientInfo):
    | { kind: 'drop' }
    | { kind: 'error'; reply: Message }
    | { kind: 'query'; query: ClientQuery } {
    const from = { client: client.address, transport: client.transport };
    if (bytes.length < HEADER_BYTES) {
      this.stats.dropped += 1;
      this.badInput.debug({ ...from, bytes: bytes.length }, 'dropped: shorter than a DNS header');
      return { kind: 'drop' };
    }
    const header = readHeader(bytes);
    if (header.qr) {
      this.stats.dropped += 1;
      this.badInput.debug({ ...from, id: header.id }, 'dropped: a response sent to the query port');
      return { kind: 'drop' };
    }
    let message: Message;
    try {
      message = decodeMessage(bytes);
    } catch (error) {
      if (!(error instanceof WireFormatError)) throw error;
      const rcode = header.opcode === Opcode.Query ? Rcode.FormErr : Rcode.NotImp;
      if (rcode === Rcode.FormErr) this.stats.formerr += 1;
      this.badInput.debug({ ...from, id: header.id, reason: error.message }, rcode === Rcode.FormErr ? 'FORMERR: malformed query' : 'NOTIMP: opcode');
      return { kind: 'error', reply: errorFor(header, rcode) };
    }
    const question = message.questions[0];
    const reject = (rcode: number, reason: string): { kind: 'error'; reply: Message } => {
      if (rcode === Rcode.FormErr) this.stats.formerr += 1;
      this.badInput.debug({ ...from, id: header.id, qname: question?.name, reason }, `rejected query (rcode ${rcode})`);
      return { kind: 'error', reply: errorFor(header, rcode, question, message.edns) };
    };
    // RFC 1035 §4.1.1: anything but a standard query is not implemented here.
    if (header.opcode !== Opcode.Query) return reject(Rcode.NotImp, `opcode ${header.opcode}`);
    if (message.questions.length !== 1 || !question) return reject(Rcode.FormErr, `${message.questions.length} questions`);
    // RFC 6891 §6.1.3: an EDNS version we do not implement gets BADVERS.
    if (message.edns && message.edns.version > 0) return reject(Rcode.BadVers, `EDNS version ${message.edns.version}`);
    if (question.type === RRType.OPT) return reject(Rcode.FormErr, 'question for type OPT');
    if (REFUSED_QTYPES.has(question.type)) return reject(Rcode.Refused, `zone transfer ${typeName(question.type)}`);
    if (NOTIMP_QTYPES.has(question.type)) return reject(Rcode.NotImp, `obsolete type ${typeName(question.type)}`);
    return {
      kind: 'query',
      query: { id: header.id, opcode: header.opcode, rd: header.rd, ad: header.ad, cd: header.cd, question, edns: message.edns },
    };
  }

  /**
   * The validator's DNSKEY and DS fetches: through the same cache and in-flight merging as client
   * queries, asked with CD (they are checked by the chain of trust, not here).
   */
  async fetchForValidation(name: string, type: number, signal: AbortSignal): Promise<Message> {
    const question: Question = { name, type, class: RRClass.IN };
    const key = cacheKey(question, true);
    const cached = this.deps.cache.getByKey(key, this.nowMs(), true);
    if (cached) return cached.agedMessage(this.nowMs());
    return (await this.forward(key, question, true, VALIDATOR_CLIENT, signal)).message;
  }

  /**
   * Forwards a question, merging it with an identical one already on its way; validates the
   * answer unless CD was set; caches it (or the failure, briefly).
   */
  private forward(key: string, question: Question, cd: boolean, client: ClientInfo, signal: AbortSignal): Promise<Outcome> {
    return this.inflight.join(key, signal, (shared) => {
      this.stats.upstreamQueries += 1;
      const validator = this.deps.validator;
      // With a validator, upstream is always asked with CD: oedns wants the data and its RRSIGs
      // even when a validating upstream would reject them, to judge (and explain) them itself.
      return this.deps.upstream.query(question, cd || validator !== undefined, shared)
        .then((answer) => this.judge(key, question, answer.message, cd, shared));
    }, () => {
      this.stats.merged += 1;
      if (this.isUpstream(client)) {
        this.deps.log.warn({ qname: question.name, client: client.address }, 'an upstream asked oedns the question oedns is asking it: possible forwarding loop');
      }
    });
  }

  /** Validates an upstream answer (unless CD, or nothing to validate) and caches it, or the failure, under `key`. */
  private async judge(key: string, question: Question, message: Message, cd: boolean, signal: AbortSignal): Promise<Outcome> {
    const validator = this.deps.validator;
    const validatable = !cd && validator && (message.rcode === Rcode.NoError || message.rcode === Rcode.NXDomain);
    const security = validatable ? await this.validate(validator, question, message, signal) : UNCHECKED;
    if (security.status === 'bogus' || security.status === 'indeterminate') {
      this.deps.log.warn({ qname: question.name, qtype: typeName(question.type), security: security.status, ede: security.ede, reason: security.reason }, 'validation failed');
      this.deps.cache.putFailure(key, question, security, this.nowMs(), this.deps.failureCacheSeconds ?? 60);
    } else {
      this.deps.cache.putByKey(key, question, message, this.nowMs(), security);
    }
    return { message, security };
  }

  /**
   * A key lookup (IPSECKEY, CERT, TLSA) for the keys step: data validated, a denial not. No key
   * is no key to every policy, whatever proves it (a forged denial gains an attacker what dropping
   * the answer would), so its signatures are not worth checking: the answer is fetched with CD
   * and only one that holds records of the type is validated (and cached as validated).
   */
  async lookupForKeys(question: Question, signal: AbortSignal): Promise<ValidatedAnswer> {
    const now = this.nowMs();
    const key = cacheKey(question, false);
    const validated = this.deps.cache.getByKey(key, now, false);
    if (validated) return { message: validated.agedMessage(now), security: validated.security, expiresAtMs: validated.expiresAtMs };
    const rawKey = cacheKey(question, true);
    const raw = this.deps.cache.getByKey(rawKey, now, true);
    const message = raw ? raw.agedMessage(now) : (await this.forward(rawKey, question, true, KEYS_CLIENT, signal)).message;
    const rawExpiresAtMs = raw?.expiresAtMs ?? this.deps.cache.peekByKey(rawKey, this.nowMs())?.expiresAtMs ?? this.nowMs();
    if (!this.deps.validator || !message.answers.some((rr) => rr.type === question.type)) {
      return { message, security: UNCHECKED, expiresAtMs: rawExpiresAtMs };
    }
    const outcome = await this.judging.join(key, signal, (shared) => this.judge(key, question, message, false, shared));
    return { ...outcome, expiresAtMs: this.deps.cache.peekByKey(key, this.nowMs())?.expiresAtMs ?? this.nowMs() };
  }

  /** A validator that throws (a bug, or data it could not parse) fails safe: bogus. */
  private async validate(validator: AnswerValidator, question: Question, message: Message, signal: AbortSignal): Promise<Security> {
    try {
      return await validator.validate(question, message, signal);
    } catch (error) {
      this.deps.log.error({ qname: question.name, err: errorMessage(error) }, 'validator failed');
      return { status: 'bogus', ede: EDE_DNSSEC_BOGUS, reason: `validator failed: ${errorMessage(error)}` };
    }
  }

  private isUpstream(client: ClientInfo): boolean {
    return this.deps.upstream.endpoints.some((e: Endpoint) => e.address === client.address);
  }
}
