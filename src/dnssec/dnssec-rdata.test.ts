import { describe, expect, it } from 'vitest';
import { expectAppError, nameWire, rr } from '../../test/support/unit.js';
import { WireFormatError } from '../core/errors.js';
import { RRType } from '../wire/index.js';
import { parseDnskey, parseDs, parseRrsig } from './dnssec-rdata.js';
import { recordsOfType, SIGNATURE_VECTORS } from './test-vectors.js';

const P256 = SIGNATURE_VECTORS.find((v) => v.name.includes('P-256'))!;

describe('parseDnskey (RFC 4034 §2.1)', () => {
  it('reads flags, protocol, algorithm, key and key tag of the RFC 6605 §6.1 KSK', () => {
    const key = parseDnskey(recordsOfType(P256.text, RRType.DNSKEY)[0]!);
    expect(key).toMatchObject({ flags: 257, protocol: 3, algorithm: 13, keyTag: 55648, zoneKey: true, secureEntryPoint: true, revoked: false });
    expect(key.publicKey).toHaveLength(64);
  });

  it('reads the REVOKE flag (RFC 5011 §7) and a key without the Zone Key flag', () => {
    expect(parseDnskey(rr('example.', RRType.DNSKEY, 60, [0x01, 0x80, 3, 13, 1])).revoked).toBe(true);
    expect(parseDnskey(rr('example.', RRType.DNSKEY, 60, [0x00, 0x00, 3, 13, 1]))).toMatchObject({ zoneKey: false, secureEntryPoint: false });
  });

  it('throws ERR_WIRE_FORMAT naming the record for a DNSKEY without a public key', () => {
    expectAppError(() => parseDnskey(rr('example.', RRType.DNSKEY, 60, [1, 1, 3, 13])), WireFormatError, /DNSKEY of example\./);
  });
});

describe('parseRrsig (RFC 4034 §3.1)', () => {
  it('reads every field of the RFC 6605 §6.1 RRSIG and where its signature starts', () => {
    const sig = parseRrsig(recordsOfType(P256.text, RRType.RRSIG)[0]!);
    expect(sig).toMatchObject({
      typeCovered: RRType.A, algorithm: 13, labels: 3, originalTtl: 3600,
      expirationEpoch: Date.UTC(2010, 8, 9, 10, 4, 39) / 1000, inceptionEpoch: Date.UTC(2010, 7, 12, 10, 4, 39) / 1000,
      keyTag: 55648, signerName: 'example.net.', signatureOffset: 18 + 13,
    });
    expect(sig.signature).toHaveLength(64);
  });

  it('throws for an RRSIG whose Signature field is empty', () => {
    const rdata = [0, 1, 13, 2, 0, 0, 0, 60, 0, 0, 0, 2, 0, 0, 0, 1, 0, 7, ...nameWire('example.')];
    expectAppError(() => parseRrsig(rr('www.example.', RRType.RRSIG, 60, rdata)), WireFormatError, /RRSIG of www\.example\. has an empty Signature/);
  });

  it('throws for a signer name that is still compressed', () => {
    const rdata = [0, 1, 13, 2, 0, 0, 0, 60, 0, 0, 0, 2, 0, 0, 0, 1, 0, 7, 0xc0, 0x0c, 1, 2, 3];
    expectAppError(() => parseRrsig(rr('www.example.', RRType.RRSIG, 60, rdata)), WireFormatError, /compression pointer/);
  });

  it('throws for a signer name that runs past the RDATA', () => {
    const rdata = [0, 1, 13, 2, 0, 0, 0, 60, 0, 0, 0, 2, 0, 0, 0, 1, 0, 7, 7, 0x65, 0x78];
    expectAppError(() => parseRrsig(rr('www.example.', RRType.RRSIG, 60, rdata)), WireFormatError, /runs past the RDATA/);
  });

  it('throws for RDATA shorter than the fixed fields', () => {
    expectAppError(() => parseRrsig(rr('www.example.', RRType.RRSIG, 60, [0, 1, 13])), WireFormatError, /too few for an RRSIG/);
  });
});

describe('parseDs (RFC 4034 §5.1)', () => {
  it('reads key tag, algorithm, digest type and digest', () => {
    const ds = parseDs(recordsOfType(P256.text, RRType.DS)[0]!);
    expect(ds).toMatchObject({ keyTag: 55648, algorithm: 13, digestType: 2 });
    expect(Buffer.from(ds.digest).toString('hex')).toBe('b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17');
  });

  it('throws for a DS without a digest', () => {
    expectAppError(() => parseDs(rr('example.', RRType.DS, 60, [0, 1, 13, 2])), WireFormatError, /DS of example\./);
  });
});
