/**
 * `oedns tls-exec`: UCSPI-SSL's sslclient model (seed 001 §7.5) over the engine. After a
 * connection that passed the checks, the program runs with the plaintext side of the network on
 * descriptor 6 (it reads the peer there) and 7 (it writes to the peer there), stdin, stdout and
 * stderr its own, and the TLS state in its environment: UCSPI-SSL's and mod_ssl's names, plus
 * what TLS libraries never tell an application: how the peer was authenticated, by which TLSA
 * record, on DNS data of which DNSSEC status. No shell: the program and its arguments are an argv.
 *
 * Exit status: the program's (128 + signal number when a signal ended it). When no trusted
 * connection comes about, `oedns: ERR <CODE> <message>` goes to stderr, the program never runs,
 * and the exit status is 111, UCSPI's temporary failure.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Socket } from 'node:net';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { TlsError, type TlsEngine, type TlsFlags, type TlsSession } from './session.js';
import type { NameLookup } from './names.js';
import { connectSmtp } from './smtp-dane.js';

/** UCSPI's exit status for a temporary failure (connection refused, TLS refused, DNS failed). */
export const EXIT_TEMPORARY = 111;
/** UCSPI's exit status for a usage or configuration error. */
export const EXIT_USAGE = 100;
/** Descriptors of the network in the program (sslclient's). */
export const READ_FD = 6;
export const WRITE_FD = 7;
/** After the program ends, how long the last bytes it wrote may take to reach the peer. */
const FLUSH_MS = 5_000;

/** Every variable tls-exec sets; inherited ones of these names are removed first, so none is stale. */
export const TLS_ENV_NAMES = [
  'PROTO', 'SSLLOCALIP', 'SSLLOCALPORT', 'SSLREMOTEIP', 'SSLREMOTEPORT', 'SSLREMOTEHOST',
  'SSL_PROTOCOL', 'SSL_CIPHER', 'SSL_SERVER_S_DN', 'SSL_SERVER_I_DN', 'SSL_SERVER_V_START', 'SSL_SERVER_V_END', 'SSL_SERVER_M_SERIAL',
  'OEDNS_IDENTITY', 'OEDNS_AUTH', 'OEDNS_DANE', 'OEDNS_TLSA_OWNER', 'OEDNS_DNSSEC', 'OEDNS_SMTP_DOMAIN', 'OEDNS_SMTP_POLICY',
] as const;

/** A DN as mod_ssl prints it by default (RFC 2253: last RDN first, comma-separated; Node has escaped the values). */
export function rfc2253(dn: string): string {
  return dn.split('\n').reverse().join(',');
}

/** The variables for a session (the names above), values as mod_ssl and UCSPI-SSL give them. */
export function tlsEnvironment(session: TlsSession, remoteHost: string | undefined = session.serverName, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PROTO: 'SSL',
    SSLLOCALIP: session.socket.localAddress ?? '',
    SSLLOCALPORT: String(session.socket.localPort ?? ''),
    SSLREMOTEIP: session.peerAddress,
    SSLREMOTEPORT: String(session.peerPort),
    SSL_PROTOCOL: session.protocol,
    SSL_CIPHER: session.cipher,
    OEDNS_IDENTITY: session.identity,
    OEDNS_AUTH: session.method,
    OEDNS_DNSSEC: session.dnssec,
    ...extra,
  };
  // UCSPI's remote host is a DNS name, lowercase, no final dot: here the validated name connected to.
  if (remoteHost) env['SSLREMOTEHOST'] = remoteHost.toLowerCase().replace(/\.$/, '');
  const cert = session.peerCertificate;
  if (cert) {
    env['SSL_SERVER_S_DN'] = rfc2253(cert.subject);
    env['SSL_SERVER_I_DN'] = rfc2253(cert.issuer);
    env['SSL_SERVER_V_START'] = cert.validFrom;
    env['SSL_SERVER_V_END'] = cert.validTo;
    env['SSL_SERVER_M_SERIAL'] = cert.serialNumber.toUpperCase();
  }
  if (session.dane) {
    env['OEDNS_DANE'] = `${session.dane.usage} ${session.dane.selector} ${session.dane.matchingType}`;
    env['OEDNS_TLSA_OWNER'] = session.dane.tlsaOwner;
  }
  return env;
}

/** `base` without any inherited TLS variable, plus `tls`. */
export function programEnvironment(base: NodeJS.ProcessEnv, tls: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const name of TLS_ENV_NAMES) delete env[name];
  return { ...env, ...tls };
}

function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
}

/** Runs the program with the session on descriptors 6 and 7; resolves with its exit status. */
export function runProgram(session: TlsSession, program: string, args: readonly string[], env: NodeJS.ProcessEnv, log: Logger, signal?: AbortSignal): Promise<number> {
  return new Promise((resolve) => {
    // An aborted signal (oedns got SIGTERM) sends the program SIGTERM; its status is then 143.
    const child = spawn(program, [...args], { stdio: ['inherit', 'inherit', 'inherit', 'ignore', 'ignore', 'ignore', 'pipe', 'pipe'], env, signal });
    const network = session.socket;
    const pipes = child.stdio as unknown as ReadonlyArray<Socket | null | undefined>;
    const toProgram = pipes[READ_FD];
    const fromProgram = pipes[WRITE_FD];
    network.on('error', (error) => log.debug({ err: errorMessage(error) }, 'peer connection error'));
    for (const pipe of [toProgram, fromProgram]) pipe?.on('error', () => undefined);
    if (toProgram) network.pipe(toProgram);
    if (fromProgram) fromProgram.pipe(network);
    child.once('error', (error) => {
      if ((error as NodeJS.ErrnoException).code === 'ABORT_ERR') return;
      process.stderr.write(`oedns: cannot run ${program}: ${errorMessage(error)}\n`);
      network.destroy();
      resolve(EXIT_TEMPORARY);
    });
    child.once('close', (code, signal) => {
      // The program is gone; what it wrote last may still be on its way to the peer.
      const done = (): void => {
        network.destroy();
        resolve(exitStatus(code, signal));
      };
      if (network.destroyed || network.writableFinished) return done();
      if (!network.writableEnded) network.end();
      const timer = setTimeout(done, FLUSH_MS);
      timer.unref();
      network.once('finish', () => {
        clearTimeout(timer);
        done();
      });
      network.once('close', () => {
        clearTimeout(timer);
        done();
      });
    });
  });
}

export interface TlsExecOptions {
  readonly name: string;
  readonly port: number;
  readonly starttls?: 'smtp' | undefined;
  readonly helo?: string | undefined;
  readonly flags: TlsFlags;
  readonly program: string;
  readonly args: readonly string[];
  readonly engine: TlsEngine;
  readonly lookup: NameLookup;
  readonly log: Logger;
  readonly env?: NodeJS.ProcessEnv | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Connects (directly, or to the domain's MX hosts by SMTP STARTTLS), then runs the program; the exit status. */
export async function runTlsExec(options: TlsExecOptions): Promise<number> {
  const signal = options.signal ?? new AbortController().signal;
  let session: TlsSession;
  let remoteHost = options.name;
  let extra: Record<string, string> = {};
  try {
    if (options.starttls === 'smtp') {
      const smtp = await connectSmtp({ lookup: options.lookup, engine: options.engine, log: options.log }, { domain: options.name, port: options.port, flags: options.flags, helo: options.helo }, signal);
      session = smtp.session;
      remoteHost = smtp.mxHost;
      extra = { OEDNS_SMTP_DOMAIN: options.name.replace(/\.$/, ''), OEDNS_SMTP_POLICY: smtp.policy };
    } else {
      session = await options.engine.connect({ name: options.name, port: options.port }, options.flags, signal);
    }
  } catch (error) {
    if (!(error instanceof TlsError)) throw error;
    process.stderr.write(`oedns: ERR ${error.reply} ${error.message.replace(/[^\x20-\x7e]+/g, ' ')}\n`);
    return EXIT_TEMPORARY;
  }
  const env = programEnvironment(options.env ?? process.env, tlsEnvironment(session, session.serverName ?? remoteHost, extra));
  return runProgram(session, options.program, options.args, env, options.log, options.signal);
}
