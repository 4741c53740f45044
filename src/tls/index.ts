export { createTlsEngine } from './engine.js';
export type { LookupOptions, NameAnswer, NameLookup, NameStatus } from './names.js';
export { ReplyCode } from './reply-codes.js';
export {
  FLAG_WORDS, NO_FLAGS, TlsError,
  type AuthMethod, type ConnectTarget, type TlsEngine, type TlsEngineDeps, type TlsFlags, type TlsSession, type UserKeyCheck, type UserKeyResult,
} from './session.js';
export { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_HANDSHAKE_TIMEOUT_MS, type TlsEngineOptions } from './engine.js';
export { tlsFlagsFromArgv, withTlsFlagOptions } from './flag-options.js';
export { parseHostPort, type HostPort } from './endpoint.js';
export { startTunnelClient, type TunnelClientOptions } from './tunnel-client.js';
export { startTunnelServer, type TunnelServerOptions } from './tunnel-server.js';
export type { Tunnel } from './tunnel-listener.js';
