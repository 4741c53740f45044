/**
 * How long an upstream answer may be cached: RFC 1035 TTLs for positive answers, RFC 2308 for
 * negative ones (NXDOMAIN and NODATA take min(SOA TTL, SOA MINIMUM), §5), clamped by config.
 */
import type { CacheConfig } from '../config/index.js';
import { decodeSoa, namesEqual, Rcode, readName, RRType, type Message, type Question } from '../wire/index.js';

export type AnswerKind = 'positive' | 'nxdomain' | 'nodata' | 'uncacheable';

export function classifyAnswer(message: Message, question: Question): AnswerKind {
  if (message.tc) return 'uncacheable';
  if (message.rcode === Rcode.NXDomain) return 'nxdomain';
  if (message.rcode !== Rcode.NoError) return 'uncacheable';
  if (hasFinalData(message, question)) return 'positive';
  return 'nodata';
}

/** Whether the answer section ends the (CNAME) chain with data of the asked type. */
function hasFinalData(message: Message, question: Question): boolean {
  if (message.answers.length === 0) return false;
  if (question.type === RRType.ANY || question.type === RRType.CNAME) return true;
  let name = question.name;
  for (let hops = 0; hops <= message.answers.length; hops++) {
    if (message.answers.some((r) => r.type === question.type && namesEqual(r.name, name))) return true;
    const cname = message.answers.find((r) => r.type === RRType.CNAME && namesEqual(r.name, name));
    if (!cname) break;
    name = readName(cname.rdata, 0).name;
  }
  // DNAME-synthesised or oddly ordered answers: any record of the type counts.
  return message.answers.some((r) => r.type === question.type);
}

/** Seconds to cache, or 0 for "do not cache". */
export function cacheTtlSeconds(message: Message, question: Question, limits: CacheConfig): number {
  const kind = classifyAnswer(message, question);
  if (kind === 'uncacheable') return 0;
  const records = [...message.answers, ...message.authorities, ...message.additionals];
  if (kind === 'positive') {
    const ttl = Math.min(...records.map((r) => effectiveTtl(r.ttl)));
    return ttl === 0 && limits.minTtlSeconds === 0 ? 0 : clamp(ttl, limits.minTtlSeconds, limits.maxTtlSeconds);
  }
  // RFC 2308 §5: "Negative responses without SOA records SHOULD NOT be cached".
  const soa = message.authorities.find((r) => r.type === RRType.SOA);
  if (!soa) return 0;
  let minimumSeconds: number;
  try {
    minimumSeconds = decodeSoa(soa).minimumSeconds;
  } catch {
    return 0;
  }
  const chainTtls = message.answers.map((r) => effectiveTtl(r.ttl));
  const ttl = Math.min(effectiveTtl(soa.ttl), minimumSeconds, ...chainTtls);
  return clamp(ttl, 0, limits.negativeMaxTtlSeconds);
}

/** RFC 2181 §8: a TTL with the most significant bit set counts as zero. */
function effectiveTtl(ttl: number): number {
  return ttl > 0x7fffffff ? 0 : ttl;
}

function clamp(value: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, value));
}
