/** IPsec backends (issue 6): decisions become kernel or IKE daemon state. */
export type {
  BackendName, CanonicalAddress, InstalledPolicy, IpsecBackend, Peer, PolicyAction, PolicyChange, PolicySpec, TrafficSelector,
} from './backend.js';
export { DryRunBackend } from './dry-run.js';
export { PolicyManager, type ManagedPolicy } from './policy-manager.js';
export { policyKey } from './policy-key.js';
export { DEFAULT_RACOONCTL_PATH, DEFAULT_SETKEY_PATH, RacoonBackend, SetkeyBackend, setkeyScripts, type RacoonBackendOptions, type SetkeyBackendOptions } from './setkey/index.js';
export { XfrmBackend, type XfrmBackendOptions } from './xfrm/xfrm-backend.js';
export { ViciClient, type ViciClientOptions, type ViciEventListener } from './vici/vici-client.js';
export {
  viciClearCreds, viciConnTree, viciInitiate, viciListConns, viciListSas, viciLoadConn, viciLoadKey, viciTerminate, viciText, viciTextList,
  viciUnloadConn, viciVersion,
} from './vici/vici-commands.js';
export type {
  ViciChildConfig, ViciConnConfig, ViciControlLog, ViciInitiateRequest, ViciKeyType, ViciNamed, ViciPubkeyAuth, ViciTerminateRequest, ViciVersion,
} from './vici/vici-commands.js';
export { viciEventStream, type ViciEvent } from './vici/vici-events.js';
export { ViciCommandError, ViciConnectionError, ViciProtocolError } from './vici/vici-errors.js';
export type { ViciNode, ViciTree, ViciValue } from './vici/vici-codec.js';
