/**
 * `oedns lookup NAME [TYPE] [--trace]`: one question through the same upstream pool, chain of
 * trust and validator as `oedns serve`, printed like dig, with the validation status and, with
 * --trace, each step of the chain (which anchor or DS authenticated which DNSKEY RRset, which
 * key signed what, which NSEC/NSEC3 proved what), as `delv +vtrace` does.
 */
import { ChainOfTrust, createHashBudget, createVerifyBudget, Validator, type Verdict } from './dnssec/index.js';
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
  const verdict: Verdict<Message> = await validator.validate(question, message, {
    now: Math.floor(Date.now() / 1000), verify: createVerifyBudget(), hashes: createHashBudget(), signal,
    trace: (step) => steps.push(step),
  });
  printAnswer(options, question, message, verdict, steps);
  return verdict.status === 'secure' || verdict.status === 'insecure' ? 0 : 2;
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
