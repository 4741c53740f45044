/**
 * DNSSEC outcomes are values, never exceptions (STYLE §4). Whatever turns DNS data into IPsec or
 * TLS trust takes `Secure<…>` only, so unvalidated data cannot reach a backend by construction.
 */

/** RFC 8914 §4 — Extended DNS Error INFO-CODEs that the validator reports. */
export const Ede = {
  Other: 0,
  UnsupportedDnskeyAlgorithm: 1,
  UnsupportedDsDigestType: 2,
  DnssecIndeterminate: 5,
  DnssecBogus: 6,
  SignatureExpired: 7,
  SignatureNotYetValid: 8,
  DnskeyMissing: 9,
  RrsigsMissing: 10,
  NoZoneKeyBitSet: 11,
  NsecMissing: 12,
  /** RFC 9276 §3.2 / RFC 8914 registry: NSEC3 iterations above the limit. */
  UnsupportedNsec3IterationsValue: 27,
} as const;
export type Ede = (typeof Ede)[keyof typeof Ede];

export type Verdict<T> =
  | { readonly status: 'secure'; readonly value: T }
  | { readonly status: 'insecure'; readonly value: T; readonly reason: string }
  | { readonly status: 'bogus' | 'indeterminate'; readonly reason: string; readonly ede: Ede };

export type Secure<T> = Extract<Verdict<T>, { status: 'secure' }>;

export function secure<T>(value: T): Verdict<T> {
  return { status: 'secure', value };
}

export function insecure<T>(value: T, reason: string): Verdict<T> {
  return { status: 'insecure', value, reason };
}

export function bogus<T>(reason: string, ede: Ede = Ede.DnssecBogus): Verdict<T> {
  return { status: 'bogus', reason, ede };
}

export function indeterminate<T>(reason: string, ede: Ede = Ede.DnssecIndeterminate): Verdict<T> {
  return { status: 'indeterminate', reason, ede };
}

/** The EDE a non-secure verdict carries (insecure ones carry none: DNSSEC Bogus if forced). */
export function edeOf(verdict: Verdict<unknown>): Ede {
  return 'ede' in verdict ? verdict.ede : Ede.DnssecBogus;
}
