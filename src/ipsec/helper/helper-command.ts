/**
 * `oedns ipsec-helper`: the privileged helper as a process. It runs as root (CAP_NET_ADMIN for
 * xfrm), opens its socket 0660 for one group (the group `oedns serve` runs in), and does nothing
 * but apply, list and remove policies through one backend. No DNS, no files of the network's.
 *
 * vici (strongSwan) is not offered yet: its backend needs the local IKE key, which would then
 * live with the helper; that comes with the vici backend.
 */
import type { Argv, CommandModule } from 'yargs';
import { AppError, ConfigError, errorMessage } from '../../core/errors.js';
import { resolveGroup } from '../../core/unix-socket.js';
import { createRootLogger, LOG_LEVELS, type Logger, type LogLevel } from '../../core/log.js';
import type { IpsecBackend } from '../backend.js';
import { DryRunBackend } from '../dry-run.js';
import { SetkeyBackend } from '../setkey/index.js';
import { XfrmBackend } from '../xfrm/xfrm-backend.js';
import { HelperServer } from './helper-server.js';

export const HELPER_DAEMON_BACKENDS = ['xfrm', 'setkey', 'dry-run'] as const;
export type HelperBackendChoice = (typeof HELPER_DAEMON_BACKENDS)[number];

export interface IpsecHelperOptions {
  readonly socketPath: string;
  /** Group name or number whose members may connect. */
  readonly group?: string | undefined;
  readonly backend: HelperBackendChoice;
  readonly netns?: string | undefined;
  readonly setkeyPath?: string | undefined;
  readonly log: Logger;
}

function backendFor(options: IpsecHelperOptions): IpsecBackend {
  switch (options.backend) {
    case 'xfrm': return new XfrmBackend({ netns: options.netns });
    case 'setkey': return new SetkeyBackend({ setkeyPath: options.setkeyPath, log: options.log.child({ mod: 'ipsec' }) });
    case 'dry-run': return new DryRunBackend({ name: 'dry-run' });
  }
}

/** Starts the helper: checks the backend can list (so missing privileges show now), then listens. */
export async function startIpsecHelper(options: IpsecHelperOptions): Promise<HelperServer> {
  if (options.netns !== undefined && options.backend !== 'xfrm') throw new ConfigError('--ipsec-netns applies to --ipsec-backend xfrm only');
  if (options.setkeyPath !== undefined && options.backend !== 'setkey') throw new ConfigError('--setkey-path applies to --ipsec-backend setkey only');
  const gid = options.group === undefined ? undefined : await resolveGroup(options.group, '--group');
  const backend = backendFor(options);
  await backend.list(AbortSignal.timeout(10_000));
  const log = options.log.child({ mod: 'ipsec-helper' });
  log.info({ backend: options.backend, netns: options.netns, uid: process.getuid?.(), pid: process.pid }, 'IPsec helper starting');
  return HelperServer.listen({ socketPath: options.socketPath, backend, log, gid });
}

interface HelperArgs {
  readonly socket: string;
  readonly group?: string | undefined;
  readonly 'ipsec-backend': string;
  readonly 'ipsec-netns'?: string | undefined;
  readonly 'setkey-path'?: string | undefined;
  readonly 'log-level'?: string | undefined;
}

/** `oedns ipsec-helper ...`, for `yargs().command(ipsecHelperCommand)`. */
export const ipsecHelperCommand: CommandModule<object, HelperArgs> = {
  command: 'ipsec-helper',
  describe: 'run the privileged IPsec helper: applies policies for an unprivileged `oedns serve --ipsec-backend helper`',
  builder: (y: Argv) => y
    .option('socket', { type: 'string', demandOption: true, describe: 'UNIX socket to listen on (mode 0660)' })
    .option('group', { type: 'string', describe: 'NAME or GID allowed to connect: the group oedns serve runs in' })
    .option('ipsec-backend', { type: 'string', choices: HELPER_DAEMON_BACKENDS, demandOption: true, describe: 'the backend the helper drives: xfrm (needs CAP_NET_ADMIN), setkey, dry-run' })
    .option('ipsec-netns', { type: 'string', describe: 'network namespace to apply kernel policies in (xfrm; labs and tests)' })
    .option('setkey-path', { type: 'string', describe: 'the setkey executable (setkey)' })
    .option('log-level', { type: 'string', choices: LOG_LEVELS, default: 'info', describe: 'pino log level' }) as unknown as Argv<HelperArgs>,
  handler: async (argv) => {
    const root = createRootLogger((argv['log-level'] ?? 'info') as LogLevel);
    const log = root.child({ mod: 'ipsec-helper' });
    let server: HelperServer;
    try {
      server = await startIpsecHelper({
        socketPath: argv.socket, group: argv.group, backend: argv['ipsec-backend'] as HelperBackendChoice,
        netns: argv['ipsec-netns'], setkeyPath: argv['setkey-path'], log: root,
      });
    } catch (error) {
      const code = error instanceof AppError ? error.code : 'ERR_STARTUP';
      process.stderr.write(`oedns: ${errorMessage(error)}\n`);
      log.fatal({ code, err: errorMessage(error) }, 'IPsec helper failed to start');
      process.exit(error instanceof AppError ? 2 : 1);
    }
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'IPsec helper shutting down; policies stay installed');
      server.close().then(() => process.exit(0), (error: unknown) => {
        process.stderr.write(`oedns: ipsec-helper shutdown failed: ${errorMessage(error)}\n`);
        process.exit(1);
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  },
};
