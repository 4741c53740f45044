/** The control socket and `oedns status` (issue 6). */
export {
  CONNECTION_TIMEOUT_MS, ControlCommand, ControlErrorCode, ControlResponseError, ControlSocketError, MAX_CONNECTIONS, MAX_REQUEST_BYTES,
  MAX_RESPONSE_BYTES, parseControlRequest, REQUEST_TIMEOUT_MS, type ControlResponse,
} from './control-protocol.js';
export { CONTROL_SOCKET_MODE, ControlServer, DEFAULT_CONTROL_SOCKET, type ControlServerOptions, type ControlServerStats } from './control-server.js';
export { CLIENT_TIMEOUT_MS, controlRequest, fetchStatus, pingControl, type ControlRequestOptions } from './control-client.js';
export { STATUS_FORMAT, statusReport, type StatusAction, type StatusInput, type StatusPolicy, type StatusReport } from './status-report.js';
export { parseStatusReport } from './status-parse.js';
export { formatStatus } from './status-format.js';
export { runStatus, statusCommand, type StatusCommandOptions } from './status-command.js';
