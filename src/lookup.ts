/**
 * `oedns lookup NAME [TYPE] [--trace] [--json]`: one question through the same upstream pool,
 * chain of trust and validator as `oedns serve`, printed like dig, with the validation status
 * and, with --trace, each step of the chain (which anchor or DS authenticated which DNSKEY RRset,
 * which key signed what, which NSEC/NSEC3 proved what), as `delv +vtrace` does. For A and AAAA
 * also the keys step: the host's IPSECKEY, CERT and TLSA with their status, and the decision
 * `serve` would take. --json prints all of it as one JSON object for scripts.
 */
import { cacheTtlSeconds, type Security } from './cache/index.js';
import { ChainOfTrust, createHashBudget, createVerifyBudget, Validator, type Verdict } from './dnssec/index.js';
import { addressesOf, finalName, gatherHostKeys, type HostDecision, type HostKeys, type KeySet, type ValidatedLookup } from './pipeline/index.js';
import { DecisionRules } from './decision-rules.js';
import { PolicyStore } from './policy/index.js';
import { certText, ipseckeyText, tlsaText } from './records/index.js';
import { createRootLogger } from './core/log.js';
import { errorMessage } from './core/errors.js';
import { loadConfig, type OednsOptions } from './main.js';
import { UpstreamPool } from './upstream/index.js';
import { normalizeName, parseType, recordText, RRClass, RRType, typeName, type Message, type Question } from './wire/index.js';
// Loading records/ teaches recordText to print IPSECKEY, TLSA and CERT as dig does.
import './records/index.js';

export interface LookupOptions extends OednsOptions {
  readonly name: string;
  readonly type: string;
  readonly trace: boolean;
  readonly json?: boolean | undefined;
  readonly write: (line: string) => void;
}

/** Exit status: 0 secure or insecure, 2 bogus, indeterminate or no answer. */
export async function lookup(options: LookupOptions): Promise<number> {
  const type = parseType(options.type);
  if (type === undefined) {
    options.write(`oedns: "${options.type}" is not a record type (write A, AAAA, TLSA or TYPE65534)`);
    return 2;
  }
  const question: Question = { name: normalizeName(options.name), type, class: RRClass.IN };
  const { config, dnssec } = await loadConfig(options);
  const log = createRootLogger('warn', { write: (text: string) => process.stderr.write(text) });
  const upstream = new UpstreamPool(config.upstream, log);
  const signal = AbortSignal.timeout(config.upstream.queryTimeoutMs * 4);
  const ask = async (name: string, qtype: number): Promise<Message> => (await upstream.query({ name, type: qtype, class: RRClass.IN }, true, signal)).message;
  const validator = new Validator(new ChainOfTrust({ fetch: (name, qtype) => ask(name, qtype) }, dnssec.anchors, dnssec.insecure));
  let message: Message;
  try {
    message = await ask(question.name, question.type);
  } catch (error) {
    options.write(`;; ${question.name} ${typeName(type)}: no answer: ${errorMessage(error)}`);
    return 2;
  }
  const steps: string[] = [];
  const validate = (q: Question, m: Message, trace?: (step: string) => void): Promise<Verdict<Message>> => validator.validate(q, m, {
    now: Math.floor(Date.now() / 1000), verify: createVerifyBudget(), hashes: createHashBudget(), signal, trace,
  });
  const verdict = await validate(question, message, (step) => steps.push(step));
  const ok = verdict.status === 'secure' || verdict.status === 'insecure';
  let decision: HostDecision | undefined;
  if (ok && message.rcode === 0 && (type === RRType.A || type === RRType.AAAA) && config.keys.enabled) {
    // The keys step as serve takes it, each key RRset asked and validated like the answer.
    const lookupValidated: ValidatedLookup = async (q) => {
      const m = await ask(q.name, q.type);
      return { message: m, security: securityOf(await validate(q, m)), expiresAtMs: Date.now() + 1000 * cacheTtlSeconds(m, q, config.cache) };
    };
    const name = finalName(question.name, message);
    // The same decision rules as serve (policies or the built-in default, exclusions, TLSA ports).
    const store = config.keys.policiesDir ? await PolicyStore.open({ dir: config.keys.policiesDir, log }) : undefined;
    const { decide, plan, tlsaPorts } = new DecisionRules(config, store).brokerSettings();
    const lookups = plan ? plan({ name, queryName: name === question.name ? undefined : question.name }) : tlsaPorts;
    const keys = await gatherHostKeys(lookupValidated, name, lookups, signal, Date.now());
    const addresses = addressesOf(message, name, type);
    decision = decide({
      qname: question.name, qtype: type, name, addresses, addressStatus: verdict.status,
      addressExpiresAtMs: Date.now() + 1000 * cacheTtlSeconds(message, question, config.cache), keys, nowMs: Date.now(),
    });
  }
  if (options.json) options.write(JSON.stringify(lookupJson(question, message, verdict, steps, decision), null, 2));
  else {
    printAnswer(options, question, message, verdict, steps);
    if (decision) printKeys(options, decision);
  }
  return ok ? 0 : 2;
}

function securityOf(verdict: Verdict<Message>): Security {
  if (verdict.status === 'secure' || verdict.status === 'insecure') return { status: verdict.status };
  return { status: verdict.status, ede: verdict.ede, reason: verdict.reason };
}

function keySetLines<T>(label: string, set: KeySet<T>, text: (record: T) => string): string[] {
  const head = `;;   ${label} ${set.owner}: ${set.status}${set.reason ? ` (${set.reason})` : ''}`;
  if (set.outcome === 'none') return [`${head}, none`];
  if (set.outcome === 'failed') return [`${head}, lookup failed`];
  return [head, ...set.records.map((r) => `;;     ${text(r)}`), ...set.rejected.map((r) => `;;     rejected: ${r}`)];
}

function printKeys(options: LookupOptions, decision: HostDecision): void {
  const { keys } = decision;
  options.write(`;; keys of ${keys.name}:`);
  const lines = [
    ...keySetLines('IPSECKEY', keys.ipseckey, (e) => `${ipseckeyText(e.rdata)}${e.key.kind === 'key' ? ` (${e.key.keyType})` : e.key.kind === 'none' ? ' (no key)' : ` (${e.key.reason})`}`),
    ...keySetLines('CERT', keys.cert, (e) => `${certText(e.rdata).slice(0, 60)}…${e.certificate ? ` (${e.certificate.subject.replace(/\n/g, ', ')})` : ''}`),
    ...[...keys.tlsa.values()].flatMap((set) => keySetLines('TLSA', set, tlsaText)),
  ];
  for (const line of lines) options.write(line);
  options.write(`;; decision (${decision.decidedBy}), holds ${Math.max(0, Math.round((decision.expiresAtMs - Date.now()) / 1000))} s:`);
  for (const a of decision.addresses) {
    const action = a.action.kind === 'protect' ? `protect, level ${a.action.level}` : a.action.kind;
    options.write(`;;   ${a.address}: ${action} (${a.reason})`);
  }
  if (decision.servfail) options.write(`;; the client would get SERVFAIL: ${decision.servfail}`);
}

function keySetJson<T>(set: KeySet<T>, record: (r: T) => unknown) {
  return { owner: set.owner, status: set.status, outcome: set.outcome, reason: set.reason, records: set.records.map(record), rejected: set.rejected, expiresAt: new Date(set.expiresAtMs).toISOString() };
}

function keysJson(keys: HostKeys) {
  return {
    name: keys.name,
    ipseckey: keySetJson(keys.ipseckey, (e) => ({
      text: ipseckeyText(e.rdata), precedence: e.rdata.precedence, keyType: e.key.kind === 'key' ? e.key.keyType : undefined,
      spkiPem: e.key.kind === 'key' ? e.key.spkiPem : undefined, unusable: e.key.kind === 'unsupported' ? e.key.reason : e.key.kind === 'none' ? 'no key' : undefined,
    })),
    cert: keySetJson(keys.cert, (e) => ({ text: certText(e.rdata), subject: e.certificate?.subject, subjectAltName: e.certificate?.subjectAltName, fingerprint256: e.certificate?.fingerprint256 })),
    tlsa: Object.fromEntries([...keys.tlsa].map(([port, set]) => [port, keySetJson(set, (r) => tlsaText(r))])),
  };
}

function lookupJson(question: Question, message: Message, verdict: Verdict<Message>, steps: readonly string[], decision: HostDecision | undefined) {
  return {
    question: { name: question.name, type: typeName(question.type) },
    rcode: message.rcode,
    status: verdict.status,
    reason: 'reason' in verdict ? verdict.reason : undefined,
    ede: 'ede' in verdict ? verdict.ede : undefined,
    answers: verdict.status === 'secure' || verdict.status === 'insecure' ? message.answers.filter((r) => r.type !== RRType.RRSIG).map(recordText) : [],
    chain: steps,
    keys: decision ? keysJson(decision.keys) : undefined,
    decision: decision ? {
      decidedBy: decision.decidedBy, name: decision.name, expiresAt: new Date(decision.expiresAtMs).toISOString(), servfail: decision.servfail,
      addresses: decision.addresses.map((a) => ({ address: a.address, action: a.action.kind, level: a.action.kind === 'protect' ? a.action.level : undefined, keyPrecedence: a.action.kind === 'protect' ? a.action.key.precedence : undefined, reason: a.reason })),
    } : undefined,
  };
}

function printAnswer(options: LookupOptions, question: Question, message: Message, verdict: Verdict<Message>, steps: readonly string[]): void {
  const status = verdict.status === 'secure' ? 'secure' : `${verdict.status}: ${verdict.reason}${'ede' in verdict ? ` (EDE ${verdict.ede})` : ''}`;
  options.write(`;; ${question.name} ${typeName(question.type)}: rcode ${message.rcode}, ${status}`);
  const show = verdict.status === 'secure' || verdict.status === 'insecure';
  if (show) {
    for (const record of message.answers) if (record.type !== RRType.RRSIG || options.trace) options.write(recordText(record));
  }
  if (options.trace) {
    options.write(';; chain of trust:');
    for (const step of steps) options.write(`;;   ${step}`);
  }
}
