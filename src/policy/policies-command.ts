/**
 * `oedns policies check [--policies DIR] [--name N --address A] [--upstream IP[:PORT]]`:
 * validates a policy directory (exit status 2 on any error, each printed as file:line:col),
 * warns about rules no traffic can reach, and with --name/--address prints the rule that
 * matches and why, with the decision for each key state.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandModule } from 'yargs';
import { parseEndpoint } from '../config/index.js';
import { AppError, errorMessage } from '../core/errors.js';
import { PolicyError, formatIssue } from './errors.js';
import { excludedRanges, type ExcludedRange } from './exclusions.js';
import { explainMatch, summarizePolicySet } from './explain.js';
import { loadPolicyDir } from './policy-dir.js';
import type { PolicySet } from './rule.js';
import { findShadowedRules } from './shadow.js';

/** The `policies/` folder shipped in the package (beside dist/ and src/). */
export const SHIPPED_POLICIES_DIR = fileURLToPath(new URL('../../policies/', import.meta.url));

/** issue 5: `policies/` beside the config file; without one, the shipped folder. */
export function defaultPoliciesDir(configFile?: string): string {
  return configFile === undefined ? SHIPPED_POLICIES_DIR : join(dirname(configFile), 'policies');
}

export interface PoliciesCheckOptions {
  readonly dir: string;
  readonly name?: string | undefined;
  readonly address?: string | undefined;
  /** Upstream resolvers (IP or IP:PORT) whose exclusion to apply, as `serve` would. */
  readonly upstreams?: readonly string[] | undefined;
  readonly write: (line: string) => void;
  readonly writeError: (line: string) => void;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Exit status: 0 when the set loads (warnings allowed), 2 on any error. */
export async function runPoliciesCheck(options: PoliciesCheckOptions): Promise<number> {
  const { write, writeError } = options;
  let set: PolicySet;
  try {
    set = await loadPolicyDir(options.dir);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    for (const issue of error.issues) writeError(`error: ${formatIssue(issue)}`);
    writeError(`${options.dir}: ${error.issues.length} error${error.issues.length === 1 ? '' : 's'}; the set is rejected`);
    return 2;
  }
  const summary = summarizePolicySet(set);
  const counts = Object.entries(summary.actions).filter(([, n]) => n > 0).map(([a, n]) => `${a} ${n}`).join(', ');
  write(`${options.dir}: ${plural(summary.files, 'file')}, ${plural(summary.rules, 'rule')}${counts ? ` (${counts})` : ''}, tried in this order:`);
  for (const file of set.files) write(`  ${file}: ${plural(set.rules.filter((r) => r.position.file === file).length, 'rule')}`);
  if (set.rules.length === 0) writeError('warning: no rules: oedns will install nothing for any address');
  for (const shadowed of findShadowedRules(set)) writeError(`warning: ${shadowed.message}`);
  if (options.name === undefined || options.address === undefined) return 0;
  let ranges: readonly ExcludedRange[];
  try {
    const upstreams = (options.upstreams ?? []).map((u) => parseEndpoint(u, 53, 'upstream').address);
    ranges = excludedRanges({ upstreams, localAddresses: [] });
  } catch (error) {
    writeError(`error: ${errorMessage(error)}`);
    return 2;
  }
  const lines = explainMatch(set, { name: options.name }, options.address, ranges);
  if (lines.length === 1) {
    writeError(`error: --address ${lines[0] ?? ''}`);
    return 2;
  }
  for (const line of lines) write(line);
  return 0;
}

interface CheckArgs {
  readonly policies?: string | undefined;
  readonly config?: string | undefined;
  readonly name?: string | undefined;
  readonly address?: string | undefined;
  readonly upstream?: readonly string[] | undefined;
}

const checkCommand: CommandModule<object, CheckArgs> = {
  command: 'check',
  describe: 'validate the policy files; with --name and --address, show the rule that matches and why',
  builder: (y) => y
    .option('policies', { type: 'string', describe: 'policy directory (default: policies/ beside --config, else the shipped one)' })
    .option('config', { type: 'string', describe: 'the YAML config of oedns serve (locates policies/ beside it)' })
    .option('name', { type: 'string', describe: 'domain name to match' })
    .option('address', { type: 'string', describe: 'IPv4 or IPv6 address to match' })
    .option('upstream', { type: 'string', array: true, nargs: 1, describe: 'IP[:PORT] of an upstream resolver, excluded as in serve (repeatable)' })
    .implies('name', 'address')
    .implies('address', 'name'),
  handler: async (argv) => {
    try {
      process.exitCode = await runPoliciesCheck({
        dir: argv.policies ?? defaultPoliciesDir(argv.config),
        name: argv.name,
        address: argv.address,
        upstreams: argv.upstream?.map(String),
        write: (line) => process.stdout.write(`${line}\n`),
        writeError: (line) => process.stderr.write(`${line}\n`),
      });
    } catch (error) {
      process.stderr.write(`oedns: ${errorMessage(error)}\n`);
      process.exitCode = error instanceof AppError ? 2 : 1;
    }
  },
};

/** `oedns policies <check>`, for `yargs().command(policiesCommand)`. */
export const policiesCommand: CommandModule<object, object> = {
  command: 'policies',
  describe: 'work with policy files (see: oedns policies check --help)',
  builder: (y) => y.command(checkCommand).demandCommand(1, 'name a subcommand: oedns policies check'),
  handler: () => undefined,
};
