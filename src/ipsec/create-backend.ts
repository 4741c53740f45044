/**
 * The backend `--ipsec-backend` names, built from the IPsec settings. Backends that hold a
 * connection (charon's VICI socket, the privileged helper's socket) get `start` before the first
 * answer and `close` after the last removal; the others have nothing to open.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { IpsecBackend } from './backend.js';
import { DryRunBackend } from './dry-run.js';
import { HelperBackend } from './helper/index.js';
import { RacoonBackend, SetkeyBackend } from './setkey/index.js';
import { ViciBackend, type IkeResult } from './vici/vici-backend.js';
import type { LearnPeer } from './vici/vici-peer-learner.js';
import { XfrmBackend } from './xfrm/xfrm-backend.js';

export interface BackendSettings {
  readonly backend: 'dry-run' | 'xfrm' | 'setkey' | 'racoon' | 'vici' | 'helper';
  readonly netns?: string | undefined;
  readonly setkeyPath?: string | undefined;
  readonly racoonctlPath?: string | undefined;
  readonly racoonPeerDir: string;
  readonly viciSocket: string;
  readonly ikeIdentity?: string | undefined;
  /** This host's private key file: plainrsa-gen format (racoon), PKCS#8 PEM (vici). */
  readonly ikeKeyPath?: string | undefined;
  readonly helperSocket?: string | undefined;
}


export interface BackendHandle {
  readonly backend: IpsecBackend;
  /** Opens what the backend needs (sockets, keys); throws naming what failed. */
  start(signal: AbortSignal): Promise<void>;
  close(): void;
}

function required(value: string | undefined, flag: string, backend: string): string {
  if (value === undefined || value === '') throw new ConfigError(`--ipsec-backend ${backend} needs --${flag}`);
  return value;
}

/** What the IKE backends report to, and ask of, the rest of oedns. */
export interface BackendHooks {
  readonly onIkeResult: (result: IkeResult) => void;
  /** Looks up an IKE peer that initiated with this host unannounced (vici). */
  readonly learnPeer?: LearnPeer | undefined;
}

export function createBackend(settings: BackendSettings, log: Logger, hooks: BackendHooks): BackendHandle {
  const { onIkeResult, learnPeer } = hooks;
  const passive = (backend: IpsecBackend): BackendHandle => ({ backend, start: async () => undefined, close: () => undefined });
  switch (settings.backend) {
    case 'dry-run':
      return passive(new DryRunBackend({ name: 'dry-run' }));
    case 'xfrm':
      return passive(new XfrmBackend({ netns: settings.netns }));
    case 'setkey':
      return passive(new SetkeyBackend({ setkeyPath: settings.setkeyPath, log }));
    case 'racoon':
      return passive(new RacoonBackend({
        setkeyPath: settings.setkeyPath,
        racoonctlPath: settings.racoonctlPath,
        peerDir: settings.racoonPeerDir,
        localIdentity: required(settings.ikeIdentity, 'ike-identity', 'racoon'),
        privateKeyPath: required(settings.ikeKeyPath, 'ike-key', 'racoon'),
        log,
      }));
    case 'helper': {
      const helper = new HelperBackend({ socketPath: required(settings.helperSocket, 'ipsec-helper-socket', 'helper'), log });
      // Connecting at start makes a helper that is not there fail the start, not the first answer.
      return { backend: helper, start: (signal) => helper.connect(signal), close: () => void helper.close() };
    }
    case 'vici': {
      const identity = required(settings.ikeIdentity, 'ike-identity', 'vici');
      const keyPath = required(settings.ikeKeyPath, 'ike-key', 'vici');
      let privateKeyPem: string;
      try {
        privateKeyPem = readFileSync(keyPath, 'utf8');
      } catch (error) {
        throw new ConfigError(`cannot read --ike-key ${keyPath}: ${errorMessage(error)}`, { cause: error });
      }
      const vici = new ViciBackend({ socketPath: settings.viciSocket, identity, privateKeyPem, log, onIkeResult, learnPeer });
      return { backend: vici, start: (signal) => vici.start(signal), close: () => vici.close() };
    }
  }
}
