import type { TlsEngine, TlsEngineDeps } from './session.js';

/** Placeholder until the engine lands. */
export function createTlsEngine(_deps: TlsEngineDeps): TlsEngine {
  throw new Error('createTlsEngine: not implemented yet');
}
