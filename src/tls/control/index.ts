/** The start-tls/recv-tls control-socket daemon (seed 000 §4.1): `oedns tls-daemon`. */
export {
  COMMAND_TIMEOUT_MS, DEFAULT_SOCKET_MODE, DEFAULT_TLS_SOCKET, MAX_CONNECTIONS, OPERATION_TIMEOUT_MS, TlsDaemon, type TlsDaemonOptions,
} from './daemon.js';
export { startTlsDaemon, tlsDaemonCommand } from './daemon-command.js';
export { MAX_UNCLAIMED_PEERS, MAX_WAITING_PER_LISTENER, parseListenerSpec, type ListenerSpec } from './peer-listener.js';
export {
  encodeErr, encodeSessionOk, flagWords, MAX_LINE_BYTES, MAX_MESSAGE_CHARS, parseFlags, parseName, parsePort, parseRequest, ProtocolError, replyWord,
  sessionAttributes, type ControlRequest,
} from './protocol.js';
export { parseSocketMode, resolveGroup } from '../../core/unix-socket.js';
export { TOKEN_TTL_MS } from './tokens.js';
export { dialPlain } from './dial.js';
