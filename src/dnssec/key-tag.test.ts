import { describe, expect, it } from 'vitest';
import { RRType } from '../wire/index.js';
import { keyTag } from './key-tag.js';
import { RFC4034_DS_EXAMPLE, recordsOfType, SIGNATURE_VECTORS } from './test-vectors.js';

describe('keyTag (RFC 4034 Appendix B)', () => {
  it('gives 60485 for the dskey.example.com DNSKEY of RFC 4034 §5.4', () => {
    const [dnskey] = recordsOfType(RFC4034_DS_EXAMPLE, RRType.DNSKEY);
    expect(keyTag(dnskey!.rdata)).toBe(60485);
  });

  it.each(SIGNATURE_VECTORS.map((v) => [v.name, v] as const))('gives the published key tag for %s', (_name, vector) => {
    const [dnskey] = recordsOfType(vector.text, RRType.DNSKEY);
    expect(keyTag(dnskey!.rdata)).toBe(vector.keyTag);
  });

  it('folds the carry of the 32-bit sum back into 16 bits', () => {
    // 0xffff + 0x0001 = 0x10000: the carry (1) is added back, giving 0x0001.
    expect(keyTag(Uint8Array.from([0xff, 0xff, 0x00, 0x01]))).toBe(0x0001);
    // An odd length: the last byte is the high half of a final word.
    expect(keyTag(Uint8Array.from([0x01, 0x02, 0x03]))).toBe(0x0402);
  });
});
