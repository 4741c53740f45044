/**
 * `oedns tunnel client|server` (seed 000 §4.4's TCP forwarders, stunnel's two modes) over the TLS
 * runtime (tls-runtime.ts): its own validating resolver, this side's certificate, the CA store.
 *
 *   oedns tunnel client --listen 127.0.0.1:2323 --connect telnet.example.org:992
 *   oedns tunnel server --listen 0.0.0.0:992 --forward 127.0.0.1:23 --cert cert.pem --key key.pem [--require-client-cert]
 */
import type { Argv, CommandModule } from 'yargs';
import { AppError, ConfigError, errorMessage } from '../core/errors.js';
import { openTlsRuntime, tlsRuntimeOptions, withTlsRuntimeOptions } from '../tls-runtime.js';
import { parseHostPort } from './endpoint.js';
import { tlsFlagsFromArgv, withTlsFlagOptions } from './flag-options.js';
import { startTunnelClient } from './tunnel-client.js';
import { DEFAULT_MAX_CONNECTIONS, type Tunnel } from './tunnel-listener.js';
import { startTunnelServer } from './tunnel-server.js';

interface TunnelArgs {
  readonly mode: 'client' | 'server';
  readonly listen: string;
  readonly connect?: string | undefined;
  readonly forward?: string | undefined;
  readonly 'require-client-cert': boolean;
  readonly 'max-connections'?: number | undefined;
  readonly [key: string]: unknown;
}

/** Starts the tunnel the parsed options describe; the caller closes it. */
export async function startTunnel(argv: TunnelArgs): Promise<Tunnel> {
  const listen = parseHostPort(argv.listen, '--listen');
  const flags = tlsFlagsFromArgv(argv);
  if (argv.mode === 'client') {
    if (argv.connect === undefined) throw new ConfigError('tunnel client needs --connect NAME:PORT');
    const connect = parseHostPort(argv.connect, '--connect');
    const runtime = await openTlsRuntime(tlsRuntimeOptions(argv));
    return startTunnelClient({
      engine: runtime.engine, log: runtime.log.child({ part: 'tunnel' }), listen, flags,
      connect: { name: connect.host, port: connect.port }, maxConnections: argv['max-connections'],
    });
  }
  if (argv.forward === undefined) throw new ConfigError('tunnel server needs --forward ADDR:PORT');
  if (argv['cert'] === undefined || argv['key'] === undefined) throw new ConfigError('tunnel server needs --cert and --key');
  const forward = parseHostPort(argv.forward, '--forward');
  const runtime = await openTlsRuntime(tlsRuntimeOptions(argv));
  return startTunnelServer({
    engine: runtime.engine, log: runtime.log.child({ part: 'tunnel' }), listen, forward, flags,
    requireClientCertificate: argv['require-client-cert'], maxConnections: argv['max-connections'],
  });
}

function fatal(error: unknown): never {
  process.stderr.write(`oedns: ${errorMessage(error)}\n`);
  process.stderr.write(`${JSON.stringify({ level: 'fatal', code: error instanceof AppError ? error.code : 'ERR_STARTUP', msg: errorMessage(error) })}\n`);
  process.exit(error instanceof AppError ? 2 : 1);
}

/** `oedns tunnel client|server ...`, for `yargs().command(tunnelCommand)`. */
export const tunnelCommand: CommandModule<object, TunnelArgs> = {
  command: 'tunnel <mode>',
  describe: 'stunnel-like forwarder: client (plaintext in, DANE-checked TLS out) or server (TLS in, plaintext to a local service)',
  builder: (y: Argv) => withTlsRuntimeOptions(withTlsFlagOptions(y
    .positional('mode', { choices: ['client', 'server'] as const, describe: 'client: plaintext in, TLS out; server: TLS in, plaintext out', demandOption: true })
    .option('listen', { type: 'string', demandOption: true, describe: 'ADDR:PORT to accept connections on (plaintext for client, TLS for server)', group: 'Tunnel:' })
    .option('connect', { type: 'string', describe: 'client: NAME:PORT of the TLS server, authenticated by DANE (TLSA at _PORT._tcp.NAME)', group: 'Tunnel:' })
    .option('forward', { type: 'string', describe: 'server: ADDR:PORT of the plaintext service', group: 'Tunnel:' })
    .option('require-client-cert', { type: 'boolean', default: false, describe: 'server: refuse clients without a certificate (a user certificate is checked on its key server, a domain one by DANE)', group: 'Tunnel:' })
    .option('max-connections', { type: 'number', describe: `connections at once (default ${DEFAULT_MAX_CONNECTIONS})`, group: 'Tunnel:' }))) as unknown as Argv<TunnelArgs>,
  handler: async (argv) => {
    let tunnel: Tunnel;
    try {
      tunnel = await startTunnel(argv);
    } catch (error) {
      fatal(error);
    }
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      tunnel.close().then(() => process.exit(0), (error: unknown) => {
        process.stderr.write(`oedns: tunnel shutdown failed: ${errorMessage(error)}\n`);
        process.exit(1);
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  },
};
