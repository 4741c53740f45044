/**
 * The pipeline's validator, built from configuration: trust anchors (the built-in IANA root, or
 * files that replace it), negative trust anchors, and the chain of trust whose DNSKEY/DS fetches
 * go back through the pipeline. Turns the validator's verdicts into what the cache keeps.
 */
import { readFile } from 'node:fs/promises';
import { INSECURE, SECURE, type Security } from './cache/index.js';
import type { DnssecConfig } from './config/index.js';
import { ConfigError, errorMessage } from './core/errors.js';
import type { Logger } from './core/log.js';
import {
  ChainOfTrust, createHashBudget, createVerifyBudget, defaultTrustAnchors, MAX_NSEC3_HASHES_PER_ANSWER, MAX_VERIFICATIONS_PER_ANSWER,
  negativeTrustAnchors, parsePresentation, trustAnchorSet, Validator,
  type DnssecFetcher, type HashBudget, type NegativeTrustAnchors, type TrustAnchorSet, type VerifyBudget,
} from './dnssec/index.js';
import type { AnswerValidator } from './pipeline/index.js';
import { typeName, type Message, type Question, type ResourceRecord } from './wire/index.js';

export interface DnssecSetup {
  readonly anchors: TrustAnchorSet;
  readonly insecure: NegativeTrustAnchors;
}

/** Reads the trust anchor files (or takes the built-in root) and the negative anchors; ConfigError on any fault. */
export async function loadDnssecSetup(config: DnssecConfig): Promise<DnssecSetup> {
  let anchors = defaultTrustAnchors();
  if (config.trustAnchorFiles.length > 0) {
    const records: ResourceRecord[] = [];
    for (const file of config.trustAnchorFiles) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        throw new ConfigError(`cannot read trust anchor file ${file}: ${errorMessage(error)}`, { cause: error });
      }
      const parsed = parsePresentation(text, { fileName: file });
      if (parsed.length === 0) throw new ConfigError(`trust anchor file ${file} holds no DS or DNSKEY record`);
      records.push(...parsed);
    }
    anchors = trustAnchorSet(records);
  }
  return { anchors, insecure: negativeTrustAnchors(config.insecure) };
}

/** Work validation has done since start: lets tests and operators bound work (KeyTrap), not time. */
export interface DnssecStats {
  answersValidated: number;
  /** Signature verifications (crypto.verify calls), chain of trust included. */
  verifications: number;
  nsec3Hashes: number;
  /** Answers that used up their whole verification or NSEC3 hash budget. */
  budgetExhausted: number;
}

export class DnssecService implements AnswerValidator {
  private validator: Validator;
  readonly stats: DnssecStats = { answersValidated: 0, verifications: 0, nsec3Hashes: 0, budgetExhausted: 0 };
  /** Answers being validated right now. */
  private inFlight = 0;

  constructor(private readonly fetcher: DnssecFetcher, setup: DnssecSetup, private readonly log: Logger) {
    this.validator = this.build(setup);
  }

  /** New anchors (SIGHUP): a new chain of trust, so nothing learnt under the old anchors is kept. */
  reconfigure(setup: DnssecSetup): void {
    this.validator = this.build(setup);
  }

  private build(setup: DnssecSetup): Validator {
    for (const warning of setup.anchors.warnings) this.log.warn({ warning }, 'trust anchor cannot be used');
    this.log.info({ trustAnchors: setup.anchors.all().map((a) => a.zone), insecure: setup.insecure.all() }, 'DNSSEC validation configured');
    return new Validator(new ChainOfTrust(this.fetcher, setup.anchors, setup.insecure));
  }

  async validate(question: Question, message: Message, signal: AbortSignal): Promise<Security> {
    const validUntil = { epoch: Number.POSITIVE_INFINITY };
    // A lone validation verifies on the event loop thread; when several overlap, the thread pool
    // takes the signatures so that they use the other cores. Inline work stays bounded: at most
    // MAX_VERIFICATIONS_PER_ANSWER (16) verifications of at most 4 KiB each, a few milliseconds.
    const verify = createVerifyBudget(MAX_VERIFICATIONS_PER_ANSWER, () => this.inFlight <= 1);
    const hashes = createHashBudget();
    let verdict;
    this.inFlight += 1;
    try {
      verdict = await this.validator.validate(question, message, { now: Math.floor(Date.now() / 1000), verify, hashes, signal, validUntil });
    } finally {
      this.inFlight -= 1;
      this.count(question, verify, hashes);
    }
    switch (verdict.status) {
      case 'secure':
        return Number.isFinite(validUntil.epoch) ? { status: 'secure', validUntilEpoch: validUntil.epoch } : SECURE;
      case 'insecure':
        return INSECURE;
      default:
        return { status: verdict.status, ede: verdict.ede, reason: verdict.reason };
    }
  }

  private count(question: Question, verify: VerifyBudget, hashes: HashBudget): void {
    const verifications = MAX_VERIFICATIONS_PER_ANSWER - verify.verificationsLeft;
    const nsec3Hashes = MAX_NSEC3_HASHES_PER_ANSWER - hashes.hashesLeft;
    this.stats.answersValidated += 1;
    this.stats.verifications += verifications;
    this.stats.nsec3Hashes += nsec3Hashes;
    if (verify.verificationsLeft <= 0 || hashes.hashesLeft <= 0) {
      this.stats.budgetExhausted += 1;
      this.log.warn({ qname: question.name, qtype: typeName(question.type), verifications, nsec3Hashes }, 'validation budget exhausted');
    }
  }
}
