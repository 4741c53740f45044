/**
 * Unbound as the oracle for validation verdicts (STYLE §9): a validating forwarder on 127.0.0.1
 * that forwards everything to one lab server and trusts only the lab's root anchor.
 *
 * The config is our own file given with -c, so Debian's /etc/unbound/unbound.conf and its
 * unbound.conf.d (remote control, auto-trust-anchor-file for the real root) are never read. There
 * is no auto-trust-anchor-file (RFC 5011 tracking) and no root hints in use: the forward-zone for
 * "." sends every query to the lab. `test.` is one of Unbound's default local zones (RFC 6761);
 * it is switched off, since the lab lives under test.
 *
 * val-log-level 2 writes one line per validation failure, with the reason, to unbound.log in the
 * temp directory. Set OEDNS_KEEP_LAB=1 to keep that directory.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { AppError } from '../../src/core/errors.js';
import { dig } from './bind-lab.js';
import { freePort } from './free-port.js';
import { once, removeLabDir, stopChild } from './lab-process.js';

export class UnboundError extends AppError {
  readonly code = 'ERR_UNBOUND';
}

export interface UnboundOptions {
  readonly forwardTo: { readonly address: string; readonly port: number };
  /** Zone-file DS or DNSKEY lines, as for Unbound's trust-anchor-file. */
  readonly trustAnchorFile: string;
  readonly startTimeoutMs?: number;
}

export interface Unbound {
  readonly address: string;
  readonly port: number;
  readonly dir: string;
  readonly logFile: string;
  /** The log so far (val-log-level 2 lines explain each bogus verdict). */
  log(): Promise<string>;
  stop(): Promise<void>;
}

const UNBOUND = '/usr/sbin/unbound';
const ADDRESS = '127.0.0.1';
const DEFAULT_START_TIMEOUT_MS = 10_000;
/** Ports tried when another process grabs ours between freePort() and Unbound's bind. */
const MAX_PORT_ATTEMPTS = 3;
const STOP_GRACE_MS = 5_000;

export async function startUnbound(options: UnboundOptions): Promise<Unbound> {
  const dir = await mkdtemp(join(tmpdir(), 'oedns-unbound-'));
  const logFile = join(dir, 'unbound.log');
  const confFile = join(dir, 'unbound.conf');
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort(ADDRESS);
      await writeFile(confFile, unboundConf(dir, port, logFile, options));
      const child = execa(UNBOUND, ['-d', '-c', confFile], {
        cwd: dir, reject: false, stdin: 'ignore', stdout: 'ignore', stderr: { file: join(dir, 'stderr.log') },
        forceKillAfterDelay: STOP_GRACE_MS,
      });
      try {
        await waitUntilAnswering(child, port, dir, options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
        return {
          address: ADDRESS, port, dir, logFile,
          log: () => readFile(logFile, 'utf8').catch(() => ''),
          stop: once(async () => {
            await stopChild(child);
            await removeLabDir(dir, 'unbound');
          }),
        };
      } catch (error) {
        await stopChild(child);
        const log = await allLogs(dir);
        if (attempt >= MAX_PORT_ATTEMPTS || !/address already in use/i.test(log)) throw error;
      }
    }
  } catch (error) {
    await removeLabDir(dir, 'unbound');
    throw error;
  }
}

function unboundConf(dir: string, port: number, logFile: string, options: UnboundOptions): string {
  const { address, port: upstreamPort } = options.forwardTo;
  return `server:
  verbosity: 1
  interface: ${ADDRESS}
  port: ${port}
  do-ip6: no
  num-threads: 1
  do-not-query-localhost: no
  directory: "${dir}"
  chroot: ""
  username: ""
  pidfile: ""
  use-syslog: no
  logfile: "${logFile}"
  log-servfail: yes
  trust-anchor-file: "${options.trustAnchorFile}"
  trust-anchor-signaling: no
  val-log-level: 2
  local-zone: "test." nodefault
remote-control:
  control-enable: no
forward-zone:
  name: "."
  forward-addr: ${address}@${upstreamPort}
`;
}

/** Polls with dig for the root SOA until Unbound answers (any rcode), or fails with its log. */
async function waitUntilAnswering(child: ResultPromise, port: number, dir: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw await startFailure(`unbound exited (code ${child.exitCode}, signal ${child.signalCode})`, dir);
    }
    const result = await dig({ address: ADDRESS, port }, ['+time=1', '+tries=1', '.', 'SOA']);
    if (result.exitCode === 0 && /->>HEADER<<-/.test(result.stdout)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw await startFailure(`unbound on ${ADDRESS}#${port} not answering within ${timeoutMs} ms`, dir);
}

async function allLogs(dir: string): Promise<string> {
  const parts = await Promise.all(['unbound.log', 'stderr.log'].map((f) => readFile(join(dir, f), 'utf8').catch(() => '')));
  return parts.join('\n');
}

async function startFailure(message: string, dir: string): Promise<UnboundError> {
  const tail = (await allLogs(dir)).split('\n').filter((l) => l.trim() !== '').slice(-30).join('\n');
  return new UnboundError(`${message}\n--- ${dir} logs (tail) ---\n${tail}`);
}
