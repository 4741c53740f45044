/**
 * `oedns tls-exec [--starttls smtp] [--flag WORD...] NAME PORT -- program [args...]` (exec.ts).
 * Usage and configuration errors exit 100 (UCSPI's permanent failure); a connection that is not
 * made or not trusted exits 111; otherwise the program's status is oedns' status.
 */
import type { Argv, CommandModule } from 'yargs';
import { errorMessage } from '../core/errors.js';
import { openTlsRuntime, tlsRuntimeOptions, withTlsRuntimeOptions } from '../tls-runtime.js';
import { parseName, parsePort, ProtocolError } from './control/index.js';
import { EXIT_USAGE, runTlsExec } from './exec.js';
import { tlsFlagsFromArgv, withTlsFlagOptions } from './flag-options.js';
import { FLAG_WORDS, type TlsFlags } from './session.js';

interface ExecArgs {
  readonly name: string;
  readonly port: string;
  readonly starttls?: string | undefined;
  readonly flag?: readonly string[] | undefined;
  readonly helo?: string | undefined;
  readonly '--'?: readonly string[] | undefined;
  readonly _: readonly (string | number)[];
  readonly [key: string]: unknown;
}

/** The checks to switch off: `--flag WORD` (the control socket's words) and `--no-dane` style options alike. */
function flagsOf(argv: ExecArgs): TlsFlags {
  const flags: Record<keyof TlsFlags, boolean> = { ...tlsFlagsFromArgv(argv) };
  for (const word of argv.flag ?? []) flags[FLAG_WORDS[word as keyof typeof FLAG_WORDS]] = true;
  return flags;
}

/** The program and its arguments: what follows `--`. */
function programOf(argv: ExecArgs): readonly string[] {
  const rest = argv['--'] ?? argv._.slice(1).map(String);
  if (rest.length === 0) throw new ProtocolError('name the program to run after --: oedns tls-exec NAME PORT -- program [args...]');
  return rest;
}

export async function tlsExec(argv: ExecArgs): Promise<number> {
  let program: readonly string[];
  let name: string;
  let port: number;
  try {
    program = programOf(argv);
    name = parseName(argv.name);
    port = parsePort(String(argv.port));
  } catch (error) {
    process.stderr.write(`oedns: ${errorMessage(error)}\n`);
    return EXIT_USAGE;
  }
  let runtime;
  try {
    runtime = await openTlsRuntime(tlsRuntimeOptions(argv));
  } catch (error) {
    process.stderr.write(`oedns: ${errorMessage(error)}\n`);
    return EXIT_USAGE;
  }
  // SIGTERM or SIGINT to oedns ends the program too, instead of leaving it without its peer.
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return runTlsExec({
    signal: controller.signal, name, port, starttls: argv.starttls === 'smtp' ? 'smtp' : undefined, helo: argv.helo, flags: flagsOf(argv),
    program: program[0]!, args: program.slice(1), engine: runtime.engine, lookup: runtime.lookup, log: runtime.log.child({ part: 'tls-exec' }),
  });
}

/** `oedns tls-exec ...`, for `yargs().command(tlsExecCommand)`. */
export const tlsExecCommand: CommandModule<object, ExecArgs> = {
  command: 'tls-exec <name> <port>',
  describe: 'connect with DANE-checked TLS, then run a program with the plaintext on fds 6 (read) and 7 (write) and the TLS state in its environment (UCSPI-SSL sslclient)',
  builder: (y: Argv) => withTlsFlagOptions(withTlsRuntimeOptions(y
    .parserConfiguration({ 'populate--': true })
    .positional('name', { type: 'string', demandOption: true, describe: 'host name to connect to (with --starttls smtp: the mail domain, whose MX hosts are used)' })
    .positional('port', { type: 'string', demandOption: true, describe: 'TCP port (25 for SMTP between domains)' })
    .option('starttls', { type: 'string', choices: ['smtp'], describe: 'speak the protocol up to STARTTLS first (smtp: RFC 3207 with RFC 7672 DANE)', group: 'TLS:' })
    .option('helo', { type: 'string', describe: 'EHLO name with --starttls smtp (default: an address literal of this side)', group: 'TLS:' })
    .option('flag', { type: 'string', array: true, nargs: 1, choices: Object.keys(FLAG_WORDS), describe: 'a check to switch off, as the control socket spells it (repeatable)', group: 'Checks (seed 000 flags):' }))) as unknown as Argv<ExecArgs>,
  handler: async (argv) => {
    let status: number;
    try {
      status = await tlsExec(argv);
    } catch (error) {
      process.stderr.write(`oedns: ERR INTERNAL ${errorMessage(error)}\n`);
      status = 111;
    }
    process.exit(status);
  },
};
