/**
 * The control socket's grammar: one request line, one JSON response line, then the server closes.
 *
 *   request  = command [CR] LF        ; or the end of input instead of LF
 *   command  = "status" / "ping"      ; lowercase ASCII, nothing else on the line
 *   response = JSON-object LF         ; {"ok":true,...} or {"ok":false,"error":{code,message}}
 *
 * The grammar is closed on purpose: the socket only reads oedns' state, and nothing a client sends
 * is ever echoed back, logged verbatim or passed on.
 */
import { AppError } from '../../core/errors.js';
import type { StatusReport } from './status-report.js';

/** The requests the server understands. */
export const ControlCommand = { Status: 'status', Ping: 'ping' } as const;
export type ControlCommand = (typeof ControlCommand)[keyof typeof ControlCommand];

/** Codes of error responses (the `error.code` of an `{"ok":false}` line). */
export const ControlErrorCode = {
  /** Not a line of the grammar: unknown command, bad bytes, too long, or too slow. */
  BadRequest: 'ERR_CONTROL_REQUEST',
  /** Too many connections at once; try again. */
  Busy: 'ERR_CONTROL_BUSY',
  /** The status could not be built (a bug, logged by the server). */
  Internal: 'ERR_CONTROL_INTERNAL',
} as const;
export type ControlErrorCode = (typeof ControlErrorCode)[keyof typeof ControlErrorCode];

/** Longest request line, CR LF included: the longest command is 6 bytes, anything near this is not ours. */
export const MAX_REQUEST_BYTES = 256;
/** Time a client has to send its line after connecting. */
export const REQUEST_TIMEOUT_MS = 2_000;
/** Time a connection may live at all (request, building the status, writing it); then it is destroyed. */
export const CONNECTION_TIMEOUT_MS = 10_000;
/** Connections served at once; more get a busy error. */
export const MAX_CONNECTIONS = 16;
/** Longest response a client accepts (a status with tens of thousands of policies fits). */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export type ControlResponse =
  | { readonly ok: true; readonly status: StatusReport }
  | { readonly ok: true; readonly pong: true; readonly pid: number }
  | { readonly ok: false; readonly error: { readonly code: ControlErrorCode; readonly message: string } };

export type ParsedRequest =
  | { readonly kind: 'command'; readonly command: ControlCommand }
  | { readonly kind: 'invalid'; readonly message: string };

const COMMANDS: ReadonlySet<string> = new Set(Object.values(ControlCommand));

/** Parses one request line (its LF already removed; a trailing CR is allowed). */
export function parseControlRequest(line: Uint8Array): ParsedRequest {
  const bytes = line.at(-1) === 0x0d ? line.subarray(0, -1) : line;
  if (bytes.length === 0) return { kind: 'invalid', message: 'empty request; expected one of: status, ping' };
  // Printable ASCII only; the command is then compared whole, so no prefix or suffix slips through.
  if (bytes.some((b) => b < 0x21 || b > 0x7e)) return { kind: 'invalid', message: 'request is not one printable ASCII word; expected one of: status, ping' };
  const text = new TextDecoder('ascii').decode(bytes);
  if (!COMMANDS.has(text)) return { kind: 'invalid', message: 'unknown request; expected one of: status, ping' };
  return { kind: 'command', command: text as ControlCommand };
}

/** One response line, LF-terminated. JSON escapes every control character, so a name from DNS cannot break the line. */
export function encodeControlResponse(response: ControlResponse): string {
  return `${JSON.stringify(response)}\n`;
}

export function errorResponse(code: ControlErrorCode, message: string): ControlResponse {
  return { ok: false, error: { code, message } };
}

/** The control socket could not be opened, reached, or gave an answer that is not ours. */
export class ControlSocketError extends AppError {
  readonly code = 'ERR_CONTROL_SOCKET';
}

/** oedns answered with an error line; `responseCode` is its `error.code`. */
export class ControlResponseError extends AppError {
  readonly code = 'ERR_CONTROL_RESPONSE';
  constructor(readonly responseCode: string, message: string) {
    super(message);
  }
}
