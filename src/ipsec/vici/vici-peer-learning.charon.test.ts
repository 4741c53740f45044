/**
 * The responder side against real charons (strongSwan 5.9.8, test/support/charon-lab.ts): bob
 * was never told alice's key. Alice's first IKE_AUTH is refused ("no trusted … key found for
 * 'alice…'"), bob's backend hands alice's name and address to its learnPeer (here: it loads what
 * oedns' pipeline would, a responder conn with the key from alice's IPSECKEY), and alice's
 * backend tries again, once for an initiate and once for a trap-triggered negotiation. This
 * kernel has no ESP, so the CHILD_SA fails; the IKE_SA authenticated with the DNS keys is what
 * is checked. Needs root and the strongSwan packages; skipped otherwise.
 */
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ikeHostKey, type IkeHostKey } from '../../../test/support/ike-host-key.js';
import { charonAvailable, startCharonLab, type CharonLab, type CharonNode } from '../../../test/support/charon-lab.js';
import { createRootLogger } from '../../core/log.js';
import type { PolicySpec } from '../backend.js';
import { ViciBackend, type IkeResult } from './vici-backend.js';
import type { IkePeer } from './vici-peer-learner.js';

const signal = (): AbortSignal => AbortSignal.timeout(20_000);


const alice = ikeHostKey('alice.lab.example.');
const bob = ikeHostKey('bob.lab.example.');

const protect = (remote: string, peer: IkeHostKey, initiate: boolean): PolicySpec => ({
  family: remote.includes(':') ? 6 : 4, remote, selector: {}, action: { kind: 'protect', level: 'require', mode: 'transport' },
  peer: { identity: peer.name, publicKeyPem: peer.dnsPem }, initiate,
});
const responder = (remote: string, peer: IkeHostKey): PolicySpec => ({
  family: remote.includes(':') ? 6 : 4, remote, selector: {}, action: { kind: 'responder' }, peer: { identity: peer.name, publicKeyPem: peer.dnsPem },
});
const ndBypass = (remote: string): PolicySpec => ({ family: 6, remote, selector: { protocol: 58, ports: [{ first: 133, last: 136 }] }, action: { kind: 'pass' } });

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let lab: CharonLab;
let aliceNode: CharonNode;
let bobNode: CharonNode;
let aliceSide: ViciBackend;
let bobSide: ViciBackend;
const aliceResults: IkeResult[] = [];
const aliceLogs: Record<string, unknown>[] = [];
const learnt: IkePeer[] = [];

describe.skipIf(!charonAvailable)('an unknown IKE peer is learnt (vici backend, two charons)', () => {
  beforeAll(async () => {
    lab = await startCharonLab(2, 'learn', [10, 20]);
    [aliceNode, bobNode] = lab.nodes as [CharonNode, CharonNode];
    aliceSide = new ViciBackend({
      socketPath: aliceNode.socketPath, identity: alice.name, privateKeyPem: alice.privatePem, initiateTimeoutMs: 3_000,
      log: createRootLogger('debug', { write: (line: string) => void aliceLogs.push(JSON.parse(line) as Record<string, unknown>) }),
      onIkeResult: (r) => aliceResults.push(r),
    });
    bobSide = new ViciBackend({
      socketPath: bobNode.socketPath, identity: bob.name, privateKeyPem: bob.privatePem, log: createRootLogger('warn'),
      // What oedns' pipeline does for a secure IPSECKEY under a clear-or-private rule: a responder conn with the key.
      learnPeer: async (peer, s) => {
        learnt.push(peer);
        if (peer.identity !== 'alice.lab.example') return 'not in this test\'s DNS';
        await bobSide.apply([{ op: 'add', policy: responder(peer.address, alice) }], s);
        return 'learnt';
      },
    });
    await aliceSide.start(signal());
    await bobSide.start(signal());
  }, 60_000);

  afterAll(async () => {
    aliceSide?.close();
    bobSide?.close();
    await lab?.stop();
  });

  it('bob loads a standing %any responder conn', async () => {
    expect(await bobNode.swanctl('--list-conns')).toMatch(/oedns-responder: IKEv2/);
  });

  it('an initiate refused by bob is tried again once bob has looked alice up', async () => {
    await aliceSide.apply([{ op: 'add', policy: protect(bobNode.address4, bob, true) }], signal());
    expect(learnt).toContainEqual({ identity: 'alice.lab.example', address: aliceNode.address4 });
    const result = aliceResults.at(-1);
    // IKE_AUTH went through on a later attempt: the CHILD_SA is what this kernel refuses (no ESP).
    expect(result?.reason).toMatch(/^IKE_SA established, CHILD_SA failed/);
    const initiate = aliceLogs.filter((l) => l['msg'] === 'vici initiate').at(-1);
    expect(initiate?.['attempts']).toBeGreaterThan(1);
    expect(aliceLogs.some((l) => l['msg'] === 'vici: peer refused our authentication; trying again')).toBe(true);
    const sas = await bobNode.swanctl('--list-sas');
    expect(sas).toMatch(/ESTABLISHED.*local\s+'bob\.lab\.example'.*remote\s+'alice\.lab\.example'/s);
    process.stdout.write(`[learn timings] initiate with learning: ${String(initiate?.['ms'])} ms over ${String(initiate?.['attempts'])} attempts\n`);
  });

  it('a trap-triggered negotiation refused by bob is taken over by an initiate', async () => {
    // bob forgets alice (removing a keyed conn clears charon's credentials); the IPv6 address is new to the learner's cool-down.
    await bobSide.apply([{ op: 'remove', policy: responder(aliceNode.address4, alice) }], signal());
    expect(await bobNode.swanctl('--list-certs', '--type', 'pubkey')).not.toMatch(/alice/);
    await aliceSide.removeAll(signal());
    aliceResults.length = 0;
    await bobSide.apply([{ op: 'add', policy: ndBypass(aliceNode.address6) }], signal());
    await aliceSide.apply([{ op: 'add', policy: ndBypass(bobNode.address6) }, { op: 'add', policy: protect(bobNode.address6, bob, false) }], signal());
    // One packet hits the trap: charon negotiates on the ACQUIRE.
    await execa('ip', ['netns', 'exec', aliceNode.ns, 'ping', '-6', '-c1', '-W1', bobNode.address6], { reject: false });
    await until('alice\'s initiate after the refused trap', () => aliceResults.length > 0);
    expect(learnt).toContainEqual({ identity: 'alice.lab.example', address: bobNode.address6.replace(/::20$/, '::10') });
    expect(aliceLogs.some((l) => l['msg'] === 'vici: peer refused our authentication on a trap; initiating')).toBe(true);
    expect(aliceResults.at(-1)?.reason).toMatch(/^IKE_SA established, CHILD_SA failed|CHILD_SA established/);
  }, 30_000);
});
