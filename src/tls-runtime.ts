/**
 * What every TLS command (tunnel, tls-daemon, tls-exec) stands on: the configuration as `serve`
 * reads it (flags, config file, resolv.conf, trust anchors), a validating resolver of its own
 * (resolver-stack.ts), the NameLookup over it, the key server check, and the TLS engine. Logs go
 * to stderr: tls-exec's program owns stdout.
 */
import { readFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import type { Settings } from './config/index.js';
import { ConfigError, errorMessage } from './core/errors.js';
import { createRootLogger, LOG_LEVELS, type Logger } from './core/log.js';
import { createUserKeyCheck } from './ldap/index.js';
import { loadConfig } from './main.js';
import { createResolverStack, type ResolverStack } from './resolver-stack.js';
import { createTlsEngine, type NameLookup, type TlsEngine } from './tls/index.js';
import { resolverNameLookup } from './tls-names.js';

export interface TlsRuntimeOptions {
  readonly flags: Settings;
  readonly configFile?: string | undefined;
  readonly resolvConfPath?: string | undefined;
  /** This side's certificate (with its chain) and key files. */
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  /** CA bundle for PKIX; default the system's. */
  readonly caFile?: string | undefined;
  readonly handshakeTimeoutMs?: number | undefined;
  /** Log sink; default stderr. */
  readonly logDestination?: import('pino').DestinationStream | undefined;
}

export interface TlsRuntime {
  readonly engine: TlsEngine;
  readonly lookup: NameLookup;
  readonly log: Logger;
  readonly stack: ResolverStack;
}

async function readPem(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${what} ${file}: ${errorMessage(error)}`, { cause: error });
  }
}

export async function openTlsRuntime(options: TlsRuntimeOptions): Promise<TlsRuntime> {
  const { config, dnssec } = await loadConfig(options);
  const log = createRootLogger(config.logLevel, options.logDestination ?? { write: (text: string) => process.stderr.write(text) });
  const stack = createResolverStack(config, dnssec, {
    upstream: log.child({ mod: 'upstream' }), pipeline: log.child({ mod: 'pipeline' }), dnssec: log.child({ mod: 'dnssec' }),
  });
  const lookup = resolverNameLookup(stack.resolver);
  if ((options.certFile === undefined) !== (options.keyFile === undefined)) throw new ConfigError('--cert and --key go together');
  const credentials = options.certFile && options.keyFile
    ? { certPem: await readPem(options.certFile, 'certificate'), keyPem: await readPem(options.keyFile, 'key') }
    : undefined;
  const caPem = options.caFile ? await readPem(options.caFile, 'CA file') : undefined;
  const tlsLog = log.child({ mod: 'tls' });
  let engine: TlsEngine | undefined;
  const userKeys = createUserKeyCheck({ lookup, connect: (target, flags, signal) => engine!.connect(target, flags, signal), log: log.child({ mod: 'ldap' }) });
  engine = createTlsEngine({ lookup, log: tlsLog, credentials, caPem, userKeys, handshakeTimeoutMs: options.handshakeTimeoutMs });
  return { engine, lookup, log: tlsLog, stack };
}

/** The options every TLS command takes: where DNS comes from, and this side's credentials. */
export function withTlsRuntimeOptions<T>(y: Argv<T>) {
  return y
    .option('upstream', { type: 'string', array: true, nargs: 1, describe: 'IP[:PORT] of a resolver to ask (default: /etc/resolv.conf, e.g. oedns serve)', group: 'DNS:' })
    .option('trust-anchor', { type: 'string', array: true, nargs: 1, describe: 'FILE of DS/DNSKEY lines replacing the IANA root anchors', group: 'DNS:' })
    .option('insecure', { type: 'string', array: true, nargs: 1, describe: 'DOMAIN not to validate (negative trust anchor)', group: 'DNS:' })
    .option('config', { type: 'string', describe: 'the YAML file of oedns serve', group: 'DNS:' })
    .option('resolv-conf', { type: 'string', default: '/etc/resolv.conf', describe: 'where default upstreams come from', group: 'DNS:' })
    .option('cert', { type: 'string', describe: "this side's certificate FILE (PEM, followed by its chain)", group: 'TLS:' })
    .option('key', { type: 'string', describe: "this side's private key FILE (PEM)", group: 'TLS:' })
    .option('ca-file', { type: 'string', describe: 'CA bundle for PKIX checks (default: the system store)', group: 'TLS:' })
    .option('handshake-timeout-ms', { type: 'number', describe: 'connect + handshake + checks, per peer (default 10000)', group: 'TLS:' })
    .option('log-level', { type: 'string', choices: LOG_LEVELS, describe: 'pino log level, to stderr (default info)' });
}

/** TlsRuntimeOptions from the parsed options of withTlsRuntimeOptions. */
export function tlsRuntimeOptions(argv: Record<string, unknown>): TlsRuntimeOptions {
  const list = (key: string): string[] | undefined => (argv[key] as string[] | undefined)?.map(String);
  return {
    flags: { upstream: list('upstream'), 'trust-anchor': list('trust-anchor'), insecure: list('insecure'), 'log-level': argv['log-level'] as string | undefined, keys: false },
    configFile: argv['config'] as string | undefined,
    resolvConfPath: argv['resolv-conf'] as string | undefined,
    certFile: argv['cert'] as string | undefined,
    keyFile: argv['key'] as string | undefined,
    caFile: argv['ca-file'] as string | undefined,
    handshakeTimeoutMs: argv['handshake-timeout-ms'] as number | undefined,
  };
}
