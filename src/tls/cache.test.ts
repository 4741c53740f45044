import { describe, expect, it } from 'vitest';
import { PinCache, pinKey, type PinnedResult } from './cache.js';
import { NO_FLAGS } from './session.js';

const pin = (spkiSha256: string, expiresAtMs: number): PinnedResult => ({ spkiSha256, method: 'dane', identity: 'www.example.test.', dnssec: 'secure', expiresAtMs });

describe('PinCache', () => {
  it('holds a pin until it expires (the TTLs it stood on)', () => {
    let now = 1000;
    const cache = new PinCache(10, () => now);
    cache.set('a', pin('k1', 2000));
    expect(cache.get('a')?.spkiSha256).toBe('k1');
    now = 2000;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('never stores what has already expired', () => {
    const cache = new PinCache(10, () => 5000);
    cache.set('a', pin('k1', 5000));
    expect(cache.size).toBe(0);
  });

  it('drops the least recently used entry beyond its bound', () => {
    const cache = new PinCache(2, () => 0);
    cache.set('a', pin('k1', 10));
    cache.set('b', pin('k2', 10));
    cache.get('a');
    cache.set('c', pin('k3', 10));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.spkiSha256).toBe('k1');
    expect(cache.get('c')?.spkiSha256).toBe('k3');
  });
});

describe('pinKey', () => {
  it('tells apart sides, names (case and final dot aside), ports, flags, usages and fallbacks', () => {
    const base = pinKey('server', { name: 'WWW.example.test.', port: 443 }, NO_FLAGS);
    expect(pinKey('server', { name: 'www.example.test', port: 443 }, NO_FLAGS)).toBe(base);
    expect(new Set([
      base,
      pinKey('client', { name: 'www.example.test', port: 443 }, NO_FLAGS),
      pinKey('server', { name: 'www.example.test', port: 8443 }, NO_FLAGS),
      pinKey('server', { name: 'www.example.test', port: 443 }, { ...NO_FLAGS, noDnssec: true }),
      pinKey('server', { name: 'www.example.test', port: 443, usages: [2, 3] }, NO_FLAGS),
      pinKey('server', { name: 'www.example.test', port: 443, withoutTlsa: 'pkix' }, NO_FLAGS),
    ]).size).toBe(6);
  });
});
