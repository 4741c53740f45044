/**
 * RFC 4034 Appendix B: the key tag, a 16-bit checksum of a DNSKEY's whole RDATA that RRSIG and
 * DS records use to point at a key. Tags are not unique (two keys may collide, which is what
 * KeyTrap exploits); a match only says which keys are worth trying.
 *
 * Appendix B.1 gives algorithm 1 (RSA/MD5) a different tag (the modulus's low 16 bits). oedns
 * does not support RSA/MD5 (RFC 8624 §3.1: MUST NOT validate), so that case is left out.
 */

/** RFC 4034 Appendix B: sum of the RDATA as big-endian 16-bit words, carries folded in once. */
export function keyTag(dnskeyRdata: Uint8Array): number {
  let accumulator = 0;
  for (let i = 0; i < dnskeyRdata.length; i++) {
    accumulator += i & 1 ? dnskeyRdata[i]! : dnskeyRdata[i]! << 8;
  }
  accumulator += (accumulator >>> 16) & 0xffff;
  return accumulator & 0xffff;
}
