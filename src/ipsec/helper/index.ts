/** The privileged helper (issue 6): `oedns ipsec-helper` applies policies for an unprivileged resolver over a UNIX socket. */
export { HelperBackend, HelperReplyError, type HelperBackendOptions } from './helper-backend.js';
export { HELPER_SOCKET_MODE, HelperServer, type HelperServerOptions } from './helper-server.js';
export { HELPER_DAEMON_BACKENDS, ipsecHelperCommand, startIpsecHelper, type HelperBackendChoice, type IpsecHelperOptions } from './helper-command.js';
export {
  decodeChange, decodeInstalled, decodeReply, decodeRequest, encodeChange, encodeErr, encodeInstalled, encodeOk, encodeRequest,
  HELPER_BACKEND_NAMES, HELPER_PROTOCOL_VERSION, MAX_CHANGES_PER_BATCH, MAX_LINE_BYTES, type HelperBackendName, type HelperReply, type HelperRequest,
} from './grammar.js';
export { HelperGrammarError } from './policy-fields.js';
