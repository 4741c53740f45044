import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GatewayType, IpseckeyAlgorithm, ipseckeyKeyField, ipseckeyPublicKey, type IpseckeyGateway, type IpseckeyRdata } from '../records/index.js';
import { RRType } from '../wire/index.js';
import { defaultDecision, hostKeyFor, sameAddress, type AnsweredAddress, type DecisionInput } from './decision.js';
import type { HostKeys, IpseckeyEntry, KeySet, KeyStatus } from './host-keys.js';

const NOW = Date.UTC(2025, 0, 1);
const HOST = 'www.example.test.';
const V4: AnsweredAddress = { address: '192.0.2.10', family: 4 };
const V6: AnsweredAddress = { address: '2001:db8::10', family: 6 };

const { publicKey: hostKey } = generateKeyPairSync('ed25519');
const hostSpkiPem = hostKey.export({ type: 'spki', format: 'pem' }) as string;
const { publicKey: otherKey } = generateKeyPairSync('ed25519');
const otherSpkiPem = otherKey.export({ type: 'spki', format: 'pem' }) as string;

const NONE: IpseckeyGateway = { type: GatewayType.None };
const v4Gateway = (address: string): IpseckeyGateway => ({ type: GatewayType.Ipv4, address });
const v6Gateway = (address: string): IpseckeyGateway => ({ type: GatewayType.Ipv6, address });

/** An IPSECKEY entry as host-keys.ts makes it: the record and its key. */
function entry(precedence: number, gateway: IpseckeyGateway = NONE, key = hostKey): IpseckeyEntry {
  const rdata: IpseckeyRdata = { precedence, gateway, ...ipseckeyKeyField(key) };
  return { rdata, key: ipseckeyPublicKey(rdata, HOST) };
}

function keylessEntry(precedence: number, gateway: IpseckeyGateway = NONE, algorithm: number = IpseckeyAlgorithm.None): IpseckeyEntry {
  const rdata: IpseckeyRdata = { precedence, gateway, algorithm, publicKey: algorithm === IpseckeyAlgorithm.None ? new Uint8Array(0) : Uint8Array.from([1, 2, 3]) };
  return { rdata, key: ipseckeyPublicKey(rdata, HOST) };
}

function ipseckeySet(records: IpseckeyEntry[], partial: Partial<KeySet<IpseckeyEntry>> = {}): KeySet<IpseckeyEntry> {
  return {
    owner: HOST, type: RRType.IPSECKEY, status: 'secure', outcome: records.length > 0 ? 'records' : 'none',
    records, rejected: [], expiresAtMs: NOW + 600_000, ...partial,
  };
}

function hostKeys(ipseckey: KeySet<IpseckeyEntry>): HostKeys {
  return {
    name: HOST, ipseckey,
    cert: { owner: HOST, type: RRType.CERT, status: 'secure', outcome: 'none', records: [], rejected: [], expiresAtMs: NOW + 600_000 },
    tlsa: new Map(),
  };
}

function input(ipseckey: KeySet<IpseckeyEntry>, partial: Partial<DecisionInput> = {}): DecisionInput {
  return {
    qname: 'alias.example.test.', qtype: RRType.A, name: HOST, addresses: [V4], addressStatus: 'secure',
    addressExpiresAtMs: NOW + 300_000, keys: hostKeys(ipseckey), nowMs: NOW, ...partial,
  };
}

const decide = defaultDecision({ waitMs: 1500, onTimeout: 'servfail' });

describe('defaultDecision: the built-in opportunistic policy', () => {
  it('protects a secure address at level use with a secure IPSECKEY of the host itself', () => {
    const keys = ipseckeySet([entry(10)]);
    const decision = decide(input(keys));
    expect(decision).toMatchObject({
      qname: 'alias.example.test.', qtype: RRType.A, name: HOST, decidedBy: 'built-in default', waitMs: 1500, onTimeout: 'servfail',
    });
    expect(decision.keys.ipseckey).toBe(keys);
    expect(decision.addresses).toEqual([{
      ...V4,
      action: { kind: 'protect', level: 'use', key: { precedence: 10, keyType: 'ed25519', spkiPem: hostSpkiPem, status: 'secure' } },
      reason: 'secure IPSECKEY (precedence 10, ed25519)',
    }]);
  });

  it('carries the wait and timeout action it was made with', () => {
    const decision = defaultDecision({ waitMs: 50, onTimeout: 'answer' })(input(ipseckeySet([entry(10)])));
    expect(decision).toMatchObject({ waitMs: 50, onTimeout: 'answer' });
  });

  it.each<[KeyStatus]>([['insecure'], ['unchecked']])('takes no action for a %s IPSECKEY, saying the policy wants DNSSEC-secure keys', (status) => {
    const decision = decide(input(ipseckeySet([entry(10)], { status })));
    expect(decision.addresses).toEqual([{ ...V4, action: { kind: 'none' }, reason: `IPSECKEY is ${status}; the default policy wants DNSSEC-secure keys` }]);
  });

  it.each<[KeyStatus]>([['bogus'], ['indeterminate']])('takes no action for a %s IPSECKEY, giving the validator\'s reason', (status) => {
    const decision = decide(input(ipseckeySet([], { status, outcome: 'failed', reason: 'RRSIG expired' })));
    expect(decision.addresses).toEqual([{ ...V4, action: { kind: 'none' }, reason: `IPSECKEY is ${status}: RRSIG expired` }]);
  });

  it('takes no action when the IPSECKEY lookup failed without a reason', () => {
    const decision = decide(input(ipseckeySet([], { status: 'indeterminate', outcome: 'failed' })));
    expect(decision.addresses[0]).toMatchObject({ action: { kind: 'none' }, reason: 'IPSECKEY is indeterminate: no answer' });
  });

  it.each<[KeyStatus]>([['secure'], ['insecure']])('takes no action when the host publishes no IPSECKEY (%s absence)', (status) => {
    const decision = decide(input(ipseckeySet([], { status, outcome: 'none' })));
    expect(decision.addresses[0]).toMatchObject({ action: { kind: 'none' }, reason: 'no IPSECKEY' });
  });

  it('takes no action when every IPSECKEY record was rejected as malformed', () => {
    const decision = decide(input(ipseckeySet([], { outcome: 'records', rejected: [`${HOST} IPSECKEY: bad key`] })));
    expect(decision.addresses[0]).toMatchObject({ action: { kind: 'none' }, reason: 'no usable IPSECKEY for the host itself' });
  });

  it.each<[KeyStatus]>([['insecure'], ['unchecked'], ['bogus'], ['indeterminate']])(
    'takes no action for a %s address with a secure IPSECKEY (dns-match-id: the address needs the key\'s status)',
    (addressStatus) => {
      const decision = decide(input(ipseckeySet([entry(10)]), { addressStatus }));
      expect(decision.addresses[0]).toMatchObject({ action: { kind: 'none' }, reason: `the address is ${addressStatus}, weaker than its secure IPSECKEY` });
    },
  );

  it('decides each address on its own: the one a gateway names is protected, the other is not', () => {
    const keys = ipseckeySet([entry(10, v4Gateway(V4.address))]);
    const decision = decide(input(keys, { qtype: RRType.A, addresses: [V4, { address: '192.0.2.11', family: 4 }] }));
    expect(decision.addresses.map((a) => [a.address, a.action.kind])).toEqual([[V4.address, 'protect'], ['192.0.2.11', 'none']]);
    expect(decision.addresses[1]!.reason).toBe('no usable IPSECKEY for the host itself: precedence 10: gateway 192.0.2.10 (tunnel mode is not allowed)');
  });

  it('uses an IPv6 gateway written in another spelling of the answered address', () => {
    const keys = ipseckeySet([entry(10, v6Gateway('2001:0db8:0:0:0:0:0:10'))]);
    const decision = decide(input(keys, { qtype: RRType.AAAA, addresses: [V6] }));
    expect(decision.addresses[0]).toMatchObject({ address: V6.address, family: 6, action: { kind: 'protect', level: 'use' } });
  });

  it('skips an IPSECKEY whose gateway is another host and takes the next precedence, keeping its key', () => {
    const keys = ipseckeySet([entry(10, v4Gateway('192.0.2.99'), otherKey), entry(20, v4Gateway(V4.address))]);
    const decision = decide(input(keys));
    const action = decision.addresses[0]!.action;
    expect(action.kind === 'protect' && [action.key.precedence, action.key.spkiPem]).toEqual([20, hostSpkiPem]);
  });

  it('skips a record without a key (algorithm 0) and takes the next precedence', () => {
    const decision = decide(input(ipseckeySet([keylessEntry(10), entry(20)])));
    const action = decision.addresses[0]!.action;
    expect(action.kind === 'protect' && action.key.precedence).toBe(20);
  });

  it('lists every record it skipped when none is usable', () => {
    const keys = ipseckeySet([keylessEntry(5), entry(10, { type: GatewayType.Name, name: 'gw.example.test.' }), keylessEntry(15, NONE, 9)]);
    const decision = decide(input(keys));
    expect(decision.addresses[0]).toMatchObject({
      action: { kind: 'none' },
      reason: 'no usable IPSECKEY for the host itself: precedence 5: no key in the record; precedence 10: gateway gw.example.test. (tunnel mode is not allowed); '
        + 'precedence 15: IPSECKEY algorithm 9 is not in the IANA registry oedns knows (0-4)',
    });
  });

  it.each([
    ['the address', NOW + 100_000, NOW + 600_000, NOW + 100_000],
    ['the IPSECKEY', NOW + 600_000, NOW + 200_000, NOW + 200_000],
  ])('holds until the earlier of address and IPSECKEY lifetime (here %s)', (_first, addressExpiresAtMs, keyExpiresAtMs, expected) => {
    const decision = decide(input(ipseckeySet([entry(10)], { expiresAtMs: keyExpiresAtMs }), { addressExpiresAtMs }));
    expect(decision.expiresAtMs).toBe(expected);
  });

  it('bounds the lifetime by the IPSECKEY lookup also when it decides nothing (a failed lookup holds no time)', () => {
    const decision = decide(input(ipseckeySet([], { status: 'indeterminate', outcome: 'failed', reason: 'x', expiresAtMs: NOW })));
    expect(decision.expiresAtMs).toBe(NOW);
  });

  it('decides no address for an answer with none', () => {
    expect(decide(input(ipseckeySet([entry(10)]), { addresses: [] })).addresses).toEqual([]);
  });
});

describe('hostKeyFor: the IPSECKEY for transport mode to the host itself (RFC 4025 §1.2)', () => {
  it('takes the first record with no gateway (type 0)', () => {
    const first = entry(10);
    expect(hostKeyFor(V4.address, [first, entry(20)])).toEqual({ entry: first, skipped: [] });
  });

  it('takes a record whose IPv4 gateway is the address', () => {
    const own = entry(10, v4Gateway('192.0.2.10'));
    expect(hostKeyFor('192.0.2.10', [own]).entry).toBe(own);
  });

  it.each([
    ['2001:db8::10', '2001:0db8:0:0:0:0:0:10'],
    ['2001:0db8:0000:0000:0000:0000:0000:0010', '2001:db8::10'],
    ['2001:DB8::10', '2001:db8::10'],
  ])('takes a record whose IPv6 gateway %s is the address %s', (gateway, address) => {
    const own = entry(10, v6Gateway(gateway));
    expect(hostKeyFor(address, [own])).toEqual({ entry: own, skipped: [] });
  });

  it('skips a gateway that is another host, with the reason, and tries the next precedence', () => {
    const own = entry(20, v6Gateway('2001:db8::10'));
    const result = hostKeyFor('2001:db8::10', [entry(10, v4Gateway('192.0.2.10')), own]);
    expect(result.entry).toBe(own);
    expect(result.skipped).toEqual(['precedence 10: gateway 192.0.2.10 (tunnel mode is not allowed)']);
  });

  it('skips a gateway given by name (it is not the address)', () => {
    expect(hostKeyFor(V4.address, [entry(10, { type: GatewayType.Name, name: 'gw.example.test.' })])).toEqual({
      skipped: ['precedence 10: gateway gw.example.test. (tunnel mode is not allowed)'],
    });
  });

  it('skips a record without a key (algorithm 0) and one with an unsupported algorithm', () => {
    const result = hostKeyFor(V4.address, [keylessEntry(10), keylessEntry(15, NONE, 200), entry(20)]);
    expect(result.entry?.rdata.precedence).toBe(20);
    expect(result.skipped).toEqual([
      'precedence 10: no key in the record',
      'precedence 15: IPSECKEY algorithm 200 is not in the IANA registry oedns knows (0-4)',
    ]);
  });

  it('finds nothing among no records', () => {
    expect(hostKeyFor(V4.address, [])).toEqual({ skipped: [] });
  });

  it('keeps the key of the record it takes, not another\'s', () => {
    const result = hostKeyFor(V4.address, [entry(10, v4Gateway('192.0.2.1'), hostKey), entry(20, NONE, otherKey)]);
    expect(result.entry?.key.kind === 'key' && result.entry.key.spkiPem).toBe(otherSpkiPem);
  });
});

describe('sameAddress', () => {
  it.each([
    ['192.0.2.10', '192.0.2.10', true],
    ['192.0.2.10', '192.0.2.11', false],
    ['2001:db8::10', '2001:0db8:0:0:0:0:0:10', true],
    ['2001:db8::10', '2001:DB8:0::10', true],
    ['2001:db8::10', '2001:db8::11', false],
    ['::ffff:192.0.2.10', '::ffff:c000:20a', true],
    ['192.0.2.10', '::ffff:192.0.2.10', false],
    ['::ffff:192.0.2.10', '192.0.2.10', false],
    ['2001:db8::10', 'www.example.test.', false],
  ])('%s and %s: %s', (a, b, same) => {
    expect(sameAddress(a, b)).toBe(same);
  });
});
