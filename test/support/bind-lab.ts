/**
 * A real authoritative DNS server for tests: BIND `named` on 127.0.0.1 serving zones the test
 * describes, signed by BIND's own dnssec-signzone so that the validator is checked against an
 * independent signer (STYLE §9). One `startAuthServer` call is one `named` on its own port; start
 * several for several upstreams.
 *
 * Each zone without an apex SOA gets `@ SOA ns.<origin> hostmaster.<origin> 1 3600 900 604800
 * <soaMinimumSeconds>`; without an apex NS it gets `@ NS ns.<origin>` and `ns.<origin> A 127.0.0.1`.
 *
 * Automatic delegation: when a zone of the call lies below another ('.', 'test.', 'example.test.'),
 * its closest enclosing zone (the parent) receives, before the parent is signed:
 *   - `<child> NS ns.<child>` and glue `ns.<child> A 127.0.0.1`, unless the parent's records
 *     already have NS records owned by <child> (then the test wrote its own delegation);
 *   - the child's DS lines (SHA-256 of its KSK), if the child is signed and `dsInParent` is not
 *     false (set it false for an island of security, or to write a wrong DS yourself).
 * Zones are therefore processed deepest first. A child on another server is not seen: copy that
 * server's `ds.get(child)` lines (absolute names) into the parent's records instead.
 *
 * Data no signer would write (KeyTrap zones, CVE-2023-50387): `editZones` gets the files before named
 * starts (append to a .signed file); or `prepareZones` into a directory, edit, and `serveZones` on
 * it. `SignSpec.extraDnskeys`
 * puts keys made from the generated ones (colliding key tags) into the DNSKEY RRset before signing,
 * and `canonicalRrsetOrder` makes named answer every RRset in one known order.
 *
 * Set OEDNS_KEEP_LAB=1 to keep the temp directory (zone files, keys, named.conf, named.log).
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { AppError } from '../../src/core/errors.js';
import { freePort } from './free-port.js';
import { once, removeLabDir, stopChild } from './lab-process.js';

export class BindLabError extends AppError {
  readonly code = 'ERR_BIND_LAB';
}

export type SigningAlgorithm =
  | 'RSASHA1'
  | 'RSASHA256'
  | 'RSASHA512'
  | 'ECDSAP256SHA256'
  | 'ECDSAP384SHA384'
  | 'ED25519'
  | 'ED448';

/** Epoch seconds, or dnssec-signzone's own forms: 'YYYYMMDDHHMMSS', 'now+N', 'now-N' (seconds). */
export type SignTime = number | string;

export interface Nsec3Spec {
  readonly iterations: number;
  /** Hex; absent or '' for no salt (RFC 9276 §3.1 recommends none). */
  readonly salt?: string;
  readonly optOut?: boolean;
}

export interface SignSpec {
  readonly algorithm?: SigningAlgorithm;
  readonly nsec3?: false | Nsec3Spec;
  readonly validityDays?: number;
  /** Setting either time also skips dnssec-signzone's self-check, which rejects expired zones. */
  readonly inception?: SignTime;
  readonly expiration?: SignTime;
  /**
   * More apex DNSKEY lines, made from the generated keys' own lines (`<origin> IN DNSKEY 256 3 13
   * <base64>`) and added before signing, so the signed DNSKEY RRset holds them (keys without a
   * private half: dnssec-signzone lists them as stand-by). Not part of `PreparedZones.dnskeys`.
   */
  readonly extraDnskeys?: (generated: { readonly ksk: string; readonly zsk: string }) => readonly string[];
}

export interface ZoneSpec {
  readonly origin: string;
  /** Zone-file lines relative to origin, each starting with its owner ('@', 'www', 'a.b.test.'). */
  readonly records: readonly string[];
  readonly sign?: false | SignSpec;
  /** SOA MINIMUM, the negative-caching TTL (RFC 2308 §4). Default 300. */
  readonly soaMinimumSeconds?: number;
  /** TTL of the SOA and the default ($TTL) of records without one. Default 300. */
  readonly soaTtlSeconds?: number;
  /** Whether the parent zone of this call gets this zone's DS. Default true. */
  readonly dsInParent?: boolean;
}

export interface PreparedZones {
  /** The file named serves for each origin (the .signed one for signed zones). */
  readonly files: ReadonlyMap<string, string>;
  readonly ds: ReadonlyMap<string, readonly string[]>;
  readonly dnskeys: ReadonlyMap<string, readonly string[]>;
}

export interface AuthServerOptions {
  readonly zones: readonly ZoneSpec[];
  /** edns-udp-size and max-udp-size; larger answers come back truncated over UDP. Default 1232. */
  readonly ednsUdpSize?: number;
  /** Recursion for 127.0.0.0/8 so named follows CNAMEs across its own zones; needs a '.' zone. */
  readonly recursionAcrossOwnZones?: boolean;
  /**
   * `rrset-order { order none; }`: every RRset in the order named holds it, which is DNSSEC
   * canonical order (RFC 4034 §6.3), instead of shuffled per answer. RRSIGs are never shuffled.
   */
  readonly canonicalRrsetOrder?: boolean;
  readonly startTimeoutMs?: number;
  /** Called once the zones are written and signed, before named starts, to edit the files named. */
  readonly editZones?: (prepared: PreparedZones) => Promise<void>;
}

/** How named serves zones already written by `prepareZones`. */
export type ServeOptions = Omit<AuthServerOptions, 'zones' | 'editZones'>;

export interface AuthServer extends PreparedZones {
  readonly address: string;
  readonly port: number;
  readonly dir: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

export interface DigResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

const NAMED = '/usr/sbin/named';
const LAB_ADDRESS = '127.0.0.1';
const DEFAULT_TTL_SECONDS = 300;
const DEFAULT_UDP_SIZE = 1232;
const DEFAULT_START_TIMEOUT_MS = 10_000;
/** Ports tried when another process grabs ours between freePort() and named's bind. */
const MAX_PORT_ATTEMPTS = 3;
const TOOL_TIMEOUT_MS = 15_000;

/** Runs real `dig @address -p port ...args`. Refuses any server off loopback. */
export async function dig(
  server: { readonly address: string; readonly port: number },
  args: readonly string[],
  signal?: AbortSignal,
): Promise<DigResult> {
  if (!isLoopback(server.address)) throw new BindLabError(`dig refused: ${server.address} is not loopback`);
  const result = await execa('dig', [`@${server.address}`, '-p', String(server.port), ...args], {
    reject: false,
    timeout: TOOL_TIMEOUT_MS,
    ...(signal ? { cancelSignal: signal } : {}),
  });
  return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1 };
}

export async function startAuthServer(options: AuthServerOptions): Promise<AuthServer> {
  const hasRoot = options.zones.some((zone) => normalizeOrigin(zone.origin) === '.');
  checkRecursion(options, hasRoot);
  const dir = await mkdtemp(join(tmpdir(), 'oedns-bind-lab-'));
  let prepared: PreparedZones;
  try {
    prepared = await prepareZones(dir, options.zones);
    await options.editZones?.(prepared);
  } catch (error) {
    await removeLab(dir);
    throw error;
  }
  return serveZones(dir, prepared, options);
}

/**
 * Starts named on the files of `prepareZones(dir, …)`, as they are now: a test may have edited
 * them in between. From here the lab owns dir: stop(), or a failure to start, removes it.
 */
export async function serveZones(dir: string, prepared: PreparedZones, options: ServeOptions = {}): Promise<AuthServer> {
  try {
    checkRecursion(options, prepared.files.has('.'));
    const running = await launchNamed(dir, prepared, options);
    return { ...prepared, ...running, address: LAB_ADDRESS, dir };
  } catch (error) {
    await removeLab(dir);
    throw error;
  }
}

function checkRecursion(options: ServeOptions, hasRoot: boolean): void {
  // Without a lab root, recursion would follow BIND's built-in root hints to the internet.
  if (options.recursionAcrossOwnZones && !hasRoot) {
    throw new BindLabError('recursionAcrossOwnZones needs a "." zone, so named never recurses off the lab');
  }
}

/** Writes (and signs) the zones in dir without starting named; usable for offline fixtures. */
export async function prepareZones(dir: string, zones: readonly ZoneSpec[]): Promise<PreparedZones> {
  const specs = zones.map((zone) => ({ ...zone, origin: normalizeOrigin(zone.origin) }));
  const origins = specs.map((zone) => zone.origin);
  const duplicate = origins.find((origin, i) => origins.indexOf(origin) !== i);
  if (duplicate !== undefined) throw new BindLabError(`zone ${duplicate} given twice`);
  const files = new Map<string, string>();
  const ds = new Map<string, readonly string[]>();
  const dnskeys = new Map<string, readonly string[]>();
  const delegations = new Map<string, string[]>();
  for (const level of byDepthDeepestFirst(specs)) {
    await Promise.all(
      level.map(async (zone) => {
        const extra = delegations.get(zone.origin) ?? [];
        const written = await writeZone(dir, zone, extra, `${origins.indexOf(zone.origin)}`);
        files.set(zone.origin, written.file);
        if (written.ds) ds.set(zone.origin, written.ds);
        if (written.dnskeys) dnskeys.set(zone.origin, written.dnskeys);
      }),
    );
    for (const zone of level) addDelegation(zone, specs, ds.get(zone.origin) ?? [], delegations);
  }
  return { files, ds, dnskeys };
}

function addDelegation(
  child: ZoneSpec,
  specs: readonly ZoneSpec[],
  childDs: readonly string[],
  delegations: Map<string, string[]>,
): void {
  const parent = closestParent(child.origin, specs);
  if (!parent) return;
  const lines = delegations.get(parent.origin) ?? [];
  const hasOwnDelegation = parent.records.some((line) => {
    const head = lineHead(line, parent.origin);
    return head?.owner === child.origin && head.type === 'NS';
  });
  if (!hasOwnDelegation) {
    const ns = nsName(child.origin);
    lines.push(`${child.origin} IN NS ${ns}`, `${ns} IN A ${LAB_ADDRESS}`);
  }
  if (child.dsInParent !== false) lines.push(...childDs);
  delegations.set(parent.origin, lines);
}

interface WrittenZone {
  readonly file: string;
  readonly ds?: readonly string[];
  readonly dnskeys?: readonly string[];
}

async function writeZone(dir: string, zone: ZoneSpec, extra: readonly string[], id: string): Promise<WrittenZone> {
  const base = join(dir, `${id}-${zone.origin === '.' ? 'root' : zone.origin.slice(0, -1)}.zone`);
  if (!zone.sign) {
    await writeFile(base, zoneText(zone, extra));
    return { file: base };
  }
  const algorithm = zone.sign.algorithm ?? 'ECDSAP256SHA256';
  // Sequential, so that dnssec-keygen sees the first key and never repeats its key tag.
  const ksk = await generateKey(dir, zone.origin, algorithm, true);
  const zsk = await generateKey(dir, zone.origin, algorithm, false);
  const kskLines = await keyLines(ksk);
  const zskLines = await keyLines(zsk);
  const dnskeys = [...kskLines, ...zskLines];
  const extraDnskeys = zone.sign.extraDnskeys?.({ ksk: kskLines.join('\n'), zsk: zskLines.join('\n') }) ?? [];
  await writeFile(base, zoneText(zone, [...extra, ...dnskeys, ...extraDnskeys]));
  const signed = `${base}.signed`;
  await run('dnssec-signzone', [
    '-K', dir, '-d', dir, '-o', zone.origin, '-N', 'keep', '-f', signed,
    ...signArgs(zone.sign), base, ksk, zsk,
  ], dir);
  const ds = lines((await run('dnssec-dsfromkey', ['-2', `${ksk}.key`], dir)).stdout);
  return { file: signed, ds, dnskeys };
}

function zoneText(zone: ZoneSpec, extra: readonly string[]): string {
  const ttl = zone.soaTtlSeconds ?? DEFAULT_TTL_SECONDS;
  const minimum = zone.soaMinimumSeconds ?? DEFAULT_TTL_SECONDS;
  const ns = nsName(zone.origin);
  const hasApex = (type: string): boolean =>
    zone.records.some((line) => {
      const head = lineHead(line, zone.origin);
      return head?.owner === zone.origin && head.type === type;
    });
  const out = [`$ORIGIN ${zone.origin}`, `$TTL ${ttl}`];
  if (!hasApex('SOA')) {
    out.push(`@ ${ttl} IN SOA ${ns} hostmaster.${absoluteSuffix(zone.origin)} 1 3600 900 604800 ${minimum}`);
  }
  if (!hasApex('NS')) out.push(`@ ${ttl} IN NS ${ns}`, `${ns} ${ttl} IN A ${LAB_ADDRESS}`);
  // $ORIGIN again: the test's lines may have changed it; ours use absolute names anyway.
  return [...out, ...zone.records, `$ORIGIN ${zone.origin}`, ...extra, ''].join('\n');
}

function signArgs(sign: SignSpec): string[] {
  const args: string[] = [];
  if (sign.nsec3) {
    args.push('-3', sign.nsec3.salt ? sign.nsec3.salt : '-', '-H', String(sign.nsec3.iterations));
    if (sign.nsec3.optOut) args.push('-A');
  }
  if (sign.inception !== undefined) args.push('-s', signTime(sign.inception));
  if (sign.expiration !== undefined) args.push('-e', signTime(sign.expiration));
  else if (sign.validityDays !== undefined) args.push('-e', `now+${Math.round(sign.validityDays * 86_400)}`);
  if (sign.inception !== undefined || sign.expiration !== undefined) args.push('-P');
  return args;
}

function signTime(time: SignTime): string {
  if (typeof time === 'string') return time;
  return new Date(time * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** Returns the key's path without extension (dnssec-keygen prints the basename). */
async function generateKey(dir: string, origin: string, algorithm: SigningAlgorithm, ksk: boolean): Promise<string> {
  const size = algorithm.startsWith('RSA') ? ['-b', '2048'] : [];
  const flags = ksk ? ['-f', 'KSK'] : [];
  const { stdout } = await run('dnssec-keygen', ['-K', dir, '-a', algorithm, '-n', 'ZONE', ...size, ...flags, origin], dir);
  return join(dir, stdout.trim());
}

async function keyLines(keyPath: string): Promise<string[]> {
  return lines(await readFile(`${keyPath}.key`, 'utf8')).filter((line) => !line.startsWith(';'));
}

async function run(file: string, args: readonly string[], cwd: string): Promise<{ stdout: string }> {
  const result = await execa(file, args, { cwd, reject: false, timeout: TOOL_TIMEOUT_MS });
  if (result.exitCode !== 0) {
    throw new BindLabError(`${file} ${args.join(' ')} failed (exit ${result.exitCode}): ${result.stderr}`);
  }
  return { stdout: result.stdout };
}

async function launchNamed(
  dir: string,
  prepared: PreparedZones,
  options: ServeOptions,
): Promise<Pick<AuthServer, 'port' | 'logFile' | 'stop'>> {
  const logFile = join(dir, 'named.log');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort(LAB_ADDRESS);
    const confFile = join(dir, 'named.conf');
    await writeFile(confFile, namedConf(dir, port, prepared.files, options));
    // -g: foreground, log to stderr only (the logging statement and syslog are ignored).
    const named = execa(NAMED, ['-4', '-g', '-n', '1', '-c', confFile], {
      cwd: dir, reject: false, stdin: 'ignore', stdout: 'ignore', stderr: { file: logFile },
    });
    try {
      await waitUntilServing(named, port, [...prepared.files.keys()], logFile, options.startTimeoutMs);
      const stop = once(async () => {
        await stopChild(named);
        await removeLab(dir);
      });
      return { port, logFile, stop };
    } catch (error) {
      await stopChild(named);
      const log = await readFile(logFile, 'utf8').catch(() => '');
      if (attempt >= MAX_PORT_ATTEMPTS || !log.includes('address in use')) throw error;
    }
  }
}

function namedConf(dir: string, port: number, files: ReadonlyMap<string, string>, options: ServeOptions): string {
  const udpSize = options.ednsUdpSize ?? DEFAULT_UDP_SIZE;
  const recursion = options.recursionAcrossOwnZones
    ? 'recursion yes; allow-recursion { 127.0.0.0/8; };'
    : 'recursion no;';
  const order = options.canonicalRrsetOrder ? 'rrset-order { order none; };' : '';
  const zones = [...files].map(([origin, file]) => `zone "${origin}" { type primary; file "${file}"; };`);
  // Every path named would otherwise take from /etc/bind, /var/cache/bind or /run/named points
  // into dir. notify no and the blackhole keep named from sending anything off loopback, even
  // for NS records that tests point at documentation addresses.
  return `options {
  directory "${dir}"; pid-file "${dir}/named.pid"; lock-file "${dir}/named.lock";
  session-keyfile "${dir}/session.key"; managed-keys-directory "${dir}"; bindkeys-file "${dir}/bind.keys";
  dump-file "${dir}/named_dump.db"; statistics-file "${dir}/named.stats";
  memstatistics-file "${dir}/named.memstats"; secroots-file "${dir}/named.secroots";
  recursing-file "${dir}/named.recursing";
  listen-on port ${port} { ${LAB_ADDRESS}; }; listen-on-v6 { none; };
  query-source address ${LAB_ADDRESS}; blackhole { !127.0.0.0/8; any; }; notify no;
  ${recursion} dnssec-validation no; empty-zones-enable no;
  edns-udp-size ${udpSize}; max-udp-size ${udpSize}; ${order}
  check-names primary ignore; check-integrity no; check-mx ignore; check-wildcard no;
  check-sibling no; check-spf ignore; check-dup-records ignore;
};
controls { };
${zones.join('\n')}
`;
}

/** Polls with dig until named answers authoritatively for every zone, or fails with its log. */
async function waitUntilServing(
  named: ResultPromise,
  port: number,
  origins: readonly string[],
  logFile: string,
  timeoutMs = DEFAULT_START_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const server = { address: LAB_ADDRESS, port };
  const queries = origins.flatMap((origin) => [origin, 'SOA']);
  let problem = 'no answer yet';
  while (Date.now() < deadline) {
    if (named.exitCode !== null || named.signalCode !== null) {
      throw await startFailure(`named exited (code ${named.exitCode}, signal ${named.signalCode})`, logFile);
    }
    // named logs 'running' once it has tried every zone; read before asking, so that a zone
    // missing from an answer given after that line failed to load (not: is still loading).
    const running = / running$/m.test(await readFile(logFile, 'utf8').catch(() => ''));
    const result = await dig(server, ['+norec', '+time=1', '+tries=1', ...queries]);
    if (result.exitCode === 0) {
      const bad = unservedZones(result.stdout, origins);
      if (bad.length === 0) return;
      problem = `not authoritative for ${bad.join(', ')}`;
      if (running) {
        throw await startFailure(`named on ${LAB_ADDRESS}#${port} ${problem}`, logFile);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw await startFailure(`named on ${LAB_ADDRESS}#${port} not serving within ${timeoutMs} ms: ${problem}`, logFile);
}

/** dig prints one header per query, in order; a loaded zone answers its SOA with NOERROR and aa. */
function unservedZones(stdout: string, origins: readonly string[]): string[] {
  const headers = stdout.split(';; ->>HEADER<<-').slice(1);
  return origins.filter((_, i) => {
    const header = headers[i] ?? '';
    return !/status: NOERROR/.test(header) || !/flags:[^;]*\baa\b/.test(header);
  });
}

async function startFailure(message: string, logFile: string): Promise<BindLabError> {
  const log = await readFile(logFile, 'utf8').catch(() => '(no log)');
  const tail = lines(log).slice(-30).join('\n');
  return new BindLabError(`${message}\n--- ${logFile} (tail) ---\n${tail}`);
}

function removeLab(dir: string): Promise<void> {
  return removeLabDir(dir, 'bind-lab');
}

function byDepthDeepestFirst<T extends ZoneSpec>(zones: readonly T[]): T[][] {
  const levels = new Map<number, T[]>();
  for (const zone of zones) levels.set(depth(zone.origin), [...(levels.get(depth(zone.origin)) ?? []), zone]);
  return [...levels].sort(([a], [b]) => b - a).map(([, level]) => level);
}

function closestParent<T extends ZoneSpec>(origin: string, zones: readonly T[]): T | undefined {
  const ancestors = zones.filter((zone) => isBelow(origin, zone.origin));
  return ancestors.sort((a, b) => depth(b.origin) - depth(a.origin))[0];
}

function isBelow(name: string, ancestor: string): boolean {
  return ancestor === '.' ? name !== '.' : name.endsWith(`.${ancestor}`);
}

function depth(origin: string): number {
  return origin === '.' ? 0 : origin.slice(0, -1).split('.').length;
}

function normalizeOrigin(origin: string): string {
  if (!origin.endsWith('.')) throw new BindLabError(`zone origin ${origin} must be absolute (end with '.')`);
  return origin.toLowerCase();
}

function nsName(origin: string): string {
  return `ns.${absoluteSuffix(origin)}`;
}

/** The origin as a suffix after a label: '' for the root, so 'ns.' rather than 'ns..'. */
function absoluteSuffix(origin: string): string {
  return origin === '.' ? '' : origin;
}

const TTL_OR_CLASS = /^(\d[\dsmhdw]*|IN|CH|HS|CLASS\d+)$/i;

/** Owner (absolute, lowercase) and type of a zone-file line that names its owner. */
function lineHead(line: string, origin: string): { owner: string; type: string } | undefined {
  if (/^\s/.test(line) || line.startsWith('$') || line.startsWith(';')) return undefined;
  const [owner = '', ...rest] = line.trim().split(/\s+/);
  const type = rest.find((token) => !TTL_OR_CLASS.test(token));
  if (type === undefined) return undefined;
  const absolute = owner === '@' ? origin : owner.endsWith('.') ? owner : `${owner}.${absoluteSuffix(origin)}`;
  return { owner: absolute.toLowerCase(), type: type.toUpperCase() };
}

function lines(text: string): string[] {
  return text.split('\n').map((line) => line.trim()).filter((line) => line !== '');
}

function isLoopback(address: string): boolean {
  return address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}

/**
 * Rewrites the signed zone as named-checkzone dumps it (one record a line) with the last byte of
 * the signature of the RRSIG over owner/type flipped: the RRset is served with an RRSIG that
 * does not verify (RFC 4035 §5.3.3), while the owner's other RRsets stay secure.
 */
export async function tamperRrsig(prepared: PreparedZones, origin: string, owner: string, covered: string): Promise<void> {
  const file = prepared.files.get(origin);
  if (file === undefined) throw new BindLabError(`no zone file for ${origin}`);
  const { stdout } = await execa('named-checkzone', ['-D', '-s', 'full', '-o', '-', origin, file], { timeout: TOOL_TIMEOUT_MS });
  let tampered = 0;
  const lines = stdout.split('\n').map((text) => {
    // owner ttl class RRSIG covered algorithm labels original-ttl expiration inception key-tag signer signature…
    const fields = text.trim().split(/\s+/);
    if (fields[0] !== owner || fields[3] !== 'RRSIG' || fields[4] !== covered) return text;
    tampered++;
    const signature = Buffer.from(fields.slice(12).join(''), 'base64');
    const last = signature.length - 1;
    signature.writeUInt8(signature.readUInt8(last) ^ 0x01, last);
    return [...fields.slice(0, 12), signature.toString('base64')].join(' ');
  });
  if (tampered !== 1) throw new BindLabError(`expected one RRSIG over ${owner}/${covered} in ${file}, found ${tampered}`);
  await writeFile(file, `${lines.join('\n')}\n`);
}
