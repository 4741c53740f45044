/**
 * The TLS path's NameLookup over the pipeline's Resolver: the same cache, upstreams, chain of trust
 * and validator as a client's query, without the keys step.
 */
import type { Security } from './cache/index.js';
import { errorMessage } from './core/errors.js';
import { finalName, type Resolver } from './pipeline/index.js';
import type { NameAnswer, NameLookup, NameStatus } from './tls/names.js';
import { namesEqual, normalizeName, Rcode, RRClass, type Message, type Question } from './wire/index.js';

function statusOf(security: Security): NameStatus {
  // unchecked (no validator configured) is as good as insecure: nothing vouches for it.
  return security.status === 'secure' ? 'secure' : security.status === 'bogus' ? 'bogus' : security.status === 'indeterminate' ? 'indeterminate' : 'insecure';
}

export function answerOf(question: Question, message: Message, status: NameStatus, expiresAtMs: number, reason?: string): NameAnswer {
  const owner = finalName(question.name, message);
  const rdata = message.answers.filter((rr) => rr.type === question.type && namesEqual(rr.name, owner)).map((rr) => rr.rdata);
  const outcome = message.rcode === Rcode.NXDomain ? 'nxdomain'
    : message.rcode !== Rcode.NoError ? 'failed'
      : rdata.length > 0 ? 'records' : 'nodata';
  const why = reason ?? (outcome === 'failed' ? `rcode ${message.rcode}` : undefined);
  return { name: question.name, type: question.type, status, outcome, owner, rdata, expiresAtMs, reason: why };
}

export function resolverNameLookup(resolver: Resolver): NameLookup {
  return async (name, type, signal, options) => {
    const question: Question = { name: normalizeName(name), type, class: RRClass.IN };
    try {
      if (options?.unchecked) {
        const message = await resolver.fetchForValidation(question.name, type, signal);
        return answerOf(question, message, 'insecure', Date.now(), 'signatures not checked (ignore-bogus)');
      }
      const answer = await resolver.lookupValidated(question, signal);
      const security = answer.security;
      const reason = 'reason' in security ? (security as { reason?: string }).reason : undefined;
      return answerOf(question, answer.message, statusOf(security), answer.expiresAtMs, reason);
    } catch (error) {
      return {
        name: question.name, type, status: 'indeterminate', outcome: 'failed', owner: question.name, rdata: [],
        expiresAtMs: Date.now(), reason: `no answer: ${errorMessage(error)}`,
      };
    }
  };
}
