/**
 * Builds oedns from its configuration and hands each part its dependencies:
 * listeners → pipeline (cache, upstream). Owns the lifecycle: start, reload (SIGHUP), stop.
 */
import { setMaxListeners } from 'node:events';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { MessageCache } from './cache/index.js';
import {
  buildConfig, formatEndpoint, localAddresses, mergeSettings, parseSettingsFile,
  type Config, type Environment, type Settings,
} from './config/index.js';
import { ConfigError, errorMessage, ListenError } from './core/errors.js';
import { createRootLogger, type Logger } from './core/log.js';
import { Listeners } from './listener/index.js';
import { DecisionRules } from './decision-rules.js';
import { createResolverStack } from './resolver-stack.js';
import { createBackend, PolicyManager, type BackendHandle, type BackendSettings, type IkeResult } from './ipsec/index.js';
import { ControlServer, statusReport } from './ipsec/control/index.js';
import { OEDNS_VERSION } from './core/version.js';
import { DecisionBus, KeyBroker, Resolver, specsOf } from './pipeline/index.js';
import { typeName } from './wire/index.js';
import { PolicyStore } from './policy/index.js';
import { DnssecService, loadDnssecSetup, type DnssecSetup, type DnssecStats } from './dnssec-service.js';
import { UpstreamPool } from './upstream/index.js';
import { lookUpIkePeer } from './peer-lookup.js';

export interface OednsOptions {
  /** Settings from flags; they win over the config file. */
  readonly flags: Settings;
  readonly configFile?: string | undefined;
  readonly resolvConfPath?: string | undefined;
  /** Log sink; default stdout. */
  readonly logDestination?: import('pino').DestinationStream | undefined;
}


/** Flags, config file, resolv.conf and DNSSEC anchors, as `serve` and `lookup` use them. */
export async function loadConfig(options: OednsOptions): Promise<{ config: Config; dnssec: DnssecSetup }> {
  let fileSettings: Settings = {};
  if (options.configFile) {
    let text: string;
    try {
      text = await readFile(options.configFile, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read config file ${options.configFile}: ${errorMessage(error)}`, { cause: error });
    }
    fileSettings = parseSettingsFile(text, options.configFile);
  }
  // A policy directory named in the config file is relative to that file; without one, a
  // `policies/` directory beside it is used when it exists.
  if (options.configFile) {
    const beside = join(dirname(options.configFile), 'policies');
    if (fileSettings.policies !== undefined) fileSettings = { ...fileSettings, policies: resolve(dirname(options.configFile), fileSettings.policies) };
    else if (await isDirectory(beside)) fileSettings = { ...fileSettings, policies: beside };
  }

  const resolvConfPath = options.resolvConfPath ?? '/etc/resolv.conf';
  const resolvConf = await readFile(resolvConfPath, 'utf8').catch(() => undefined);
  const env: Environment = { resolvConf, localAddresses: localAddresses() };
  const config = buildConfig(mergeSettings(fileSettings, options.flags), env);
  return { config, dnssec: await loadDnssecSetup(config.dnssec) };
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

/** How long opening the IPsec backend (charon's or the helper's socket, loading the IKE key) may take at start. */
const BACKEND_START_TIMEOUT_MS = 10_000;
/** How long stop() waits for the backend to remove everything (SIGTERM). */
const STOP_REMOVAL_TIMEOUT_MS = 10_000;
/** A failure shunt's lifetime when the spec does not carry its rule's (policies' default shunt-lifetime). */
const DEFAULT_SHUNT_SECONDS = 900;

function backendSettings(config: Config): BackendSettings {
  const k = config.keys;
  return {
    backend: k.ipsecBackend as BackendSettings['backend'], netns: k.ipsecNetns, setkeyPath: k.setkeyPath, racoonctlPath: k.racoonctlPath,
    racoonPeerDir: k.racoonPeerDir, viciSocket: k.viciSocket, ikeIdentity: k.ikeIdentity, ikeKeyPath: k.ikeKey, helperSocket: k.ipsecHelperSocket,
  };
}

/** Live heap per cache byte budget, with room for in-flight work and V8's own slack. */
const HEAP_PER_CACHE_BYTE = 2;
const HEAP_BASE_BYTES = 96 * 1024 * 1024;

/** A cache budget the heap cannot hold would end in an out-of-memory crash: say so at once. */
function warnIfHeapTooSmall(config: Config, log: Logger): void {
  const limitBytes = getHeapStatistics().heap_size_limit;
  const neededBytes = config.cache.maxBytes * HEAP_PER_CACHE_BYTE + HEAP_BASE_BYTES;
  if (neededBytes > limitBytes) {
    const mb = (n: number): number => Math.ceil(n / 1024 / 1024);
    log.warn({ cacheMaxMb: mb(config.cache.maxBytes), heapLimitMb: mb(limitBytes), neededMb: mb(neededBytes) },
      `cache-max-mb is too large for the JavaScript heap: lower it, or start node with --max-old-space-size=${mb(neededBytes)}`);
  }
}

export class Oedns {
  /** Aborts every query in progress at stop(). Each upstream query listens on it while it runs. */
  private readonly shutdown = new AbortController();
  private readonly startedAtMs = Date.now();
  /** `oedns status` asks here; opened after the listeners. */
  private control: ControlServer | undefined;
  /** The IPsec backend's connection (charon, the helper), closed after the last removal. */
  private backendHandle: BackendHandle | undefined;

  private constructor(
    private readonly options: OednsOptions,
    private current: Config,
    /** The root logger first, then its children (pino children do not follow the root's level). */
    private readonly loggers: readonly Logger[],
    readonly cache: MessageCache,
    readonly upstream: UpstreamPool,
    readonly resolver: Resolver,
    private readonly validation: DnssecService,
    private readonly listeners: Listeners,
    /** Every keys decision, for the IPsec backends, metrics and tests to subscribe to. */
    readonly decisions: DecisionBus,
    /** The keys step; undefined with --no-keys. */
    readonly keys: KeyBroker | undefined,
    private readonly rules: DecisionRules,
    /** The policy lifecycle in front of the IPsec backend; undefined with ipsec-backend none. */
    readonly ipsec: PolicyManager | undefined,
  ) {
    setMaxListeners(0, this.shutdown.signal);
  }

  /** Loads the configuration and opens every listener; any error here is fatal to the caller. */
  static async start(options: OednsOptions): Promise<Oedns> {
    const { config, dnssec } = await loadConfig(options);
    const log = createRootLogger(config.logLevel, options.logDestination);
    const children = ['upstream', 'pipeline', 'listener', 'dnssec'].map((mod) => log.child({ mod }));
    const [upstreamLog, pipelineLog, listenerLog, dnssecLog] = children as [Logger, Logger, Logger, Logger];
    let self: Oedns | undefined;
    const decisions = new DecisionBus((decision, error) => pipelineLog.warn({ name: decision.name, err: error }, 'decision subscriber failed'));
    const policies = config.keys.enabled && config.keys.policiesDir
      ? await PolicyStore.open({ dir: config.keys.policiesDir, log: log.child({ mod: 'policy' }) })
      : undefined;
    const rules = new DecisionRules(config, policies);
    rules.watch();
    let keys: KeyBroker | undefined;
    const { cache, upstream, validation, resolver } = createResolverStack(config, dnssec, { upstream: upstreamLog, pipeline: pipelineLog, dnssec: dnssecLog }, (current) => {
      keys = config.keys.enabled
        ? new KeyBroker({ lookup: (question, signal) => current().lookupForKeys(question, signal), bus: decisions, log: pipelineLog, ...rules.brokerSettings() })
        : undefined;
      return keys;
    });
    // IKE results reach the failure shunts; `self` exists by the time any IKE runs.
    const handle = config.keys.ipsecBackend === 'none' ? undefined
      : createBackend(backendSettings(config), log.child({ mod: 'ipsec' }), {
        onIkeResult: (result) => self?.ikeResult(result),
        // An unknown IKE peer's name is looked up as a client's query; stop() aborts it.
        learnPeer: (peer, signal) => lookUpIkePeer((bytes, client, s) => resolver.handle(bytes, client, s), peer, AbortSignal.any([signal, self!.shutdown.signal])),
      });
    const backend = handle?.backend;
    // The dry-run backend installs nothing: no state file to keep.
    const stateDir = config.keys.ipsecBackend === 'dry-run' ? undefined : config.keys.stateDir;
    const ipsec = backend ? new PolicyManager(backend, log.child({ mod: 'ipsec' }), Date.now, { stateDir }) : undefined;
    if (ipsec) {
      ipsec.start();
      decisions.subscribe((d, signal) => ipsec.put(`${d.qname}/${typeName(d.qtype)}`, specsOf(d), d.expiresAtMs, signal));
    }
    const pipeline = resolver;
    const listeners = new Listeners(
      (query, client) => pipeline.handle(query, client, self!.shutdown.signal),
      { idleTimeoutMs: config.tcpIdleTimeoutMs, maxConnections: config.tcpMaxConnections },
      listenerLog,
    );
    self = new Oedns(options, config, [log, ...children], cache, upstream, pipeline, validation, listeners, decisions, keys, rules, ipsec);
    self.backendHandle = handle;
    try {
      await handle?.start(AbortSignal.timeout(BACKEND_START_TIMEOUT_MS));
      // What a crashed oedns left in the backend is removed or adopted before anything is answered.
      await ipsec?.reconcile();
      await self.openListeners(config);
      self.control = await ControlServer.open({
        path: config.keys.controlSocket.path, explicit: config.keys.controlSocket.explicit, log: log.child({ mod: 'control' }),
        status: () => self!.status(),
      });
    } catch (error) {
      await listeners.closeAll();
      rules.close();
      handle?.close();
      throw error;
    }
    warnIfHeapTooSmall(config, log);
    log.info({
      listen: listeners.endpoints.map(formatEndpoint),
      upstreams: config.upstream.servers.map(formatEndpoint),
      upstreamSource: config.upstream.source,
    }, 'oedns serving');
    return self;
  }

  get log(): Logger {
    return this.loggers[0]!;
  }

  get config(): Config {
    return this.current;
  }

  /** A copy of the validator's work counters (signature verifications, NSEC3 hashes). */
  get dnssec(): Readonly<DnssecStats> {
    return { ...this.validation.stats };
  }

  /**
   * IKE with `address` failed (an IPsec backend reports it): a failure shunt for
   * `lifetimeSeconds` (the deciding rule's shunt-lifetime), and every name decided again at its
   * next query: under `use` the address then goes in clear until the shunt ends, under `require`
   * it is blocked and its names answer SERVFAIL.
   */
  ikeFailed(address: string, reason: string, lifetimeSeconds: number): void {
    const shunt = this.rules.shunts.recordFailure(address, lifetimeSeconds, Math.floor(Date.now() / 1000), reason);
    this.keys?.invalidateAll();
    this.log.warn({ address: shunt.address, reason, shuntSeconds: lifetimeSeconds }, 'IKE failed; failure shunt in force');
  }

  /** What an IKE backend learnt: IKE up lifts a shunt; a failure records one for the rule's shunt-lifetime. */
  ikeResult(result: IkeResult): void {
    if (result.ok) this.ikeSucceeded(result.address);
    else this.ikeFailed(result.address, result.reason, result.spec?.shuntSeconds ?? DEFAULT_SHUNT_SECONDS);
  }

  /** IKE with `address` succeeded: any failure shunt for it ends. */
  ikeSucceeded(address: string): void {
    if (this.rules.shunts.clear(address)) {
      this.keys?.invalidateAll();
      this.log.info({ address }, 'IKE succeeded; failure shunt lifted');
    }
  }

  /** What `oedns status` shows. */
  status(): ReturnType<typeof statusReport> {
    return statusReport({
      backend: this.ipsec?.backend.name ?? 'none', policies: this.ipsec?.list() ?? [], nowMs: Date.now(), startedAtMs: this.startedAtMs,
      pid: process.pid, version: OEDNS_VERSION, listen: this.listening, counters: { ...this.resolver.stats },
    });
  }

  get listening(): string[] {
    return this.listeners.endpoints.map(formatEndpoint);
  }

  private async openListeners(config: Config): Promise<void> {
    for (const endpoint of config.listen) {
      try {
        await this.listeners.open(endpoint);
      } catch (error) {
        // The default [::1]:53 is best effort: a host without IPv6 still gets 127.0.0.1:53.
        const optional = config.listenIsDefault && endpoint.family === 6 && error instanceof ListenError &&
          /EADDRNOTAVAIL|EAFNOSUPPORT/.test(String((error.cause as NodeJS.ErrnoException | undefined)?.code));
        if (!optional) throw error;
        this.log.warn({ listen: formatEndpoint(endpoint), err: error.message }, 'skipping default IPv6 listener');
      }
    }
  }

  /**
   * SIGHUP: re-reads the config file and resolv.conf and applies them. A configuration that does
   * not load, or a new address that cannot be opened, leaves the running configuration in place.
   */
  async reload(): Promise<boolean> {
    let next: Config;
    let dnssec: DnssecSetup;
    try {
      ({ config: next, dnssec } = await loadConfig(this.options));
    } catch (error) {
      this.log.error({ err: errorMessage(error) }, 'reload failed; keeping the running configuration');
      return false;
    }
    const wanted = new Set(next.listen.map(formatEndpoint));
    const added = next.listen.filter((e) => !this.listeners.endpoints.some((o) => formatEndpoint(o) === formatEndpoint(e)));
    const opened = [];
    for (const endpoint of added) {
      try {
        await this.listeners.open(endpoint);
        opened.push(endpoint);
      } catch (error) {
        for (const e of opened) await this.listeners.close(e);
        this.log.error({ err: errorMessage(error) }, 'reload failed; keeping the running configuration');
        return false;
      }
    }
    for (const endpoint of this.listeners.endpoints) {
      if (!wanted.has(formatEndpoint(endpoint))) await this.listeners.close(endpoint);
    }
    for (const logger of this.loggers) logger.level = next.logLevel;
    warnIfHeapTooSmall(next, this.log);
    this.upstream.reconfigure(next.upstream);
    this.cache.reconfigure(next.cache);
    if (JSON.stringify(next.dnssec) !== JSON.stringify(this.current.dnssec)) {
      this.validation.reconfigure(dnssec);
      // Answers validated under the old anchors must not outlive them.
      this.cache.clear();
    }
    this.listeners.reconfigure({ idleTimeoutMs: next.tcpIdleTimeoutMs, maxConnections: next.tcpMaxConnections });
    if (next.keys.enabled !== this.current.keys.enabled) {
      this.log.warn({ keys: next.keys.enabled }, 'switching the keys step on or off takes a restart; keeping it as it was');
    }
    if (next.keys.policiesDir !== this.current.keys.policiesDir) {
      this.log.warn({ policies: next.keys.policiesDir ?? null }, 'a different policy directory takes a restart; reloading the one in use');
    }
    await this.rules.reload(next);
    this.keys?.reconfigure(this.rules.brokerSettings());
    this.current = next;
    this.log.info({ listen: this.listening, upstreams: next.upstream.servers.map(formatEndpoint) }, 'configuration reloaded');
    return true;
  }

  async stop(): Promise<void> {
    this.shutdown.abort(new Error('oedns is shutting down'));
    this.rules.close();
    await this.listeners.closeAll();
    await this.control?.close();
    // Everything oedns installed goes with it; a backend that does not answer (charon gone) does
    // not hold the exit up for ever: the state file keeps what is left for the next start.
    await this.ipsec?.stop(AbortSignal.timeout(STOP_REMOVAL_TIMEOUT_MS)).catch((error: unknown) => this.log.error({ err: errorMessage(error) }, 'removing IPsec policies failed; the state file keeps them for the next start'));
    this.backendHandle?.close();
    this.log.info({ stats: this.resolver.stats, cache: this.cache.stats(), dnssec: this.validation.stats }, 'oedns stopped');
  }
}
