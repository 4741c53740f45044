/**
 * A real OpenLDAP slapd for the key server tests: one temp directory holding slapd.conf, an mdb
 * database loaded by slapadd before the start, the TLS certificate and key, and the log. slapd
 * listens on `ldaps://127.0.0.1:<free port>/` only, runs in the foreground (`-d stats`, so it is
 * stopped by its PID and logs every operation to stderr, which goes to slapd.log), and lets anyone
 * read `mail` and `userCertificate` (anonymous search is what a public key server offers).
 *
 * Entries are inetOrgPerson (RFC 2798) under `ou=people,<suffix>`, one per user, with the user's
 * certificates as `userCertificate;binary` (RFC 4523 §2.1: the ;binary transfer option is required).
 * Set OEDNS_KEEP_LAB=1 to keep the directory.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { AppError } from '../../src/core/errors.js';
import { freePort } from './free-port.js';
import { once, removeLabDir, stopChild } from './lab-process.js';

export class SlapdLabError extends AppError {
  readonly code = 'ERR_SLAPD_LAB';
}

export interface SlapdUser {
  /** The RDN value: `uid=<uid>,ou=people,<suffix>`. */
  readonly uid: string;
  /** The `mail` values (RFC 4524 §2.16). */
  readonly mail: readonly string[];
  /** DER certificates stored as `userCertificate;binary`. */
  readonly certificates: readonly Uint8Array[];
}

export interface SlapdOptions {
  /** The database suffix; default `dc=ldap,dc=test`. Each RDN must be `dc=<label>`. */
  readonly suffix?: string;
  readonly users: readonly SlapdUser[];
  /** The server's certificate (followed by its chain) and key, PEM. */
  readonly tls: { readonly certPem: string; readonly keyPem: string };
  readonly startTimeoutMs?: number;
}

export interface Slapd {
  readonly address: string;
  readonly port: number;
  readonly url: string;
  readonly suffix: string;
  readonly dir: string;
  readonly logFile: string;
  /** How many searches with exactly this filter text slapd has logged so far, e.g. `(mail=a@b.test)`. */
  searchCount(filter: string): Promise<number>;
  /** Stops slapd by its PID and removes the directory; may be called twice. */
  stop(): Promise<void>;
}

const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';
const SCHEMA_DIR = '/etc/ldap/schema';
const MODULE_DIR = '/usr/lib/ldap';
const ADDRESS = '127.0.0.1';
const DEFAULT_SUFFIX = 'dc=ldap,dc=test';
const DEFAULT_START_TIMEOUT_MS = 10_000;
const MAX_PORT_ATTEMPTS = 3;
const TOOL_TIMEOUT_MS = 15_000;

export async function startSlapd(options: SlapdOptions): Promise<Slapd> {
  const suffix = options.suffix ?? DEFAULT_SUFFIX;
  const dir = await mkdtemp(join(tmpdir(), 'oedns-slapd-'));
  try {
    await mkdir(join(dir, 'db'));
    await writeFile(join(dir, 'server.crt'), options.tls.certPem);
    await writeFile(join(dir, 'server.key'), options.tls.keyPem, { mode: 0o600 });
    const confFile = join(dir, 'slapd.conf');
    await writeFile(confFile, slapdConf(dir, suffix));
    await writeFile(join(dir, 'data.ldif'), ldif(suffix, options.users));
    await run(SLAPADD, ['-f', confFile, '-l', join(dir, 'data.ldif')], dir);
    return await launch(dir, confFile, suffix, options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
  } catch (error) {
    await removeLabDir(dir, 'slapd');
    throw error;
  }
}

function slapdConf(dir: string, suffix: string): string {
  // Global ACLs (before any database) also cover the root DSE, where namingContexts is read.
  return [
    ...['core', 'cosine', 'inetorgperson'].map((name) => `include ${SCHEMA_DIR}/${name}.schema`),
    `pidfile ${dir}/slapd.pid`,
    `argsfile ${dir}/slapd.args`,
    `modulepath ${MODULE_DIR}`,
    'moduleload back_mdb',
    `TLSCertificateFile ${dir}/server.crt`,
    `TLSCertificateKeyFile ${dir}/server.key`,
    'access to dn.base="" by * read',
    'access to dn.base="cn=Subschema" by * read',
    'access to attrs=entry,objectClass,mail,userCertificate,uid,cn by * read',
    'access to * by * none',
    'database mdb',
    `suffix "${suffix}"`,
    `rootdn "cn=admin,${suffix}"`,
    `directory ${dir}/db`,
    'maxsize 16777216',
    'index objectClass eq',
    'index mail eq',
    '',
  ].join('\n');
}

/** The suffix entry, ou=people, and one inetOrgPerson per user (RFC 2849 LDIF, base64 for DER). */
export function ldif(suffix: string, users: readonly SlapdUser[]): string {
  const top = /^dc=([^,]+)/.exec(suffix)?.[1];
  if (top === undefined) throw new SlapdLabError(`suffix ${suffix} does not start with dc=`);
  const entries = [
    [`dn: ${suffix}`, 'objectClass: dcObject', 'objectClass: organization', `dc: ${top}`, `o: ${top}`],
    [`dn: ou=people,${suffix}`, 'objectClass: organizationalUnit', 'ou: people'],
    ...users.map((user) => [
      `dn: uid=${user.uid},ou=people,${suffix}`, 'objectClass: inetOrgPerson',
      `uid: ${user.uid}`, `cn: ${user.uid}`, `sn: ${user.uid}`,
      ...user.mail.map((mail) => `mail: ${mail}`),
      ...user.certificates.map((der) => `userCertificate;binary:: ${Buffer.from(der).toString('base64')}`),
    ]),
  ];
  return `${entries.map((lines) => lines.join('\n')).join('\n\n')}\n`;
}

async function launch(dir: string, confFile: string, suffix: string, timeoutMs: number): Promise<Slapd> {
  const logFile = join(dir, 'slapd.log');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort(ADDRESS);
    const url = `ldaps://${ADDRESS}:${port}/`;
    // -d stats: stay in the foreground and log connections and operations (SRCH lines) to stderr.
    const child = execa(SLAPD, ['-f', confFile, '-h', url, '-d', 'stats'], {
      cwd: dir, reject: false, stdin: 'ignore', stdout: 'ignore', stderr: { file: logFile },
    });
    try {
      await waitUntilServing(child, url, logFile, timeoutMs);
    } catch (error) {
      await stopChild(child);
      const log = await readFile(logFile, 'utf8').catch(() => '');
      if (attempt >= MAX_PORT_ATTEMPTS || !/address already in use/i.test(log)) throw error;
      continue;
    }
    const stop = once(async () => {
      await stopChild(child);
      await removeLabDir(dir, 'slapd');
    });
    const searchCount = async (filter: string): Promise<number> => {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      return log.split('\n').filter((line) => / SRCH base=/.test(line) && line.includes(`filter="${filter}"`)).length;
    };
    return { address: ADDRESS, port, url, suffix, dir, logFile, searchCount, stop };
  }
}

/** Polls with real ldapsearch (the root DSE, certificate not checked: only "is it up") until it answers. */
async function waitUntilServing(child: ResultPromise, url: string, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let problem = 'no answer yet';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw await startFailure(`slapd exited (code ${child.exitCode}, signal ${child.signalCode})`, logFile);
    }
    const result = await execa('ldapsearch', ['-x', '-LLL', '-H', url, '-o', 'nettimeout=1', '-b', '', '-s', 'base', 'namingContexts'], {
      reject: false, timeout: TOOL_TIMEOUT_MS, env: { LDAPTLS_REQCERT: 'never' },
    });
    if (result.exitCode === 0) return;
    problem = result.stderr.trim() || `ldapsearch exit ${result.exitCode}`;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw await startFailure(`slapd on ${url} not answering within ${timeoutMs} ms: ${problem}`, logFile);
}

async function startFailure(message: string, logFile: string): Promise<SlapdLabError> {
  const log = await readFile(logFile, 'utf8').catch(() => '(no log)');
  return new SlapdLabError(`${message}\n${log.split('\n').slice(-30).join('\n')}`);
}

async function run(file: string, args: readonly string[], cwd: string): Promise<void> {
  const result = await execa(file, args, { cwd, reject: false, timeout: TOOL_TIMEOUT_MS });
  if (result.exitCode !== 0) {
    throw new SlapdLabError(`${file} ${args.join(' ')} failed (exit ${result.exitCode}): ${result.stderr}`);
  }
}
