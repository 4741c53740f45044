/**
 * `oedns tls-daemon`: the control-socket daemon as a process, over its own validating resolver
 * (tls-runtime.ts). It runs as a user that may read the server key; who may ask it for TLS is
 * decided by the socket's mode and group.
 */
import type { Argv, CommandModule } from 'yargs';
import { AppError, errorMessage } from '../../core/errors.js';
import { openTlsRuntime, tlsRuntimeOptions, withTlsRuntimeOptions } from '../../tls-runtime.js';
import { DEFAULT_SOCKET_MODE, DEFAULT_TLS_SOCKET, MAX_CONNECTIONS, TlsDaemon } from './daemon.js';
import { parseListenerSpec } from './peer-listener.js';
import { parseSocketMode, resolveGroup } from '../../core/unix-socket.js';

interface DaemonArgs {
  readonly socket: string;
  readonly 'socket-group'?: string | undefined;
  readonly 'socket-mode': string;
  readonly listener?: readonly string[] | undefined;
  readonly 'max-connections'?: number | undefined;
  readonly [key: string]: unknown;
}

/** Starts the daemon from parsed options; the caller stops it. */
export async function startTlsDaemon(argv: DaemonArgs): Promise<TlsDaemon> {
  const listeners = (argv.listener ?? []).map(String).map(parseListenerSpec);
  const socketMode = parseSocketMode(argv['socket-mode'], '--socket-mode');
  const gid = argv['socket-group'] === undefined ? undefined : await resolveGroup(argv['socket-group'], '--socket-group');
  const runtime = await openTlsRuntime(tlsRuntimeOptions(argv));
  return TlsDaemon.start({
    socketPath: argv.socket, socketMode, gid, listeners, engine: runtime.engine, lookup: runtime.lookup,
    log: runtime.log.child({ part: 'tls-daemon' }), maxConnections: argv['max-connections'],
  });
}

/** `oedns tls-daemon ...`, for `yargs().command(tlsDaemonCommand)`. */
export const tlsDaemonCommand: CommandModule<object, DaemonArgs> = {
  command: 'tls-daemon',
  describe: 'run the start-tls/recv-tls daemon on a UNIX socket (DANE- and LDAP-checked TLS for local applications)',
  builder: (y: Argv) => withTlsRuntimeOptions(y
    .option('socket', { type: 'string', default: DEFAULT_TLS_SOCKET, describe: 'UNIX socket to listen on', group: 'Daemon:' })
    .option('socket-group', { type: 'string', describe: 'NAME (from /etc/group) or GID whose members may connect', group: 'Daemon:' })
    .option('socket-mode', { type: 'string', default: `0${DEFAULT_SOCKET_MODE.toString(8)}`, describe: 'octal file mode of the socket', group: 'Daemon:' })
    .option('listener', { type: 'string', array: true, nargs: 1, describe: 'NAME=ADDR:PORT[,require-cert]: a TCP listener for recv-tls/accept (repeatable)', group: 'Daemon:' })
    .option('max-connections', { type: 'number', describe: `control connections at once, relays included (default ${MAX_CONNECTIONS})`, group: 'Daemon:' })) as unknown as Argv<DaemonArgs>,
  handler: async (argv) => {
    let daemon: TlsDaemon;
    try {
      daemon = await startTlsDaemon(argv);
    } catch (error) {
      process.stderr.write(`oedns: ${errorMessage(error)}\n`);
      process.stderr.write(`${JSON.stringify({ level: 'fatal', code: error instanceof AppError ? error.code : 'ERR_STARTUP', msg: errorMessage(error) })}\n`);
      process.exit(error instanceof AppError ? 2 : 1);
    }
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      daemon.stop().then(() => process.exit(0), (error: unknown) => {
        process.stderr.write(`oedns: tls-daemon shutdown failed: ${errorMessage(error)}\n`);
        process.exit(1);
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  },
};
