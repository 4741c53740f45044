/**
 * A failed step of a user key check, as a value: the reply code the application sees, why, and
 * (when the DNS data it stood on says so) until when the same question would fail the same way.
 */
import type { ReplyCode } from '../tls/index.js';

export interface UserKeyFailure {
  readonly ok: false;
  readonly reply: ReplyCode;
  readonly reason: string;
  /** The TTL of the DNS answer behind the failure; the cache never keeps it longer. */
  readonly expiresAtMs?: number | undefined;
}
