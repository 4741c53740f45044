import { describe, expect, it } from 'vitest';
import { NO_FLAGS } from '../tls/index.js';
import { UserKeyCache } from './cache.js';

const ok = { ok: true, identity: 'alice@ldap.test', keyServer: 'keys.ldap.test:636', dnssec: 'secure' } as const;
const key = (address: string, spki: number, noDnssec = false) => ({ flags: { ...NO_FLAGS, noDnssec }, address, spkiDer: Uint8Array.of(spki) });

describe('user key cache', () => {
  it('keeps a result until it expires', () => {
    let now = 1000;
    const cache = new UserKeyCache(10, () => now);
    cache.set(key('alice@ldap.test', 1), ok, 2000);
    expect(cache.get(key('alice@ldap.test', 1))).toBe(ok);
    now = 2000;
    expect(cache.get(key('alice@ldap.test', 1))).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('tells apart addresses, keys and flags', () => {
    const cache = new UserKeyCache(10, () => 0);
    cache.set(key('alice@ldap.test', 1), ok, 100);
    expect(cache.get(key('alice@ldap.test', 2))).toBeUndefined();
    expect(cache.get(key('bob@ldap.test', 1))).toBeUndefined();
    expect(cache.get(key('alice@ldap.test', 1, true))).toBeUndefined();
    expect(cache.get({ ...key('alice@ldap.test', 1), flags: { ...NO_FLAGS, noLdap: true } })).toBe(ok);
  });

  it('does not keep what has already expired', () => {
    const cache = new UserKeyCache(10, () => 500);
    cache.set(key('alice@ldap.test', 1), ok, 500);
    expect(cache.size).toBe(0);
  });

  it('drops the oldest write when full', () => {
    const cache = new UserKeyCache(2, () => 0);
    cache.set(key('a@x.test', 1), ok, 100);
    cache.set(key('b@x.test', 1), ok, 100);
    cache.set(key('a@x.test', 1), ok, 100);
    cache.set(key('c@x.test', 1), ok, 100);
    expect(cache.get(key('b@x.test', 1))).toBeUndefined();
    expect(cache.get(key('a@x.test', 1))).toBe(ok);
    expect(cache.get(key('c@x.test', 1))).toBe(ok);
  });
});
