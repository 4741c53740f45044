/** The setkey and racoon backends (issue 6): SPD entries through `setkey -c`, racoon peers through files and racoonctl. */
export { DEFAULT_SETKEY_PATH, SetkeyBackend, setkeyScripts, type SetkeyBackendOptions } from './setkey-backend.js';
export { DEFAULT_RACOONCTL_PATH, RacoonBackend, type RacoonBackendOptions } from './racoon-backend.js';
export { peerFiles, type PeerFiles, type RacoonSettings } from './racoon-files.js';
export { plainRsaPublicKeyFile } from './plain-rsa.js';
