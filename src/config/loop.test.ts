import { describe, expect, it } from 'vitest';
import { expectAppError } from '../../test/support/unit.js';
import { ForwardingLoopError } from '../core/errors.js';
import { parseEndpoint, type Endpoint } from './endpoint.js';
import { assertNoLoop, reachesListener, selfReferences } from './loop.js';

const ep = (text: string): Endpoint => parseEndpoint(text, 53, 'test');
const hostAddresses = ['127.0.0.1', '::1', '192.0.2.7', '2001:db8::7', 'fe80::7'];

function expectLoopError(fn: () => unknown, pattern: RegExp): void {
  expectAppError(fn, ForwardingLoopError, pattern);
}

describe('reachesListener', () => {
  it('is true for an upstream equal to a specific listen address and port', () => {
    expect(reachesListener(ep('127.0.0.1:53'), ep('127.0.0.1:53'), hostAddresses)).toBe(true);
    expect(reachesListener(ep('[::1]:53'), ep('[::1]:53'), hostAddresses)).toBe(true);
  });

  it('is false on a different port', () => {
    expect(reachesListener(ep('127.0.0.1:5353'), ep('127.0.0.1:53'), hostAddresses)).toBe(false);
    expect(reachesListener(ep('127.0.0.1:5353'), ep('0.0.0.0:53'), hostAddresses)).toBe(false);
  });

  it('is false for another loopback address than the specific one listened on (systemd-resolved on 127.0.0.53)', () => {
    expect(reachesListener(ep('127.0.0.53'), ep('127.0.0.1:53'), hostAddresses)).toBe(false);
  });

  it('treats a wildcard listener as reaching loopback and every local address', () => {
    const wildcard = ep('0.0.0.0:53');
    expect(reachesListener(ep('127.0.0.1:53'), wildcard, hostAddresses)).toBe(true);
    expect(reachesListener(ep('127.0.0.53:53'), wildcard, [])).toBe(true);
    expect(reachesListener(ep('192.0.2.7:53'), wildcard, hostAddresses)).toBe(true);
    expect(reachesListener(ep('0.0.0.0:53'), wildcard, [])).toBe(true);
    expect(reachesListener(ep('192.0.2.99:53'), wildcard, hostAddresses)).toBe(false);
    expect(reachesListener(ep('[2001:db8::7]:53'), ep('[::]:53'), hostAddresses)).toBe(true);
  });

  it('sees an IPv4-mapped IPv6 upstream as its IPv4 address', () => {
    expect(reachesListener(ep('[::ffff:127.0.0.1]:53'), ep('127.0.0.1:53'), hostAddresses)).toBe(true);
  });

  it('compares IPv6 addresses regardless of letter case', () => {
    expect(reachesListener(ep('[2001:DB8::7]:53'), ep('[2001:db8::7]:53'), [])).toBe(true);
  });

  it('compares IPv6 addresses regardless of how they are written (RFC 5952 §4)', () => {
    expect(reachesListener(ep('[0:0:0:0:0:0:0:1]:53'), ep('[::1]:53'), [])).toBe(true);
    expect(reachesListener(ep('[2001:0db8:0000::0007]:53'), ep('[2001:db8::7]:53'), [])).toBe(true);
  });
});

describe('assertNoLoop', () => {
  it('throws ForwardingLoopError when an explicit upstream is the listen address', () => {
    expectLoopError(() => assertNoLoop([ep('127.0.0.1:53')], [ep('127.0.0.1:53'), ep('[::1]:53')], hostAddresses), /127\.0\.0\.1:53.*--upstream/);
  });

  it('throws for a wildcard listener on 0.0.0.0:53 with upstream 127.0.0.1:53', () => {
    expectLoopError(() => assertNoLoop([ep('192.0.2.1'), ep('127.0.0.1:53')], [ep('0.0.0.0:53')], hostAddresses), /127\.0\.0\.1:53/);
  });

  it('accepts the same address on a different port', () => {
    expect(() => assertNoLoop([ep('127.0.0.1:5353')], [ep('127.0.0.1:53')], hostAddresses)).not.toThrow();
    expect(() => assertNoLoop([ep('127.0.0.1:5353')], [ep('0.0.0.0:53')], hostAddresses)).not.toThrow();
  });

  it('accepts an upstream that is another host', () => {
    expect(() => assertNoLoop([ep('192.0.2.1')], [ep('0.0.0.0:53')], hostAddresses)).not.toThrow();
  });
});

describe('selfReferences', () => {
  it('picks exactly the upstreams that reach one of the listeners', () => {
    const upstreams = [ep('127.0.0.1'), ep('192.0.2.1'), ep('[::1]:53'), ep('[::1]:5353')];
    expect(selfReferences(upstreams, [ep('127.0.0.1:53'), ep('[::1]:53')], [])).toEqual([upstreams[0], upstreams[2]]);
  });
});
