/**
 * Just enough DER (X.690) for DSA public keys, which node:crypto cannot take or give as JWK:
 *
 *   SubjectPublicKeyInfo ::= SEQUENCE { SEQUENCE { id-dsa, Dss-Parms ::= SEQUENCE { p, q, g } },
 *                                       BIT STRING { INTEGER y } }        (RFC 3279 §2.3.2)
 *
 * Integers here are unsigned big-endian byte strings without leading zeros.
 */

const Tag = { Integer: 0x02, BitString: 0x03, Oid: 0x06, Sequence: 0x30 } as const;

/** id-dsa, 1.2.840.10040.4.1 (RFC 3279 §2.3.2), as DER OID content bytes. */
const ID_DSA = Uint8Array.from([0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01]);

export interface DsaPublicKey {
  readonly p: Uint8Array;
  readonly q: Uint8Array;
  readonly g: Uint8Array;
  readonly y: Uint8Array;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const value = concat(content);
  const length = value.length < 0x80 ? [value.length]
    : value.length < 0x100 ? [0x81, value.length] : [0x82, value.length >> 8, value.length & 0xff];
  return concat([Uint8Array.from([tag, ...length]), value]);
}

/** A non-negative INTEGER: a zero byte in front when the top bit is set. */
function integer(unsigned: Uint8Array): Uint8Array {
  let start = 0;
  while (start < unsigned.length - 1 && unsigned[start] === 0) start++;
  const digits = unsigned.subarray(start);
  return tlv(Tag.Integer, (digits[0] ?? 0) & 0x80 ? Uint8Array.of(0) : new Uint8Array(0), digits.length ? digits : Uint8Array.of(0));
}

export function dsaSpki(key: DsaPublicKey): Uint8Array {
  const algorithm = tlv(Tag.Sequence, tlv(Tag.Oid, ID_DSA), tlv(Tag.Sequence, integer(key.p), integer(key.q), integer(key.g)));
  return tlv(Tag.Sequence, algorithm, tlv(Tag.BitString, Uint8Array.of(0), integer(key.y)));
}

/** Reads DER written by node:crypto; anything unexpected throws a plain Error for the caller to wrap. */
class DerReader {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  next(tag: number): DerReader {
    if (this.bytes[this.offset] !== tag) throw new Error(`expected DER tag 0x${tag.toString(16)} at offset ${this.offset}`);
    let length = this.bytes[this.offset + 1] ?? 0;
    let header = 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + (this.bytes[this.offset + 2 + i] ?? 0);
      header += count;
    }
    const start = this.offset + header;
    if (start + length > this.bytes.length) throw new Error('DER value runs past its container');
    this.offset = start + length;
    return new DerReader(this.bytes.subarray(start, start + length));
  }

  unsigned(): Uint8Array {
    const value = this.next(Tag.Integer).bytes;
    return value[0] === 0 && value.length > 1 ? value.slice(1) : value.slice();
  }

  content(): Uint8Array {
    return this.bytes;
  }
}

export function readDsaSpki(der: Uint8Array): DsaPublicKey {
  const spki = new DerReader(der).next(Tag.Sequence);
  const algorithm = spki.next(Tag.Sequence);
  const oid = algorithm.next(Tag.Oid).content();
  if (oid.length !== ID_DSA.length || oid.some((byte, i) => byte !== ID_DSA[i])) throw new Error('not a DSA SubjectPublicKeyInfo');
  const parameters = algorithm.next(Tag.Sequence);
  const [p, q, g] = [parameters.unsigned(), parameters.unsigned(), parameters.unsigned()];
  const bits = spki.next(Tag.BitString).content();
  const y = new DerReader(bits.subarray(1)).unsigned();
  return { p, q, g, y };
}
