export { createTlsEngine } from './engine.js';
export type { LookupOptions, NameAnswer, NameLookup, NameStatus } from './names.js';
export { ReplyCode } from './reply-codes.js';
export {
  FLAG_WORDS, NO_FLAGS, TlsError,
  type AuthMethod, type ConnectTarget, type TlsEngine, type TlsEngineDeps, type TlsFlags, type TlsSession, type UserKeyCheck, type UserKeyResult,
} from './session.js';
