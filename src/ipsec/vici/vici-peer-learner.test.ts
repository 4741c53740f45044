import { describe, expect, it } from 'vitest';
import { createRootLogger } from '../../core/log.js';
import { peerRefusedAuth, viciLogFact, viciLogLine, type ViciLogFact } from './vici-log.js';
import { PeerLearner, type IkePeer } from './vici-peer-learner.js';

/** A log event as charon sends it (vici plugin README, "log"). */
const event = (msg: string, ikeName?: string, ikeId = 7) => ({
  group: 'IKE', level: '1', thread: '12', ...(ikeName === undefined ? {} : { 'ikesa-name': ikeName, 'ikesa-uniqueid': String(ikeId) }), msg,
});
const fact = (msg: string, ikeName = 'oedns-responder', ikeId = 7): ViciLogFact | undefined => {
  const line = viciLogLine(event(msg, ikeName, ikeId));
  return line && viciLogFact(line);
};

describe('charon log lines', () => {
  it('reads the identities and addresses of an IKE_AUTH', () => {
    expect(fact('looking for peer configs matching 192.0.2.20[bob.lab.example]...192.0.2.10[alice.lab.example]')).toEqual({
      kind: 'peer-identity', ikeId: 7, localAddress: '192.0.2.20', remoteAddress: '192.0.2.10', remoteId: 'alice.lab.example',
    });
    expect(fact('looking for peer configs matching 2001:db8::20[%any]...2001:db8::10[alice.lab.example]')).toMatchObject({
      remoteAddress: '2001:db8::10', remoteId: 'alice.lab.example',
    });
  });

  it('reads a refusal for want of a key, and a peer refusing this host', () => {
    expect(fact("no trusted ED25519 public key found for 'alice.lab.example'")).toEqual({
      kind: 'no-trusted-key', ikeId: 7, ikeName: 'oedns-responder', identity: 'alice.lab.example',
    });
    expect(fact('received AUTHENTICATION_FAILED notify error', 'oedns-any-192_0_2_20-any-all')).toEqual({
      kind: 'peer-refused-auth', ikeId: 7, ikeName: 'oedns-any-192_0_2_20-any-all',
    });
    expect(peerRefusedAuth(['parsed IKE_AUTH response 1 [ N(AUTH_FAILED) ]', 'received AUTHENTICATION_FAILED notify error'])).toBe(true);
    expect(peerRefusedAuth(['received NO_PROPOSAL_CHOSEN notify error'])).toBe(false);
  });

  it('ignores other lines, lines bound to no IKE_SA, and addresses that are not addresses', () => {
    expect(fact('selected peer config \'oedns-responder\'')).toBeUndefined();
    expect(viciLogFact(viciLogLine(event("no trusted RSA public key found for 'x.example'"))!)).toBeUndefined();
    expect(fact('looking for peer configs matching host[bob]...$(reboot)[alice.lab.example]')).toBeUndefined();
    expect(viciLogLine({ group: 'IKE' })).toBeUndefined();
  });
});

interface Harness {
  learner: PeerLearner;
  calls: IkePeer[];
  release: () => void;
  setNow: (ms: number) => void;
}

function harness(options: { maxInFlight?: number; maxPerWindow?: number } = {}): Harness {
  let now = 1_000;
  const calls: IkePeer[] = [];
  const pending: (() => void)[] = [];
  const learner = new PeerLearner({
    learn: (peer) => {
      calls.push(peer);
      return new Promise((resolve) => pending.push(() => resolve('learnt')));
    },
    log: createRootLogger('silent'), responderConn: 'oedns-responder', nowMs: () => now, ...options,
  });
  return { learner, calls, release: () => pending.splice(0).forEach((r) => r()), setNow: (ms) => (now = ms) };
}

/** The two lines charon writes for a peer it has no key for. */
function refuse(learner: PeerLearner, identity: string, address: string, ikeId: number, conn = 'oedns-responder'): void {
  learner.observe(fact(`looking for peer configs matching 192.0.2.20[bob.lab.example]...${address}[${identity}]`, conn, ikeId)!);
  learner.observe(fact(`no trusted ED25519 public key found for '${identity}'`, conn, ikeId)!);
}

describe('PeerLearner', () => {
  it('looks up a refused peer once per cool-down, and counts it as being learnt meanwhile', async () => {
    const h = harness();
    refuse(h.learner, 'alice.lab.example', '192.0.2.10', 1);
    refuse(h.learner, 'alice.lab.example', '192.0.2.10', 2);
    expect(h.calls).toEqual([{ identity: 'alice.lab.example', address: '192.0.2.10' }]);
    expect(h.learner.isLearning('alice.lab.example.')).toBe(true);
    h.release();
    await new Promise((r) => setTimeout(r, 0));
    expect(h.learner.isLearning('alice.lab.example')).toBe(true);
    h.setNow(1_000 + 5_001);
    expect(h.learner.isLearning('alice.lab.example')).toBe(false);
    h.setNow(1_000 + 10_001);
    refuse(h.learner, 'alice.lab.example', '192.0.2.10', 3);
    expect(h.calls).toHaveLength(2);
  });

  it('acts only on refusals under the responder conn, for the identity the peer presented, if it is a plain FQDN', () => {
    const h = harness();
    refuse(h.learner, 'alice.lab.example', '192.0.2.10', 1, 'oedns-any-192_0_2_10-any-all');
    h.learner.observe(fact("no trusted ED25519 public key found for 'mallory.lab.example'", 'oedns-responder', 9)!);
    refuse(h.learner, 'C=CH, O=x', '192.0.2.10', 2);
    refuse(h.learner, 'a..b', '192.0.2.10', 3);
    h.learner.observe(fact('looking for peer configs matching 192.0.2.20[bob.lab.example]...192.0.2.10[alice.lab.example]', 'oedns-responder', 4)!);
    h.learner.observe(fact("no trusted ED25519 public key found for 'bob.lab.example'", 'oedns-responder', 4)!);
    expect(h.calls).toEqual([]);
  });

  it('bounds the lookups in flight and per window, and counts what it dropped', () => {
    const h = harness({ maxInFlight: 2, maxPerWindow: 3 });
    for (let i = 1; i <= 5; i++) refuse(h.learner, `host${i}.lab.example`, '192.0.2.10', i);
    expect(h.calls.map((c) => c.identity)).toEqual(['host1.lab.example', 'host2.lab.example']);
    expect(h.learner.droppedCount).toBe(3);
  });
});
