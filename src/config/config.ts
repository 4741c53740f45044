/**
 * The whole configuration, from flags and an optional YAML file whose keys are the flags' long
 * names (`listen`, `upstream`, `log-level`, `cache-max-entries`, ...). Flags win over the file.
 */
import { parse as parseYaml } from 'yaml';
import { ConfigError, errorMessage } from '../core/errors.js';
import { LOG_LEVELS, type LogLevel } from '../core/log.js';
import { parseEndpoint, type Endpoint } from './endpoint.js';
import { assertNoLoop, selfReferences } from './loop.js';
import { parseResolvConf } from './resolv-conf.js';

export interface CacheConfig {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly maxTtlSeconds: number;
  readonly minTtlSeconds: number;
  /** RFC 2308 §5: negative answers are cached for at most this long (1–3 hours advised). */
  readonly negativeMaxTtlSeconds: number;
}

export interface UpstreamConfig {
  readonly servers: readonly Endpoint[];
  /** Where the servers came from, for messages: flags/file, or resolv.conf. */
  readonly source: 'configured' | 'resolv.conf';
  /** One attempt at one server. */
  readonly attemptTimeoutMs: number;
  /** The whole query, across retries and failover. */
  readonly queryTimeoutMs: number;
  /** How long a server that timed out is skipped before it is tried again. */
  readonly deadSeconds: number;
}

export interface DnssecConfig {
  /** Files of zone-file DS/DNSKEY lines; when given, they replace the built-in root anchors. */
  readonly trustAnchorFiles: readonly string[];
  /** Negative trust anchors (RFC 7646): domains not validated. */
  readonly insecure: readonly string[];
}

export interface KeysConfig {
  /** Whether A/AAAA answers get the keys step (IPSECKEY, CERT, TLSA lookups and a decision). */
  readonly enabled: boolean;
  /** TLSA lookups made for each A/AAAA answer: `_PORT._PROTOCOL.NAME`. */
  readonly tlsaPorts: readonly { readonly port: number; readonly protocol: 'tcp' | 'udp' | 'sctp' }[];
  /** How long a client's answer waits for its decision to be in place. */
  readonly answerTimeoutMs: number;
  /** What then: answer anyway (opportunistic) or SERVFAIL. */
  readonly onTimeout: 'answer' | 'servfail';
  /**
   * The policy directory (`--policies`, or `policies/` beside the config file when it exists);
   * undefined: the built-in default decision (opportunistic, as policies/default.yaml says).
   */
  readonly policiesDir: string | undefined;
  /** Where decisions become policies: `none` (subscribers only), `dry-run` (recorded, logged). */
  readonly ipsecBackend: (typeof IPSEC_BACKENDS)[number];
  /** Apply kernel policies in this network namespace (labs and tests); undefined: oedns' own. */
  readonly ipsecNetns: string | undefined;
  /** The setkey executable for the setkey backend (default `setkey` on PATH). */
  readonly setkeyPath: string | undefined;
  /** Where the IPsec state file lives (what oedns installed, for reconciling after a crash). */
  readonly stateDir: string;
  /** `oedns status` asks here; `explicit`: given by the user (then failing to open it is fatal). */
  readonly controlSocket: { readonly path: string; readonly explicit: boolean };
  /** charon's VICI socket (vici backend). */
  readonly viciSocket: string;
  /** This host's IKE identity (FQDN) and its private key file, PKCS#8 PEM (vici), plainrsa-gen format (racoon). */
  readonly ikeIdentity: string | undefined;
  readonly ikeKey: string | undefined;
  /** The privileged helper's socket (helper backend). */
  readonly ipsecHelperSocket: string | undefined;
  /** racoon backend: directory for peer files, and the racoonctl executable. */
  readonly racoonPeerDir: string;
  readonly racoonctlPath: string | undefined;
}

export interface Config {
  readonly listen: readonly Endpoint[];
  /** True when no listen address was given: then an unavailable ::1 is skipped, not fatal. */
  readonly listenIsDefault: boolean;
  readonly upstream: UpstreamConfig;
  readonly logLevel: LogLevel;
  readonly cache: CacheConfig;
  readonly tcpIdleTimeoutMs: number;
  readonly tcpMaxConnections: number;
  readonly dnssec: DnssecConfig;
  readonly keys: KeysConfig;
}

/** Settings as flags and the YAML file spell them. Every key is optional. */
export interface Settings {
  readonly listen?: readonly string[] | undefined;
  readonly upstream?: readonly string[] | undefined;
  readonly 'trust-anchor'?: readonly string[] | undefined;
  readonly insecure?: readonly string[] | undefined;
  readonly 'log-level'?: string | undefined;
  readonly 'cache-max-entries'?: number | undefined;
  readonly 'cache-max-mb'?: number | undefined;
  readonly 'cache-max-ttl'?: number | undefined;
  readonly 'cache-min-ttl'?: number | undefined;
  readonly 'negative-max-ttl'?: number | undefined;
  readonly 'upstream-timeout-ms'?: number | undefined;
  readonly 'query-timeout-ms'?: number | undefined;
  readonly 'upstream-dead-seconds'?: number | undefined;
  readonly 'tcp-idle-timeout-ms'?: number | undefined;
  readonly 'tcp-max-connections'?: number | undefined;
  readonly keys?: boolean | undefined;
  readonly 'tlsa-port'?: readonly string[] | undefined;
  readonly 'answer-timeout-ms'?: number | undefined;
  readonly 'answer-timeout-action'?: string | undefined;
  readonly policies?: string | undefined;
  readonly 'ipsec-backend'?: string | undefined;
  readonly 'ipsec-netns'?: string | undefined;
  readonly 'setkey-path'?: string | undefined;
  readonly 'state-dir'?: string | undefined;
  readonly 'control-socket'?: string | undefined;
  readonly 'vici-socket'?: string | undefined;
  readonly 'ike-identity'?: string | undefined;
  readonly 'ike-key'?: string | undefined;
  readonly 'ipsec-helper-socket'?: string | undefined;
  readonly 'racoon-peer-dir'?: string | undefined;
  readonly 'racoonctl-path'?: string | undefined;
}

const LIST_KEYS = ['listen', 'upstream', 'trust-anchor', 'insecure', 'tlsa-port'] as const;
const NUMBER_KEYS = [
  'cache-max-entries', 'cache-max-mb', 'cache-max-ttl', 'cache-min-ttl', 'negative-max-ttl',
  'upstream-timeout-ms', 'query-timeout-ms', 'upstream-dead-seconds', 'tcp-idle-timeout-ms', 'tcp-max-connections',
  'answer-timeout-ms',
] as const;
const STRING_KEYS = [
  'log-level', 'answer-timeout-action', 'policies', 'ipsec-backend', 'ipsec-netns', 'setkey-path', 'state-dir', 'control-socket',
  'vici-socket', 'ike-identity', 'ike-key', 'ipsec-helper-socket', 'racoon-peer-dir', 'racoonctl-path',
] as const;
/** Where decisions become policies (issue 6). */
export const IPSEC_BACKENDS = ['none', 'dry-run', 'xfrm', 'setkey', 'racoon', 'vici', 'helper'] as const;
/** Defaults of the IPsec settings. */
export const DEFAULT_STATE_DIR = '/var/lib/oedns';
export const DEFAULT_CONTROL_SOCKET = '/run/oedns/control.sock';
export const DEFAULT_VICI_SOCKET = '/var/run/charon.vici';
export const DEFAULT_RACOON_PEER_DIR = '/var/lib/oedns/racoon';
const BOOLEAN_KEYS = ['keys'] as const;
export const SETTING_KEYS: readonly string[] = [...LIST_KEYS, ...STRING_KEYS, ...BOOLEAN_KEYS, ...NUMBER_KEYS];
const TIMEOUT_ACTIONS = ['answer', 'servfail'] as const;

export const DEFAULT_LISTEN = ['127.0.0.1:53', '[::1]:53'] as const;

/** Parses the YAML text of a config file into Settings, naming the file and key on error. */
export function parseSettingsFile(text: string, file: string): Settings {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`config file ${file} is not valid YAML: ${errorMessage(error)}`, { cause: error });
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new ConfigError(`config file ${file} must be a mapping of settings`);
  const settings: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (!SETTING_KEYS.includes(key)) throw new ConfigError(`config file ${file}: unknown setting "${key}" (known: ${SETTING_KEYS.join(', ')})`);
    if ((LIST_KEYS as readonly string[]).includes(key)) {
      const list = Array.isArray(value) ? value : [value];
      if (!list.every((v) => typeof v === 'string')) throw new ConfigError(`config file ${file}: "${key}" must be a string or a list of strings`);
      settings[key] = list;
    } else if ((STRING_KEYS as readonly string[]).includes(key)) {
      if (typeof value !== 'string') throw new ConfigError(`config file ${file}: "${key}" must be a string`);
      settings[key] = value;
    } else if ((BOOLEAN_KEYS as readonly string[]).includes(key)) {
      if (typeof value !== 'boolean') throw new ConfigError(`config file ${file}: "${key}" must be true or false`);
      settings[key] = value;
    } else {
      if (typeof value !== 'number') throw new ConfigError(`config file ${file}: "${key}" must be a number`);
      settings[key] = value;
    }
  }
  return settings as Settings;
}

/** Later settings override earlier ones, key by key (flags come last). */
export function mergeSettings(...layers: readonly Settings[]): Settings {
  const merged: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) if (value !== undefined) merged[key] = value;
  }
  return merged as Settings;
}

function positiveInteger(settings: Settings, key: (typeof NUMBER_KEYS)[number], fallback: number, min = 1): number {
  const value = settings[key] ?? fallback;
  if (!Number.isInteger(value) || value < min) throw new ConfigError(`setting ${key} must be an integer >= ${min}, got ${value}`);
  return value;
}

export interface Environment {
  /** Text of /etc/resolv.conf, or undefined if it could not be read. */
  readonly resolvConf: string | undefined;
  /** Addresses of this host's interfaces (for loop detection with wildcard listeners). */
  readonly localAddresses: readonly string[];
}

export function buildConfig(settings: Settings, env: Environment): Config {
  const level = settings['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new ConfigError(`log-level "${level}" is not one of ${LOG_LEVELS.join(', ')}`);
  const listenIsDefault = !settings.listen || settings.listen.length === 0;
  const listen = (listenIsDefault ? DEFAULT_LISTEN : settings.listen!).map((t) => parseEndpoint(t, 53, 'listen address'));
  const upstream = resolveUpstreams(settings, env, listen);
  const attemptTimeoutMs = positiveInteger(settings, 'upstream-timeout-ms', 1500);
  const queryTimeoutMs = positiveInteger(settings, 'query-timeout-ms', 5000);
  if (queryTimeoutMs < attemptTimeoutMs) throw new ConfigError(`query-timeout-ms (${queryTimeoutMs}) must be at least upstream-timeout-ms (${attemptTimeoutMs})`);
  const minTtlSeconds = positiveInteger(settings, 'cache-min-ttl', 0, 0);
  const maxTtlSeconds = positiveInteger(settings, 'cache-max-ttl', 86_400, 0);
  if (minTtlSeconds > maxTtlSeconds) throw new ConfigError(`cache-min-ttl (${minTtlSeconds}) exceeds cache-max-ttl (${maxTtlSeconds})`);
  return {
    listen,
    listenIsDefault,
    upstream: {
      ...upstream,
      attemptTimeoutMs,
      queryTimeoutMs,
      deadSeconds: positiveInteger(settings, 'upstream-dead-seconds', 30),
    },
    logLevel: level as LogLevel,
    cache: {
      maxEntries: positiveInteger(settings, 'cache-max-entries', 250_000),
      maxBytes: positiveInteger(settings, 'cache-max-mb', 128) * 1024 * 1024,
      maxTtlSeconds,
      minTtlSeconds,
      negativeMaxTtlSeconds: positiveInteger(settings, 'negative-max-ttl', 3600, 0),
    },
    tcpIdleTimeoutMs: positiveInteger(settings, 'tcp-idle-timeout-ms', 10_000),
    tcpMaxConnections: positiveInteger(settings, 'tcp-max-connections', 512),
    dnssec: { trustAnchorFiles: settings['trust-anchor'] ?? [], insecure: settings.insecure ?? [] },
    keys: keysConfig(settings),
  };
}

/** `443`, `443/tcp`, `5060/udp` → port and protocol (RFC 6698 §3: `_PORT._PROTOCOL.NAME`). */
export function parseTlsaPort(text: string): KeysConfig['tlsaPorts'][number] {
  const match = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(text.trim().toLowerCase());
  const port = match ? Number(match[1]) : NaN;
  if (!match || port < 1 || port > 65_535) throw new ConfigError(`tlsa-port "${text}" is not PORT or PORT/tcp|udp|sctp (port 1-65535)`);
  return { port, protocol: (match[2] ?? 'tcp') as 'tcp' | 'udp' | 'sctp' };
}

/** Paths oedns keeps state or sockets at are absolute: a relative one would depend on the working directory. */
function absolutePath(key: string, path: string): string {
  if (!path.startsWith('/')) throw new ConfigError(`${key} "${path}" must be an absolute path`);
  return path;
}

function ipsecBackend(name: string): KeysConfig['ipsecBackend'] {
  if (!(IPSEC_BACKENDS as readonly string[]).includes(name)) throw new ConfigError(`ipsec-backend "${name}" is not one of ${IPSEC_BACKENDS.join(', ')}`);
  return name as KeysConfig['ipsecBackend'];
}

function keysConfig(settings: Settings): KeysConfig {
  const action = settings['answer-timeout-action'] ?? 'answer';
  if (!(TIMEOUT_ACTIONS as readonly string[]).includes(action)) {
    throw new ConfigError(`answer-timeout-action "${action}" is not one of ${TIMEOUT_ACTIONS.join(', ')}`);
  }
  return {
    enabled: settings.keys ?? true,
    tlsaPorts: (settings['tlsa-port'] ?? []).map(parseTlsaPort),
    answerTimeoutMs: positiveInteger(settings, 'answer-timeout-ms', 2000),
    onTimeout: action as 'answer' | 'servfail',
    policiesDir: settings.policies,
    ipsecBackend: ipsecBackend(settings['ipsec-backend'] ?? 'none'),
    ipsecNetns: settings['ipsec-netns'],
    setkeyPath: settings['setkey-path'],
    stateDir: absolutePath('state-dir', settings['state-dir'] ?? DEFAULT_STATE_DIR),
    controlSocket: { path: absolutePath('control-socket', settings['control-socket'] ?? DEFAULT_CONTROL_SOCKET), explicit: settings['control-socket'] !== undefined },
    viciSocket: absolutePath('vici-socket', settings['vici-socket'] ?? DEFAULT_VICI_SOCKET),
    ikeIdentity: settings['ike-identity'],
    ikeKey: settings['ike-key'] === undefined ? undefined : absolutePath('ike-key', settings['ike-key']),
    ipsecHelperSocket: settings['ipsec-helper-socket'] === undefined ? undefined : absolutePath('ipsec-helper-socket', settings['ipsec-helper-socket']),
    racoonPeerDir: absolutePath('racoon-peer-dir', settings['racoon-peer-dir'] ?? DEFAULT_RACOON_PEER_DIR),
    racoonctlPath: settings['racoonctl-path'],
  };
}

function resolveUpstreams(settings: Settings, env: Environment, listen: readonly Endpoint[]): Pick<UpstreamConfig, 'servers' | 'source'> {
  if (settings.upstream && settings.upstream.length > 0) {
    const servers = settings.upstream.map((t) => parseEndpoint(t, 53, 'upstream'));
    assertNoLoop(servers, listen, env.localAddresses);
    return { servers, source: 'configured' };
  }
  if (env.resolvConf === undefined) {
    throw new ConfigError('no upstream given and /etc/resolv.conf cannot be read: give one with --upstream IP[:PORT]');
  }
  const listed = parseResolvConf(env.resolvConf);
  const own = selfReferences(listed, listen, env.localAddresses);
  const servers = listed.filter((s) => !own.includes(s));
  if (servers.length === 0) {
    const why = listed.length === 0
      ? '/etc/resolv.conf lists no nameserver'
      : `/etc/resolv.conf lists only ${listed.map((s) => s.address).join(', ')}, which is oedns itself (a forwarding loop)`;
    throw new ConfigError(`no upstream resolver: ${why}. Give the resolver to forward to with --upstream IP[:PORT]`);
  }
  return { servers, source: 'resolv.conf' };
}
