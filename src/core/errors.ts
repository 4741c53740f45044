/**
 * Exceptions are for malformed input at a boundary, for the environment and for bugs; DNS
 * outcomes are values. Every error carries a stable `code` that logs and tests can rely on.
 */
export abstract class AppError extends Error {
  abstract readonly code: `ERR_${string}`;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bytes that are not a well-formed DNS message. `part` tells the pipeline which rcode fits. */
export class WireFormatError extends AppError {
  readonly code = 'ERR_WIRE_FORMAT';
}

/** A configuration file or flag that cannot be used. Fatal at startup; a reload keeps the old one. */
export class ConfigError extends AppError {
  readonly code = 'ERR_CONFIG';
}

/** A listening socket could not be opened (privilege, address in use, address not here). */
export class ListenError extends AppError {
  readonly code = 'ERR_LISTEN';
}

/** No upstream gave a usable answer in time. */
export class UpstreamError extends AppError {
  readonly code = 'ERR_UPSTREAM';
}

/** The configured upstreams would send queries back to oedns itself. */
export class ForwardingLoopError extends AppError {
  readonly code = 'ERR_FORWARDING_LOOP';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An IPsec backend could not apply or list policies: the command or request, and its error. */
export class BackendError extends AppError {
  readonly code = 'ERR_IPSEC_BACKEND';
}
