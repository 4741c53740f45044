import type { Logger } from '../core/log.js';
import type { ConnectTarget, NameLookup, TlsFlags, TlsSession, UserKeyCheck } from '../tls/index.js';

export interface UserKeyDeps {
  readonly lookup: NameLookup;
  /** A DANE-checked TLS connection to the key server (the engine's connect). */
  readonly connect: (target: ConnectTarget, flags: TlsFlags, signal: AbortSignal) => Promise<TlsSession>;
  readonly log: Logger;
}

/** Placeholder until the key server lookup lands. */
export function createUserKeyCheck(_deps: UserKeyDeps): UserKeyCheck {
  return async () => ({ ok: false, reply: 'LDAP_FAILED', reason: 'key server lookup not implemented yet' });
}
