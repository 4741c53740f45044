/**
 * The two ways key records fail besides malformed RDATA (core's WireFormatError): zone-file text
 * that cannot be read, and key material that cannot become a key. Both name the record.
 */
import { AppError } from '../core/errors.js';

/** Presentation (zone-file) text of a record that cannot be read (RFC 1035 §5.1). */
export class PresentationError extends AppError {
  readonly code = 'ERR_PRESENTATION';
}

/**
 * Key material in a well-formed record that is not a usable key: an RSA modulus with a leading
 * zero, an ECDSA point off its curve, a certificate that is not DER. Such a key is never used.
 */
export class KeyFormatError extends AppError {
  readonly code = 'ERR_KEY_FORMAT';
}
