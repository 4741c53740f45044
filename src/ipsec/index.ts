/** IPsec backends (issue 6): decisions become kernel or IKE daemon state. */
export type {
  BackendName, CanonicalAddress, InstalledPolicy, IpsecBackend, Peer, PolicyAction, PolicyChange, PolicySpec, TrafficSelector,
} from './backend.js';
export { DryRunBackend, type DryRunOptions } from './dry-run.js';
export { failClosed, PolicyManager, type ManagedPolicy, type PolicyManagerOptions, type ReconcileCounts } from './policy-manager.js';
export { planReconcile, type ReconcilePlan } from './reconcile.js';
export {
  decodeState, JOURNAL_FILE_NAME, journalPath, readStateFile, STATE_FILE_NAME, StateFileError, statePath, type IpsecState, type JournalSummary,
  type StateEntry, type StateInFlight, type StateRead,
} from './state-file.js';
export { policyKey } from './policy-key.js';
export { createBackend, type BackendHandle, type BackendHooks, type BackendSettings } from './create-backend.js';
export type { IkePeer, LearnPeer } from './vici/vici-peer-learner.js';
export { DEFAULT_RACOONCTL_PATH, DEFAULT_SETKEY_PATH, RacoonBackend, SetkeyBackend, setkeyScripts, type RacoonBackendOptions, type SetkeyBackendOptions } from './setkey/index.js';
export { XfrmBackend, type XfrmBackendOptions } from './xfrm/xfrm-backend.js';
export { ViciClient, type ViciClientOptions, type ViciEventListener } from './vici/vici-client.js';
export { ViciBackend, type IkeResult, type ViciBackendOptions } from './vici/vici-backend.js';
export { DEFAULT_INITIATE_TIMEOUT_MS, RETRY_DELAYS_MS } from './vici/vici-initiate.js';
export {
  viciClearCreds, viciConnTree, viciInitiate, viciListCerts, viciListConns, viciListSas, viciLoadConn, viciLoadKey, viciTerminate, viciText, viciTextList,
  viciUnloadConn, viciVersion,
} from './vici/vici-commands.js';
export type {
  ViciCert, ViciChildConfig, ViciConnConfig, ViciControlLog, ViciInitiateRequest, ViciKeyType, ViciNamed, ViciPubkeyAuth, ViciTerminateRequest, ViciVersion,
} from './vici/vici-commands.js';
export { viciEventStream, type ViciEvent } from './vici/vici-events.js';
export { ViciCommandError, ViciConnectionError, ViciProtocolError } from './vici/vici-errors.js';
export type { ViciNode, ViciTree, ViciValue } from './vici/vici-codec.js';
export {
  HelperBackend, HelperGrammarError, HelperReplyError, HelperServer, ipsecHelperCommand, startIpsecHelper,
  type HelperBackendOptions, type HelperServerOptions, type IpsecHelperOptions,
} from './helper/index.js';
export {
  ControlServer, ControlSocketError, DEFAULT_CONTROL_SOCKET, fetchStatus, pingControl, statusCommand, statusReport,
  type ControlServerOptions, type StatusInput, type StatusPolicy, type StatusReport,
} from './control/index.js';
