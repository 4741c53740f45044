/**
 * The one error type of the client library. `code` is the daemon's reply code (TLSA_MISMATCH,
 * DNSSEC_BOGUS, ... see the daemon's reply-codes) or one of the client's own: NO_DAEMON (the
 * socket cannot be reached) and BAD_REPLY (the daemon closed or answered outside the grammar).
 * BUSY is the one daemon code worth retrying as it is: a limit was reached and nothing was tried.
 */
export type ClientErrorCode = 'NO_DAEMON' | 'BAD_REPLY';

export class OednsTlsError extends Error {
  constructor(readonly code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OednsTlsError';
  }
}
