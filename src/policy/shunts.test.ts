import { describe, expect, it } from 'vitest';
import { ShuntTable } from './shunts.js';

const NOW = 1_700_000_000;

describe('ShuntTable (time is an argument; nothing reads the clock)', () => {
  it('keeps a shunt for its lifetime and forgets it at expiry', () => {
    const table = new ShuntTable();
    const shunt = table.recordFailure('2001:DB8::1', 900, NOW, 'IKE_SA failed: AUTHENTICATION_FAILED');
    expect(shunt).toEqual({ address: '2001:db8::1', sinceEpoch: NOW, expiresEpoch: NOW + 900, reason: 'IKE_SA failed: AUTHENTICATION_FAILED' });
    expect(table.active('2001:db8:0::1', NOW + 899)).toBe(shunt);
    expect(table.active('2001:db8::1', NOW + 900)).toBeUndefined();
    expect(table.size).toBe(0);
  });

  it('keys by canonical address, IPv4-mapped included', () => {
    const table = new ShuntTable();
    table.recordFailure('::ffff:192.0.2.1', 60, NOW, 'timeout');
    expect(table.active('192.0.2.1', NOW)).toMatchObject({ address: '192.0.2.1' });
  });

  it('replaces a shunt on a new failure and drops it on success', () => {
    const table = new ShuntTable();
    table.recordFailure('192.0.2.1', 60, NOW, 'first');
    table.recordFailure('192.0.2.1', 60, NOW + 30, 'second');
    expect(table.active('192.0.2.1', NOW + 80)).toMatchObject({ reason: 'second' });
    expect(table.clear('192.0.2.1')).toBe(true);
    expect(table.active('192.0.2.1', NOW + 80)).toBeUndefined();
    expect(table.clear('192.0.2.1')).toBe(false);
  });

  it('hands back the expired shunts so their addresses are decided again', () => {
    const table = new ShuntTable();
    table.recordFailure('192.0.2.1', 60, NOW, 'a');
    table.recordFailure('192.0.2.2', 600, NOW, 'b');
    expect(table.expire(NOW + 60).map((s) => s.address)).toEqual(['192.0.2.1']);
    expect(table.size).toBe(1);
    expect(table.expire(NOW + 60)).toEqual([]);
  });

  it('refuses what is not an address', () => {
    expect(() => new ShuntTable().recordFailure('peer.example', 60, NOW, 'x')).toThrow(/not an IP address/);
  });
});
