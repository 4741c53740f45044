/**
 * The `vici` backend (strongSwan companion mode, issue 6): oedns tells charon, over its VICI
 * socket, which peers to protect with which keys; charon installs the SPD (trap policies) and
 * negotiates. Per spec one conn (vici-conn.ts): a trap (`start_action = trap`) for protect, a
 * conn charon accepts the peer's IKE with for responder, a pass/drop shunt for pass/block.
 *
 * - Keys: this host's private key goes in with `load-key`; the peer's key from DNS rides in the
 *   conn's `pubkeys`, which puts it into charon's global credential set, where it stays after
 *   `unload-conn`. Removing a conn with a key therefore ends with `clear-creds` (which drops
 *   every credential loaded over VICI, the remaining conns' keys included, as checked against
 *   charon 5.9.8), then the private key and the remaining keyed conns are loaded again.
 * - initiate: with `initiate: on-answer`, apply() initiates the CHILD_SA after load-conn and
 *   returns once it is up or failed (bounded by initiateTimeoutMs and the signal). A failed
 *   initiate is reported through onIkeResult, not thrown: the trap is in place and charon
 *   negotiates again on the next packet; the caller decides what a failure means.
 * - Reconnect: when charon restarts, the key and every conn are loaded again.
 * - onIkeResult gets `ok: true` when an IKE_SA of an oedns conn comes up (either side) and when an
 *   initiate brought the CHILD_SA up, `ok: false` when an initiate failed (with the stage and
 *   charon's reason).
 * - Unknown peers (with `learnPeer`): a standing `%any` responder conn lets any peer reach
 *   IKE_AUTH; when charon has no key for the identity it presents, the PeerLearner looks the name
 *   up (vici-peer-learner.ts) and the peer's next attempt succeeds. The other half: when the peer
 *   refuses this host's authentication (AUTHENTICATION_FAILED, it may be learning this host's
 *   key), an initiate is retried after RETRY_DELAYS_MS; a trap-triggered negotiation refused
 *   that way (seen in the `log` stream: 5.9 has no event for it) is initiated again once, and its
 *   final failure reported like an initiate's.
 * - charon's trap policies are always `level required`; a `use` spec is installed like `require`.
 */
import { createPublicKey } from 'node:crypto';
import { BackendError, ConfigError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { BackendName, InstalledPolicy, IpsecBackend, PolicyChange, PolicySpec } from '../backend.js';
import { ViciClient } from './vici-client.js';
import type { ViciTree } from './vici-codec.js';
import {
  viciClearCreds, viciListCerts, viciListConns, viciLoadConn, viciLoadKey, viciTerminate, viciUnloadConn,
  type ViciConnConfig, type ViciKeyType,
} from './vici-commands.js';
import { localKey } from './vici-local-key.js';
import { checkedFqdn, connConfig, connName, CONN_PREFIX, specFromListed, type LocalIdentity } from './vici-conn.js';
import { ViciCommandError } from './vici-errors.js';
import { updownEntries } from './vici-outcome.js';
import { DEFAULT_INITIATE_TIMEOUT_MS, elapsed, initiateWithRetries, RETRY_DELAYS_MS } from './vici-initiate.js';
import { TrapTakeover } from './vici-trap-takeover.js';
import { viciLogFact, viciLogLine } from './vici-log.js';
import { PeerLearner, type LearnPeer } from './vici-peer-learner.js';
import { responderConnConfig, RESPONDER_CONN } from './vici-responder.js';

export interface IkeResult {
  /** The address the policy is for (spec.remote). */
  readonly address: string;
  readonly ok: boolean;
  readonly reason: string;
  readonly spec?: PolicySpec | undefined;
}

export interface ViciBackendOptions {
  /** charon's socket (`--vici-socket`, default /var/run/charon.vici). */
  readonly socketPath: string;
  /** This host's FQDN, its IKE identity (type FQDN). */
  readonly identity: string;
  /** This host's private key, PKCS#8 PEM (RSA, ECDSA or Ed25519). */
  readonly privateKeyPem: string;
  readonly log: Logger;
  readonly onIkeResult?: ((result: IkeResult) => void) | undefined;
  readonly initiateTimeoutMs?: number | undefined;
  readonly reconnectInitialDelayMs?: number | undefined;
  /** Looks up an unknown IKE peer's name through oedns (main.ts); without it, only peers this host looked up are accepted. */
  readonly learnPeer?: LearnPeer | undefined;
  /** Pauses before trying a refused initiate again (default RETRY_DELAYS_MS). */
  readonly retryDelaysMs?: readonly number[] | undefined;
}


/** Deadline for reloading after charon restarts (no caller's signal there). */
const RELOAD_TIMEOUT_MS = 30_000;

interface Loaded {
  readonly spec: PolicySpec;
  readonly config: ViciConnConfig;
}

export class ViciBackend implements IpsecBackend {
  readonly name: BackendName = 'vici';
  private readonly client: ViciClient;
  private readonly local: LocalIdentity;
  private readonly key: { readonly type: ViciKeyType; readonly pkcs8Pem: string };
  private readonly conns = new Map<string, Loaded>();
  private readonly log: Logger;
  private readonly initiateTimeoutMs: number;
  private queue: Promise<unknown> = Promise.resolve();
  private started = false;
  private readonly learner: PeerLearner | undefined;
  /** Conns with an initiate running: their refusals are handled there, not from the log. */
  private readonly initiating = new Set<string>();
  private readonly takeover: TrapTakeover;
  private readonly closing = new AbortController();

  constructor(private readonly options: ViciBackendOptions) {
    let id: string;
    try {
      id = checkedFqdn(options.identity, 'IKE identity');
    } catch (error) {
      throw new ConfigError(errorMessage(error), { cause: error });
    }
    const key = localKey(options.privateKeyPem);
    this.local = { id, publicKeyPem: key.publicKeyPem };
    this.key = { type: key.type, pkcs8Pem: key.pkcs8Pem };
    this.log = options.log;
    this.initiateTimeoutMs = options.initiateTimeoutMs ?? DEFAULT_INITIATE_TIMEOUT_MS;
    this.takeover = new TrapTakeover({
      loaded: (conn) => this.conns.get(conn), initiating: (conn) => this.initiating.has(conn),
      initiate: (conn, spec) => this.serialised(() => this.initiate(conn, spec, this.closing.signal)),
      delayMs: (options.retryDelaysMs ?? RETRY_DELAYS_MS)[0] ?? 0, signal: this.closing.signal, log: options.log,
    });
    this.learner = options.learnPeer && new PeerLearner({ learn: options.learnPeer, log: options.log, responderConn: RESPONDER_CONN });
    this.client = new ViciClient({
      socketPath: options.socketPath, log: options.log, reconnectInitialDelayMs: options.reconnectInitialDelayMs,
      onConnectionChange: (state) => this.connectionChanged(state),
    });
  }

  /** Connects, loads the private key (and the responder conn), subscribes to ike-updown, child-updown and log. */
  async start(signal: AbortSignal): Promise<void> {
    await this.command('connect', () => this.client.connect(signal));
    await this.loadOwn(signal);
    for (const event of ['ike-updown', 'child-updown']) {
      await this.command(`register ${event}`, () => this.client.subscribe(event, (m, name) => this.updown(m, name), signal));
    }
    await this.command('register log', () => this.client.subscribe('log', (m) => this.charonLog(m), signal));
    this.started = true;
    this.log.info({ socket: this.options.socketPath, identity: this.local.id, learnsPeers: this.learner !== undefined }, 'vici backend started');
  }

  /** Closes the socket; leaves charon's state alone (PolicyManager.stop removes first). */
  close(): void {
    this.started = false;
    this.closing.abort(new Error('vici backend closed'));
    this.learner?.close();
    this.client.close();
  }

  /** This host's private key, and the standing responder conn when peers are learnt. */
  private async loadOwn(signal: AbortSignal, responder = this.learner !== undefined): Promise<void> {
    await this.command('load-key', () => viciLoadKey(this.client, { type: this.key.type, data: this.key.pkcs8Pem }, signal));
    if (responder) await this.command(`load-conn ${RESPONDER_CONN}`, () => viciLoadConn(this.client, responderConnConfig(this.local), signal));
  }

  apply(changes: readonly PolicyChange[], signal: AbortSignal): Promise<void> {
    return this.serialised(() => this.applyNow(changes, signal));
  }

  list(signal: AbortSignal): Promise<readonly InstalledPolicy[]> {
    return this.serialised(async () => {
      const listed = await this.command('list-conns', () => viciListConns(this.client, {}, signal));
      const certs = await this.command('list-certs', () => viciListCerts(this.client, { type: 'PUBKEY' }, signal));
      const keys = new Map<string, string>();
      for (const cert of certs) {
        if (cert.subject === undefined) continue;
        try {
          keys.set(cert.subject, createPublicKey({ key: Buffer.from(cert.data), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }).toString());
        } catch {
          // Not an SPKI key (a certificate by the same subject); the key stays unknown.
        }
      }
      const out: InstalledPolicy[] = [];
      for (const conn of listed) {
        const known = this.conns.get(conn.name);
        if (known) out.push({ ...known.spec, backend: 'vici', handle: conn.name });
        else {
          const spec = specFromListed(conn, (id) => keys.get(id));
          if (spec) out.push(spec);
        }
      }
      return out;
    });
  }

  removeAll(signal: AbortSignal): Promise<void> {
    return this.serialised(async () => {
      const listed = await this.command('list-conns', () => viciListConns(this.client, {}, signal));
      const ours = new Set([...this.conns.keys(), ...listed.map((c) => c.name).filter((n) => n.startsWith(CONN_PREFIX))]);
      const listedNames = new Set(listed.map((c) => c.name));
      for (const name of ours) {
        if (listedNames.has(name)) await this.unload(name, signal);
        this.conns.delete(name);
      }
      // The standing responder conn went with the others and stays away.
      await this.refreshCredentials(signal, false);
      this.log.info({ removed: ours.size }, 'vici conns removed');
    });
  }

  private async applyNow(changes: readonly PolicyChange[], signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    // Every spec is checked and turned into its conn before anything goes to charon.
    const plan = changes.map((change) => ({
      change, name: connName(change.policy), config: change.op === 'add' ? connConfig(change.policy, this.local) : undefined,
    }));
    let credsStale = false;
    let failure: unknown;
    try {
      for (const { change, name, config } of plan) {
        if (change.policy.peer) credsStale ||= change.op === 'remove';
        if (!config) {
          await this.unload(name, signal);
          this.conns.delete(name);
          continue;
        }
        // Replacing a conn whose key changed leaves the old key trusted until clear-creds.
        const previousKey = this.conns.get(name)?.spec.peer?.publicKeyPem;
        if (previousKey !== undefined && previousKey !== change.policy.peer?.publicKeyPem) credsStale = true;
        const startedMs = performance.now();
        try {
          await this.command(`load-conn ${name}`, () => viciLoadConn(this.client, config, signal));
        } catch (error) {
          // A refused conn may have left its key in the credential set.
          if (change.policy.peer) credsStale = true;
          throw error;
        }
        this.conns.set(name, { spec: change.policy, config });
        this.log.info({ conn: name, remote: change.policy.remote, action: change.policy.action.kind, ms: elapsed(startedMs) }, 'vici conn loaded');
        if (change.policy.initiate && change.policy.action.kind === 'protect') {
          // A peer that is initiating with this host right now (its key is being learnt) needs no second IKE_SA.
          if (this.learner?.isLearning(change.policy.peer?.identity ?? '')) this.log.info({ conn: name }, 'vici: not initiating, the peer is initiating');
          else await this.initiate(name, change.policy, signal);
        }
      }
    } catch (error) {
      failure = error;
    }
    if (credsStale) {
      try {
        await this.refreshCredentials(signal);
      } catch (error) {
        if (failure === undefined) throw error;
        this.log.error({ err: errorMessage(error) }, 'vici: reloading credentials after a failed change failed too');
      }
    }
    if (failure !== undefined) throw failure;
  }

  /** unload-conn (a conn already gone is fine), then terminate its IKE_SAs: unload-conn leaves SAs a trap brought up. */
  private async unload(name: string, signal: AbortSignal): Promise<void> {
    try {
      await viciUnloadConn(this.client, name, signal);
    } catch (error) {
      const stillThere = error instanceof ViciCommandError && (await this.command('list-conns', () => viciListConns(this.client, { ike: name }, signal))).length > 0;
      if (stillThere || !(error instanceof ViciCommandError)) throw this.backendError(`unload-conn ${name}`, error);
    }
    try {
      await viciTerminate(this.client, { ike: name, force: true, timeoutMs: 0 }, signal);
    } catch (error) {
      // "no matching SAs to terminate found" is the usual answer.
      if (!(error instanceof ViciCommandError)) throw this.backendError(`terminate ${name}`, error);
    }
    this.log.info({ conn: name }, 'vici conn unloaded');
  }

  /** clear-creds drops every key loaded over VICI; the private key and the keys of the conns still wanted go back in. */
  private async refreshCredentials(signal: AbortSignal, responder?: boolean): Promise<void> {
    await this.command('clear-creds', () => viciClearCreds(this.client, signal));
    await this.loadOwn(signal, responder);
    for (const [name, loaded] of this.conns) {
      if (loaded.config.remote?.pubkeysPem) await this.command(`load-conn ${name}`, () => viciLoadConn(this.client, loaded.config, signal));
    }
  }

  /** Initiates (retrying a refused authentication, vici-initiate.ts) and reports the outcome. */
  private async initiate(name: string, spec: PolicySpec, signal: AbortSignal): Promise<void> {
    this.initiating.add(name);
    try {
      const result = await initiateWithRetries(this.client, name, spec, {
        timeoutMs: this.initiateTimeoutMs, retryDelaysMs: this.options.retryDelaysMs ?? RETRY_DELAYS_MS, log: this.log,
      }, AbortSignal.any([signal, this.closing.signal]));
      this.report(result);
    } finally {
      this.initiating.delete(name);
    }
  }

  /** One line of charon's log: unknown peers go to the learner, refused trap-triggered negotiations to the takeover. */
  private charonLog(message: ViciTree): void {
    const line = viciLogLine(message);
    const fact = line && viciLogFact(line);
    if (!fact) return;
    this.learner?.observe(fact);
    if (fact.kind === 'peer-refused-auth' && fact.ikeName !== undefined) this.takeover.refused(fact.ikeName);
  }

  private updown(message: ViciTree, event: string): void {
    for (const entry of updownEntries(message)) {
      const loaded = this.conns.get(entry.conn);
      const fields = { event, conn: entry.conn, up: entry.up, state: entry.state, peer: entry.remoteId, remote: entry.remoteHost, children: entry.children };
      if (!entry.conn.startsWith(CONN_PREFIX)) {
        this.log.debug(fields, 'vici event for a conn not oedns\'');
        continue;
      }
      this.log.info(fields, event === 'ike-updown' ? `IKE_SA ${entry.up ? 'up' : 'down'}` : `CHILD_SA ${entry.up ? 'up' : 'down'}`);
      if (event === 'ike-updown' && entry.up && loaded) this.report({ address: loaded.spec.remote, ok: true, reason: 'IKE_SA established', spec: loaded.spec });
    }
  }

  private report(result: IkeResult): void {
    try {
      this.options.onIkeResult?.(result);
    } catch (error) {
      this.log.error({ err: errorMessage(error) }, 'onIkeResult threw');
    }
  }

  private connectionChanged(state: 'connected' | 'disconnected'): void {
    if (state === 'disconnected') {
      if (this.started) this.log.warn({ socket: this.options.socketPath }, 'vici: charon went away');
      return;
    }
    if (!this.started) return;
    void this.serialised(() => this.reloadAll(AbortSignal.timeout(RELOAD_TIMEOUT_MS))).catch((error: unknown) => {
      this.log.error({ err: errorMessage(error) }, 'vici: reloading after charon restarted failed');
    });
  }

  /** charon restarted: everything loaded before is gone with it. */
  private async reloadAll(signal: AbortSignal): Promise<void> {
    await this.loadOwn(signal);
    let failed = 0;
    for (const [name, loaded] of this.conns) {
      try {
        await this.command(`load-conn ${name}`, () => viciLoadConn(this.client, loaded.config, signal));
      } catch (error) {
        failed += 1;
        this.log.error({ conn: name, err: errorMessage(error) }, 'vici: reloading a conn failed');
      }
    }
    this.log.info({ conns: this.conns.size, failed }, 'vici: key and conns loaded again after charon restarted');
  }

  /** Runs a VICI command; failures become BackendError naming the command and charon's errmsg. */
  private async command<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.backendError(what, error);
    }
  }

  private backendError(what: string, error: unknown): BackendError {
    if (error instanceof BackendError) return error;
    const detail = error instanceof ViciCommandError ? error.errmsg : errorMessage(error);
    return new BackendError(`vici: ${what} failed: ${detail}`, { cause: error });
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
