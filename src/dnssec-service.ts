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
  ChainOfTrust, createHashBudget, createVerifyBudget, defaultTrustAnchors, negativeTrustAnchors, parsePresentation, trustAnchorSet, Validator,
  type DnssecFetcher, type NegativeTrustAnchors, type TrustAnchorSet,
} from './dnssec/index.js';
import type { AnswerValidator } from './pipeline/index.js';
import type { Message, Question, ResourceRecord } from './wire/index.js';

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

export class DnssecService implements AnswerValidator {
  private validator: Validator;

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
    const verdict = await this.validator.validate(question, message, {
      now: Math.floor(Date.now() / 1000), verify: createVerifyBudget(), hashes: createHashBudget(), signal, validUntil,
    });
    switch (verdict.status) {
      case 'secure':
        return Number.isFinite(validUntil.epoch) ? { status: 'secure', validUntilEpoch: validUntil.epoch } : SECURE;
      case 'insecure':
        return INSECURE;
      default:
        return { status: verdict.status, ede: verdict.ede, reason: verdict.reason };
    }
  }
}
