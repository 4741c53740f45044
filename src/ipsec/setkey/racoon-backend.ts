/**
 * The racoon backend (issue 6, companion mode as in seed 004): the setkey backend's SPD entries,
 * plus per peer a racoon `remote` section and the peer's plain RSA public key (racoon-files.ts),
 * made known to racoon with `racoonctl [-s SOCKET] reload-config`. racoon then negotiates on the
 * kernel's ACQUIRE for the SPD entry, as racoon does for policies it did not install.
 *
 * Order per batch: write the peer files of every add, reload racoon once, then change the SPD in
 * order (so racoon knows the peer before the first ACQUIRE), then delete peer files nobody uses
 * any more and reload again. A `responder` spec gets a peer file with `passive on` and
 * `generate_policy on` and no SPD entry: racoon makes the policy when the peer initiates.
 * When a change fails, the changes before it stay applied, its own SPD entries are rolled back
 * (setkey-backend.ts), files written for it or for later changes are removed, and the error is
 * thrown.
 *
 * Not run against a live racoon: racoon is not packaged for Debian 12 and this kernel has no
 * PF_KEY. Files are checked against golden files; setkey and racoonctl against stand-ins.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { BackendError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { BackendName, InstalledPolicy, IpsecBackend, PolicyChange, PolicySpec } from '../backend.js';
import { policyKey } from '../policy-key.js';
import { peerFiles, type PeerFiles, type RacoonSettings } from './racoon-files.js';
import { runTool } from './run.js';
import { SetkeyBackend } from './setkey-backend.js';
import { safePath } from './text.js';

export interface RacoonBackendOptions extends RacoonSettings {
  /** The setkey executable (`--setkey-path`, default `setkey`). */
  readonly setkeyPath?: string | undefined;
  /** The racoonctl executable (`--racoonctl-path`, default `racoonctl`). */
  readonly racoonctlPath?: string | undefined;
  /** racoon's admin socket (`racoonctl -s`), when not the compiled-in default. */
  readonly racoonctlSocket?: string | undefined;
  readonly log?: Logger | undefined;
}

export const DEFAULT_RACOONCTL_PATH = 'racoonctl';

export class RacoonBackend implements IpsecBackend {
  readonly name: BackendName = 'racoon';
  private readonly spd: SetkeyBackend;
  private readonly installed = new Map<string, InstalledPolicy>();
  /** Peer file stem → keys of installed specs that use it. */
  private readonly peerUsers = new Map<string, Set<string>>();
  /** Peer file stem → its files, for every stem written and not yet removed. */
  private readonly written = new Map<string, PeerFiles>();

  constructor(private readonly options: RacoonBackendOptions) {
    this.spd = new SetkeyBackend({ setkeyPath: options.setkeyPath, log: options.log }, 'racoon');
    safePath(options.peerDir);
    if (options.racoonctlSocket !== undefined) safePath(options.racoonctlSocket);
  }

  async apply(changes: readonly PolicyChange[], signal: AbortSignal): Promise<void> {
    // Validate and render everything first: a refused identity or path fails before any effect.
    const files = new Map(changes.map((c) => [c, c.op === 'add' ? peerFiles(c.policy, this.options) : undefined]));
    try {
      const adds = [...files.values()].filter((f): f is PeerFiles => f !== undefined);
      for (const f of adds) await this.writePeer(f);
      if (adds.length > 0) await this.reload(signal);
      for (const change of changes) {
        signal.throwIfAborted();
        if (change.op === 'add') await this.install(change.policy, files.get(change), signal);
        else await this.remove(change.policy, signal);
      }
    } finally {
      await this.dropUnusedPeers();
    }
  }

  async list(signal: AbortSignal): Promise<readonly InstalledPolicy[]> {
    signal.throwIfAborted();
    return [...this.installed.values()];
  }

  async removeAll(signal: AbortSignal): Promise<void> {
    await this.apply([...this.installed.values()].map((policy) => ({ op: 'remove' as const, policy })), signal);
  }

  private async install(policy: PolicySpec, peer: PeerFiles | undefined, signal: AbortSignal): Promise<void> {
    const key = policyKey(policy);
    if (policy.action.kind !== 'responder') await this.spd.apply([{ op: 'add', policy }], signal);
    this.installed.set(key, { ...policy, backend: this.name, handle: peer ? `oedns_${peer.stem}` : key });
    if (peer) {
      const users = this.peerUsers.get(peer.stem) ?? new Set<string>();
      users.add(key);
      this.peerUsers.set(peer.stem, users);
    }
  }

  private async remove(policy: PolicySpec, signal: AbortSignal): Promise<void> {
    const key = policyKey(policy);
    if (policy.action.kind !== 'responder') await this.spd.apply([{ op: 'remove', policy }], signal);
    this.installed.delete(key);
    for (const users of this.peerUsers.values()) users.delete(key);
  }

  /** Writes a file next to its final name, then renames it, so racoon never reads half a file. */
  private async writePeer(peer: PeerFiles): Promise<void> {
    await mkdir(this.options.peerDir, { recursive: true });
    for (const [path, text] of [[peer.keyPath, peer.keyText], [peer.confPath, peer.confText]] as const) {
      await writeFile(`${path}.tmp`, text, { mode: 0o644 });
      await rename(`${path}.tmp`, path);
    }
    this.written.set(peer.stem, peer);
  }

  /** Removes the files of peers no installed spec uses, and reloads racoon if any went. */
  private async dropUnusedPeers(): Promise<void> {
    const unused = [...this.written.values()].filter((p) => (this.peerUsers.get(p.stem)?.size ?? 0) === 0);
    for (const peer of unused) {
      await rm(peer.confPath, { force: true });
      await rm(peer.keyPath, { force: true });
      this.written.delete(peer.stem);
      this.peerUsers.delete(peer.stem);
    }
    if (unused.length > 0) {
      // A fresh signal: this cleanup must run even when the batch was aborted.
      await this.reload(AbortSignal.timeout(10_000)).catch((error: unknown) => {
        this.options.log?.error({ backend: this.name, err: errorMessage(error) }, 'racoon reload after removing peers failed');
      });
    }
  }

  private async reload(signal: AbortSignal): Promise<void> {
    const socket = this.options.racoonctlSocket;
    const args = [...(socket !== undefined ? ['-s', socket] : []), 'reload-config'];
    const result = await runTool(this.options.racoonctlPath ?? DEFAULT_RACOONCTL_PATH, args, undefined, signal);
    // racoonctl reports through its exit status; what it prints on success is not specified.
    if (result.startError === undefined && result.exitCode === 0) return;
    const reason = result.startError ?? `exit code ${result.exitCode}`;
    throw new BackendError(`racoonctl ${args.join(' ')} failed (${reason})${result.stderr.trim() ? `: stderr: ${result.stderr.trim()}` : ''}`);
  }
}
