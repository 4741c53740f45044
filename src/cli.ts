#!/usr/bin/env -S node --max-old-space-size=512
/**
 * The `oedns` command. Startup errors are fatal and printed as one clear line plus a JSON log.
 *
 * The shebang caps V8's old space at 512 MiB: with the default (a quarter of the machine's
 * memory) V8 lets the heap grow to about three times the live data before collecting, which
 * puts a 100,000-name cache at 240 MB RSS instead of 170 MB. scripts/serve.sh passes the same.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { AppError, errorMessage } from './core/errors.js';
import { LOG_LEVELS } from './core/log.js';
import { lookup } from './lookup.js';
import { Oedns } from './main.js';
import { policiesCommand } from './policy/index.js';
import { recordCommand } from './records/index.js';
import { ipsecHelperCommand, statusCommand } from './ipsec/index.js';
import type { Settings } from './config/index.js';
import { tunnelCommand } from './tls/tunnel-command.js';
import { tlsDaemonCommand } from './tls/control/daemon-command.js';
import { tlsExecCommand } from './tls/exec-command.js';

async function serve(argv: Record<string, unknown>): Promise<void> {
  const list = (key: string): string[] | undefined => (argv[key] as string[] | undefined)?.map(String);
  const number = (key: string): number | undefined => argv[key] as number | undefined;
  const flags: Settings = {
    listen: list('listen'),
    upstream: list('upstream'),
    'trust-anchor': list('trust-anchor'),
    insecure: list('insecure'),
    'log-level': argv['log-level'] as string | undefined,
    'cache-max-entries': number('cache-max-entries'),
    'cache-max-mb': number('cache-max-mb'),
    'cache-max-ttl': number('cache-max-ttl'),
    'cache-min-ttl': number('cache-min-ttl'),
    'negative-max-ttl': number('negative-max-ttl'),
    'upstream-timeout-ms': number('upstream-timeout-ms'),
    'query-timeout-ms': number('query-timeout-ms'),
    'upstream-dead-seconds': number('upstream-dead-seconds'),
    'tcp-idle-timeout-ms': number('tcp-idle-timeout-ms'),
    'tcp-max-connections': number('tcp-max-connections'),
    keys: argv['keys'] as boolean | undefined,
    'tlsa-port': list('tlsa-port'),
    'answer-timeout-ms': number('answer-timeout-ms'),
    'answer-timeout-action': argv['answer-timeout-action'] as string | undefined,
    policies: argv['policies'] as string | undefined,
    'ipsec-backend': argv['ipsec-backend'] as string | undefined,
    'ipsec-netns': argv['ipsec-netns'] as string | undefined,
    'setkey-path': argv['setkey-path'] as string | undefined,
    'state-dir': argv['state-dir'] as string | undefined,
    'control-socket': argv['control-socket'] as string | undefined,
    'vici-socket': argv['vici-socket'] as string | undefined,
    'ike-identity': argv['ike-identity'] as string | undefined,
    'ike-key': argv['ike-key'] as string | undefined,
    'ipsec-helper-socket': argv['ipsec-helper-socket'] as string | undefined,
    'racoon-peer-dir': argv['racoon-peer-dir'] as string | undefined,
    'racoonctl-path': argv['racoonctl-path'] as string | undefined,
  };
  let oedns: Oedns;
  try {
    oedns = await Oedns.start({
      flags,
      configFile: argv['config'] as string | undefined,
      resolvConfPath: argv['resolv-conf'] as string | undefined,
    });
  } catch (error) {
    const code = error instanceof AppError ? error.code : 'ERR_STARTUP';
    process.stderr.write(`oedns: ${errorMessage(error)}\n`);
    process.stderr.write(`${JSON.stringify({ level: 'fatal', code, msg: errorMessage(error) })}\n`);
    process.exit(error instanceof AppError ? 2 : 1);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    oedns.log.info({ signal }, 'shutting down');
    oedns.stop().then(() => process.exit(0), (error: unknown) => {
      process.stderr.write(`oedns: shutdown failed: ${errorMessage(error)}\n`);
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    oedns.log.info({ signal: 'SIGHUP' }, 'reloading configuration');
    void oedns.reload();
  });
}

const numberOption = (describe: string) => ({ type: 'number' as const, describe, group: 'Tuning:' });

await yargs(hideBin(process.argv))
  .scriptName('oedns')
  .usage('$0 <command> [options]')
  .command(
    'serve',
    'run the forwarding resolver',
    (y) => y
      .option('listen', { type: 'string', array: true, nargs: 1, describe: 'ADDR[:PORT] to listen on, UDP and TCP (repeatable; default 127.0.0.1:53 and [::1]:53)' })
      .option('upstream', { type: 'string', array: true, nargs: 1, describe: 'IP[:PORT] of a resolver to forward to (repeatable; default: nameservers in /etc/resolv.conf)' })
      .option('trust-anchor', { type: 'string', array: true, nargs: 1, describe: 'FILE of zone-file DS/DNSKEY lines; replaces the built-in IANA root anchors (repeatable)', group: 'DNSSEC:' })
      .option('insecure', { type: 'string', array: true, nargs: 1, describe: 'DOMAIN not to validate: a negative trust anchor, RFC 7646 (repeatable)', group: 'DNSSEC:' })
      .option('config', { type: 'string', describe: 'YAML file whose keys mirror these flags; flags win; re-read on SIGHUP' })
      .option('resolv-conf', { type: 'string', describe: 'where to read default upstreams', default: '/etc/resolv.conf' })
      .option('log-level', { type: 'string', choices: LOG_LEVELS, describe: 'pino log level (default info)' })
      .option('cache-max-entries', numberOption('answers kept in the cache (default 250000)'))
      .option('cache-max-mb', numberOption('estimated cache memory bound in MiB (default 128)'))
      .option('cache-max-ttl', numberOption('longest time an answer is cached, seconds (default 86400)'))
      .option('cache-min-ttl', numberOption('shortest time an answer is cached, seconds (default 0)'))
      .option('negative-max-ttl', numberOption('longest time NXDOMAIN/NODATA is cached, seconds (default 3600)'))
      .option('upstream-timeout-ms', numberOption('one attempt at one upstream (default 1500)'))
      .option('query-timeout-ms', numberOption('a whole query across retries and failover (default 5000)'))
      .option('upstream-dead-seconds', numberOption('how long an upstream that failed is skipped (default 30)'))
      .option('tcp-idle-timeout-ms', numberOption('idle TCP client connections are closed after this (default 10000)'))
      .option('tcp-max-connections', numberOption('TCP client connections per listener (default 512)'))
      .option('keys', { type: 'boolean', describe: 'look up IPSECKEY, CERT and TLSA for every A/AAAA answer and decide on them (default true; --no-keys: a plain resolver)', group: 'Keys:' })
      .option('tlsa-port', { type: 'string', array: true, nargs: 1, describe: 'PORT[/tcp|udp|sctp] whose TLSA (_PORT._PROTO.NAME) is looked up with each A/AAAA answer (repeatable)', group: 'Keys:' })
      .option('answer-timeout-ms', { type: 'number', describe: 'how long an A/AAAA answer waits for its decision to be in place (default 2000)', group: 'Keys:' })
      .option('answer-timeout-action', { type: 'string', choices: ['answer', 'servfail'], describe: 'what happens then: answer anyway (default) or SERVFAIL', group: 'Keys:' })
      .option('policies', { type: 'string', describe: 'DIR of policy files (default: policies/ beside --config if it exists, else the built-in opportunistic default)', group: 'Keys:' })
      .option('ipsec-backend', { type: 'string', choices: ['none', 'dry-run', 'xfrm', 'setkey', 'racoon', 'vici', 'helper'], describe: 'where decisions become IPsec policies: none (default; subscribers only), dry-run (recorded and logged), xfrm (the kernel SPD through ip xfrm; needs CAP_NET_ADMIN), setkey, racoon (setkey + racoon peer files), vici (strongSwan charon), helper (the privileged oedns ipsec-helper)', group: 'IPsec:' })
      .option('ipsec-netns', { type: 'string', describe: 'network namespace to apply kernel policies in (labs and tests)', group: 'IPsec:' })
      .option('setkey-path', { type: 'string', describe: 'the setkey executable for --ipsec-backend setkey|racoon (BSD, or Linux with ipsec-tools and PF_KEY)', group: 'IPsec:' })
      .option('state-dir', { type: 'string', describe: 'where oedns records the policies it installed, to clean up after a crash (default /var/lib/oedns)', group: 'IPsec:' })
      .option('control-socket', { type: 'string', describe: 'UNIX socket `oedns status` asks (default /run/oedns/control.sock)', group: 'IPsec:' })
      .option('vici-socket', { type: 'string', describe: "charon's VICI socket for --ipsec-backend vici (default /var/run/charon.vici)", group: 'IPsec:' })
      .option('ike-identity', { type: 'string', describe: "this host's IKE identity, an FQDN (vici, racoon)", group: 'IPsec:' })
      .option('ike-key', { type: 'string', describe: "this host's private key file: PKCS#8 PEM (vici), plainrsa-gen format (racoon)", group: 'IPsec:' })
      .option('ipsec-helper-socket', { type: 'string', describe: 'the socket of `oedns ipsec-helper` for --ipsec-backend helper', group: 'IPsec:' })
      .option('racoon-peer-dir', { type: 'string', describe: "directory racoon.conf includes for oedns' peer files (default /var/lib/oedns/racoon)", group: 'IPsec:' })
      .option('racoonctl-path', { type: 'string', describe: 'the racoonctl executable (--ipsec-backend racoon)', group: 'IPsec:' }),
    (argv) => serve(argv as Record<string, unknown>),
  )
  .command(
    'lookup <name> [type]',
    'resolve and validate one name through the configured upstreams, printing the DNSSEC status',
    (y) => y
      .positional('name', { type: 'string', demandOption: true, describe: 'domain name' })
      .positional('type', { type: 'string', default: 'A', describe: 'record type (A, AAAA, TLSA, TYPE65534, ...)' })
      .option('trace', { type: 'boolean', default: false, describe: 'print the chain of trust step by step' })
      .option('json', { type: 'boolean', default: false, describe: 'print everything as one JSON object' })
      .option('tlsa-port', { type: 'string', array: true, nargs: 1, describe: 'PORT[/tcp|udp|sctp] whose TLSA is shown with A/AAAA (repeatable)' })
      .option('policies', { type: 'string', describe: 'DIR of policy files to decide by (as for serve)' })
      .option('upstream', { type: 'string', array: true, nargs: 1, describe: 'IP[:PORT] of a resolver to ask (default: as for serve)' })
      .option('trust-anchor', { type: 'string', array: true, nargs: 1, describe: 'FILE of zone-file DS/DNSKEY lines replacing the IANA root anchors' })
      .option('insecure', { type: 'string', array: true, nargs: 1, describe: 'DOMAIN not to validate (negative trust anchor)' })
      .option('config', { type: 'string', describe: 'the YAML file of oedns serve' })
      .option('resolv-conf', { type: 'string', default: '/etc/resolv.conf', describe: 'where default upstreams come from' }),
    async (argv) => {
      const list = (key: string): string[] | undefined => (argv[key] as string[] | undefined)?.map(String);
      try {
        const status = await lookup({
          name: String(argv.name), type: String(argv.type), trace: Boolean(argv.trace), json: Boolean(argv.json),
          flags: { upstream: list('upstream'), 'trust-anchor': list('trust-anchor'), insecure: list('insecure'), 'tlsa-port': list('tlsa-port'), policies: argv['policies'] as string | undefined, 'log-level': 'warn' },
          configFile: argv['config'] as string | undefined,
          resolvConfPath: argv['resolv-conf'] as string | undefined,
          write: (line) => process.stdout.write(`${line}\n`),
        });
        process.exit(status);
      } catch (error) {
        process.stderr.write(`oedns: ${errorMessage(error)}\n`);
        process.exit(2);
      }
    },
  )
  .command(recordCommand())
  .command(policiesCommand)
  .command(statusCommand)
  .command(ipsecHelperCommand)
  .command(tunnelCommand)
  .command(tlsDaemonCommand)
  .command(tlsExecCommand)
  .demandCommand(1, 'name a command: oedns serve, lookup, record, policies, status, tunnel, tls-daemon or tls-exec')
  .strict()
  .help()
  .parseAsync()
  .catch((error: unknown) => {
    process.stderr.write(`oedns: ${errorMessage(error)}\n`);
    process.exit(2);
  });
