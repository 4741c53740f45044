/** Errors of the VICI client: bytes on the wire, charon's answers, and the socket itself. */
import { AppError } from '../../core/errors.js';

/** Bytes from (or for) charon's socket that are not well-formed VICI. */
export class ViciProtocolError extends AppError {
  readonly code = 'ERR_VICI_PROTOCOL';
}

/** charon answered a command with `success = no`, CMD_UNKNOWN or EVENT_UNKNOWN. */
export class ViciCommandError extends AppError {
  readonly code = 'ERR_VICI_COMMAND';
  constructor(
    readonly command: string,
    readonly errmsg: string,
    options?: ErrorOptions,
  ) {
    super(`vici ${command} failed: ${errmsg}`, options);
  }
}

/** charon's socket is unreachable, went away while a command was in flight, or the client was closed. */
export class ViciConnectionError extends AppError {
  readonly code = 'ERR_VICI_CONNECTION';
}
