/**
 * The standing responder conn (with peer learning): any peer may reach IKE_AUTH, and is
 * authenticated by whatever key charon holds for the identity it presents — only keys oedns
 * loaded from DNSSEC-secure records. Its CHILD_SA is transport mode between the two IKE
 * addresses (`dynamic` on both sides), so a peer can never ask for more than its own address.
 */
import type { ViciConnConfig } from './vici-commands.js';
import { CONN_PREFIX, type LocalIdentity } from './vici-conn.js';

/** Not of the `oedns-<local>-<remote>-…` form, so list() never takes it for a policy; removeAll() unloads it with the rest. */
export const RESPONDER_CONN = `${CONN_PREFIX}responder`;

export function responderConnConfig(local: LocalIdentity): ViciConnConfig {
  return {
    name: RESPONDER_CONN, version: 2, localAddrs: [], remoteAddrs: [],
    local: { id: local.id, pubkeysPem: [local.publicKeyPem] },
    remote: { id: '%any' },
    children: { responder: { mode: 'transport', startAction: 'none', localTs: ['dynamic'], remoteTs: ['dynamic'] } },
  };
}
