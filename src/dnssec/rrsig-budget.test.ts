import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rr } from '../../test/support/unit.js';
import { RRType, type ResourceRecord } from '../wire/index.js';
import { keyTag } from './key-tag.js';
import { MAX_KEY_TAG_COLLISIONS, MAX_RRSIGS_PER_RRSET, MAX_VERIFICATIONS_PER_ANSWER } from './limits.js';
import { createVerifyBudget, verifyRrset } from './rrsig.js';
import { testKey, testRrsig } from './test-vectors.js';
import { Ede } from './verdict.js';

const NOW = 2000;
const ZONE = 'example.';
const A_SET = [rr('www.example.', RRType.A, 300, [192, 0, 2, 1])];
const key = testKey(ZONE);

/**
 * KeyTrap (CVE-2023-50387) material: Ed25519 DNSKEYs whose public keys are arbitrary bytes tuned
 * so that every one has the key tag `tag`. None of them made the signature, so each is a wasted
 * verification.
 */
function collidingKeys(count: number, tag: number): ResourceRecord[] {
  return Array.from({ length: count }, (_, seed) => {
    const rdata = Uint8Array.from([1, 1, 3, 15, ...createHash('sha256').update(`collide-${seed}`).digest()]);
    for (let word = 0; keyTag(rdata) !== tag; word++) rdata.set([word >> 8, word & 0xff], rdata.length - 2);
    return { ...key.dnskey, rdata };
  });
}

const forged = (count: number): ResourceRecord[] =>
  Array.from({ length: count }, (_, i) => testRrsig(key, A_SET, { signature: new Uint8Array(64).fill(i + 1) }));

describe('verifyRrset work bounds (KeyTrap, CVE-2023-50387)', () => {
  it('starts a budget at MAX_VERIFICATIONS_PER_ANSWER', () => {
    expect(createVerifyBudget()).toEqual({ verificationsLeft: MAX_VERIFICATIONS_PER_ANSWER });
  });

  it(`tries at most MAX_RRSIGS_PER_RRSET (${MAX_RRSIGS_PER_RRSET}) of 20 forged RRSIGs, then is bogus`, async () => {
    const budget = createVerifyBudget(100);
    const verdict = await verifyRrset(A_SET, forged(20), [key.dnskey], ZONE, NOW, budget);
    expect(verdict).toMatchObject({ status: 'bogus', ede: Ede.DnssecBogus });
    expect(100 - budget.verificationsLeft).toBe(MAX_RRSIGS_PER_RRSET);
  });

  it(`tries at most MAX_KEY_TAG_COLLISIONS (${MAX_KEY_TAG_COLLISIONS}) of 20 keys sharing the RRSIG's key tag`, async () => {
    const budget = createVerifyBudget(100);
    const keys = collidingKeys(20, key.keyTag);
    expect(new Set(keys.map((k) => keyTag(k.rdata)))).toEqual(new Set([key.keyTag]));
    const verdict = await verifyRrset(A_SET, [testRrsig(key, A_SET)], keys, ZONE, NOW, budget);
    expect(verdict).toMatchObject({ status: 'bogus', ede: Ede.DnssecBogus });
    expect(100 - budget.verificationsLeft).toBe(MAX_KEY_TAG_COLLISIONS);
  });

  it('stops at the answer budget with 20 RRSIGs × 20 colliding keys and says so', async () => {
    const budget = createVerifyBudget();
    const verdict = await verifyRrset(A_SET, forged(20), collidingKeys(20, key.keyTag), ZONE, NOW, budget);
    expect(verdict).toMatchObject({ status: 'bogus', ede: Ede.DnssecBogus, reason: expect.stringMatching(/budget exhausted/) });
    expect(budget.verificationsLeft).toBe(0);
    expect(MAX_RRSIGS_PER_RRSET * MAX_KEY_TAG_COLLISIONS).toBeGreaterThan(MAX_VERIFICATIONS_PER_ANSWER);
  });

  it('shares one budget across the RRsets of an answer', async () => {
    const budget = createVerifyBudget(1);
    const sig = testRrsig(key, A_SET);
    expect(await verifyRrset(A_SET, [sig], [key.dnskey], ZONE, NOW, budget)).toMatchObject({ status: 'secure' });
    expect(budget.verificationsLeft).toBe(0);
    const second = await verifyRrset(A_SET, [sig], [key.dnskey], ZONE, NOW, budget);
    expect(second).toMatchObject({ status: 'bogus', reason: expect.stringMatching(/budget exhausted/) });
    expect(budget.verificationsLeft).toBe(0);
  });

  it('spends nothing on RRSIGs that fail the cheap checks (expired, wrong signer, no key)', async () => {
    const budget = createVerifyBudget(5);
    const sigs = [testRrsig(key, A_SET, { expiration: 1500 }), testRrsig(key, A_SET, { signerName: 'other.' }), testRrsig(testKey(ZONE), A_SET)];
    await verifyRrset(A_SET, sigs, [key.dnskey], ZONE, NOW, budget);
    expect(budget.verificationsLeft).toBe(5);
  });
});
