import { describe, expect, it } from 'vitest';
import { RRType } from '../wire/index.js';
import type { NameAnswer, NameLookup } from './names.js';
import { NO_FLAGS, TlsError } from './session.js';
import { lookUpMx } from './smtp-dane.js';

const signal = AbortSignal.timeout(5000);

function mx(preference: number, name: string): Uint8Array {
  const labels = name === '.' ? [] : name.replace(/\.$/, '').split('.');
  return new Uint8Array([preference >> 8, preference & 0xff, ...labels.flatMap((l) => [l.length, ...Buffer.from(l)]), 0]);
}

function lookup(answer: Partial<NameAnswer>): NameLookup {
  return async (name, type) => ({ name, type, owner: name, status: 'secure', outcome: 'records', rdata: [], expiresAtMs: 0, ...answer });
}

async function reply(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TlsError) return error.reply;
    throw error;
  }
  return 'OK';
}

describe('MX lookup for SMTP (RFC 5321 §5.1, RFC 7505, RFC 7672 §2.2.1)', () => {
  it('orders hosts by preference and says whether the RRset is secure', async () => {
    const found = await lookUpMx(lookup({ rdata: [mx(20, 'b.example.'), mx(10, 'a.example.'), mx(30, 'c.example.')] }), 'example.', NO_FLAGS, signal);
    expect(found).toEqual({ secure: true, hosts: [{ name: 'a.example.', preference: 10 }, { name: 'b.example.', preference: 20 }, { name: 'c.example.', preference: 30 }] });
    expect((await lookUpMx(lookup({ status: 'insecure', rdata: [mx(10, 'a.example.')] }), 'example.', NO_FLAGS, signal)).secure).toBe(false);
    expect((await lookUpMx(lookup({ status: 'insecure', rdata: [mx(10, 'a.example.')] }), 'example.', { ...NO_FLAGS, noDnssec: true }, signal)).secure).toBe(true);
  });

  it('uses the domain itself when it has no MX RRset (the implicit MX)', async () => {
    expect(await lookUpMx(lookup({ outcome: 'nodata' }), 'example.', NO_FLAGS, signal)).toEqual({ secure: true, hosts: [{ name: 'example.', preference: 0 }] });
  });

  it('refuses a null MX and a domain that does not exist (NOT_FOUND)', async () => {
    expect(await reply(lookUpMx(lookup({ rdata: [mx(0, '.')] }), 'example.', NO_FLAGS, signal))).toBe('NOT_FOUND');
    expect(await reply(lookUpMx(lookup({ outcome: 'nxdomain' }), 'example.', NO_FLAGS, signal))).toBe('NOT_FOUND');
    expect(await reply(lookUpMx(lookup({ rdata: [new Uint8Array([0, 10, 5, 0x61])] }), 'example.', NO_FLAGS, signal))).toBe('NOT_FOUND');
  });

  it('never takes a failed or bogus MX lookup for "no MX": DNS_FAILED, DNSSEC_BOGUS', async () => {
    expect(await reply(lookUpMx(lookup({ status: 'indeterminate', outcome: 'failed' }), 'example.', NO_FLAGS, signal))).toBe('DNS_FAILED');
    expect(await reply(lookUpMx(lookup({ outcome: 'failed' }), 'example.', NO_FLAGS, signal))).toBe('DNS_FAILED');
    expect(await reply(lookUpMx(lookup({ status: 'bogus', rdata: [mx(10, 'evil.example.')] }), 'example.', NO_FLAGS, signal))).toBe('DNSSEC_BOGUS');
  });

  it('asks for the MX type', async () => {
    const asked: number[] = [];
    await lookUpMx(async (name, type) => {
      asked.push(type);
      return { name, type, owner: name, status: 'secure', outcome: 'nodata', rdata: [], expiresAtMs: 0 };
    }, 'example.', NO_FLAGS, signal);
    expect(asked).toEqual([RRType.MX]);
  });
});
