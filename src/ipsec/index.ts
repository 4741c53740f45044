/** IPsec backends (issue 6): decisions become kernel or IKE daemon state. */
export type {
  BackendName, CanonicalAddress, InstalledPolicy, IpsecBackend, Peer, PolicyAction, PolicyChange, PolicySpec, TrafficSelector,
} from './backend.js';
export { DryRunBackend } from './dry-run.js';
export { PolicyManager, type ManagedPolicy } from './policy-manager.js';
export { policyKey } from './policy-key.js';
export { DEFAULT_RACOONCTL_PATH, DEFAULT_SETKEY_PATH, RacoonBackend, SetkeyBackend, setkeyScripts, type RacoonBackendOptions, type SetkeyBackendOptions } from './setkey/index.js';
export { XfrmBackend, type XfrmBackendOptions } from './xfrm/xfrm-backend.js';
