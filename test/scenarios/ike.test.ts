/**
 * Keys from DNS become IKE, end to end: BIND serves the signed keys lab; oedns (in-process, the
 * vici backend) answers bob.keys.test. for alice; alice's charon gets a conn with bob's key from
 * his IPSECKEY record, oedns initiates on the answer (`initiate: on-answer`), and bob's charon,
 * holding alice's key as a responder, completes IKE with her. Each charon runs in a network
 * namespace of its own (test/support/charon-lab.ts), joined by a veth with the lab's addresses.
 * This kernel has no ESP, so the CHILD_SA fails; the IKE_SA is what proves the keys, and the
 * held answer fails closed (SERVFAIL, a drop in the trap's place, bob's key gone). When the
 * decision expires the drop and its policies leave alice's charon.
 * Needs root and strongSwan (scripts/test.sh installs it).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ViciBackend, type IkeResult, type PolicySpec } from '../../src/ipsec/index.js';
import { createRootLogger } from '../../src/core/log.js';
import { Rcode, RRType } from '../../src/wire/index.js';
import { charonAvailable, startCharonLab, type CharonLab, type CharonNode } from '../support/charon-lab.js';
import { startKeysLab, KEYS_LAB_HOSTS, type KeysLab } from '../support/keys-lab.js';
import { queryMessage, question, startOedns, udpQuery, type Harness } from '../support/oedns-harness.js';

/** Long enough for IKE and one retransmit, short enough that expiry comes within the test. */
const POLICY_SECONDS = 4;

let keys: KeysLab;
let charons: CharonLab;
let alice: CharonNode;
let bob: CharonNode;
let bobSide: ViciBackend;
const bobResults: IkeResult[] = [];
let dir: string;
let oedns: Harness;

describe.skipIf(!charonAvailable)('keys from DNS become IKE (vici backend, two charons)', () => {
  beforeAll(async () => {
    keys = await startKeysLab();
    charons = await startCharonLab(2, 'ike', [10, 20]);
    [alice, bob] = charons.nodes as [CharonNode, CharonNode];
    // bob's side: his own key, and alice's key as a responder conn (what bob's oedns would push).
    bobSide = new ViciBackend({
      socketPath: bob.socketPath, identity: 'bob.keys.test', privateKeyPem: keys.keys.bob.privateKeyPem,
      log: createRootLogger('warn'), onIkeResult: (r) => bobResults.push(r),
    });
    await bobSide.start(AbortSignal.timeout(10_000));
    const responder: PolicySpec = {
      family: 4, remote: KEYS_LAB_HOSTS.alice.ipv4, selector: {}, action: { kind: 'responder' },
      peer: { identity: KEYS_LAB_HOSTS.alice.name, publicKeyPem: keys.keys.alice.spkiPem },
    };
    await bobSide.apply([{ op: 'add', policy: responder }], AbortSignal.timeout(10_000));

    dir = await mkdtemp(join(tmpdir(), 'oedns-ike-'));
    await writeFile(join(dir, 'alice.pem'), keys.keys.alice.privateKeyPem, { mode: 0o600 });
    await writeFile(join(dir, '10-bob.yaml'), [
      'version: 1',
      'rules:',
      '  - domains: [bob.keys.test]',
      '    action: require',
      '    keys: [ipseckey]',
      '    initiate: on-answer',
      '    timeout-ms: 8000',
      `    max-ttl: ${POLICY_SECONDS}`,
      '',
    ].join('\n'));
    oedns = await startOedns({
      upstream: [`${keys.lab.address}:${keys.lab.port}`], 'trust-anchor': [keys.anchorFile], insecure: [], keys: true, policies: dir,
      'ipsec-backend': 'vici', 'vici-socket': alice.socketPath, 'ike-identity': 'alice.keys.test', 'ike-key': join(dir, 'alice.pem'),
    });
  }, 90_000);

  afterAll(async () => {
    await oedns?.stop();
    bobSide?.close();
    await charons?.stop();
    await keys?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('holds bob\'s answer while IKE runs with his key from DNS (bob authenticates alice by hers), and fails closed when the CHILD_SA is refused', async () => {
    const reply = await udpQuery(oedns.port, queryMessage(1, question(KEYS_LAB_HOSTS.bob.name, RRType.A), { edns: true }));
    // No ESP in this kernel: the CHILD_SA fails, oedns records a failure shunt for bob, and the
    // held answer, decided again under it, is withheld (require: never an answer whose SA failed).
    expect(reply.rcode).toBe(Rcode.ServFail);
    const failed = oedns.logs.lines.find((l) => l.msg === 'IKE failed; failure shunt in force');
    expect(failed).toMatchObject({ address: KEYS_LAB_HOSTS.bob.ipv4, reason: expect.stringMatching(/^IKE_SA established, CHILD_SA failed/) });

    // First alice's charon got the conn with bob's identity and the key from his IPSECKEY ...
    const loaded = oedns.logs.lines.filter((l) => l.msg === 'vici conn loaded' && l['remote'] === KEYS_LAB_HOSTS.bob.ipv4).map((l) => l['action']);
    expect(loaded).toEqual(['protect', 'block']);
    // ... and IKE ran before the answer: both ends established the IKE_SA with the DNS keys.
    expect(oedns.logs.lines.some((l) => /IKE_SA established/.test(JSON.stringify(l)))).toBe(true);
    expect(bobResults).toContainEqual(expect.objectContaining({ ok: true, reason: 'IKE_SA established' }));
    // Then the drop took the trap's place, and bob's key left alice's charon with it.
    expect(await alice.xfrmPolicies()).toMatch(/dst 192\.0\.2\.20\/32[\s\S]*?action block/);
    expect(await alice.swanctl('--list-certs')).not.toMatch(/bob\.keys\.test/);
  });

  it('the decision expires: the drop and its policies leave alice\'s charon', async () => {
    await expect.poll(() => oedns.oedns.ipsec!.list(), { timeout: (POLICY_SECONDS + 5) * 1000, interval: 100 }).toEqual([]);
    await expect.poll(() => alice.xfrmPolicies(), { timeout: 5_000, interval: 100 }).not.toMatch(/192\.0\.2\.20/);
    expect(await alice.swanctl('--list-conns')).not.toMatch(/oedns-any-192_0_2_20/);
  });
});
