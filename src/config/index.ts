export * from './config.js';
export { parseEndpoint, formatEndpoint, type Endpoint } from './endpoint.js';
export { parseResolvConf } from './resolv-conf.js';
export { assertNoLoop, reachesListener, selfReferences } from './loop.js';
export { localAddresses } from './local-addresses.js';
