/**
 * The vici backend against real charons (strongSwan 5.9.8), each in a network namespace of its
 * own (test/support/charon-lab.ts). Checked with charon's own tool (swanctl) and the kernel SPD.
 * The peers' keys take the path oedns' keys take: an IPSECKEY rdata made from the public key,
 * decoded and turned into SPKI PEM by src/records. This kernel has no ESP, so CHILD_SAs fail;
 * IKE_SAs come up. Needs root and the strongSwan packages; skipped otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ikeHostKey, type IkeHostKey } from '../../../test/support/ike-host-key.js';
import { charonAvailable, startCharonLab, type CharonLab, type CharonNode } from '../../../test/support/charon-lab.js';
import { expectAppRejection } from '../../../test/support/unit.js';
import { BackendError } from '../../core/errors.js';
import { createRootLogger } from '../../core/log.js';
import type { PolicySpec } from '../backend.js';
import { ViciBackend, type IkeResult } from './vici-backend.js';
import { ViciClient } from './vici-client.js';
import { viciListSas, viciLoadConn, viciText } from './vici-commands.js';

const signal = (): AbortSignal => AbortSignal.timeout(20_000);


interface Host {
  readonly backend: ViciBackend;
  readonly results: IkeResult[];
  readonly logs: Record<string, unknown>[];
}

function backendFor(node: CharonNode, key: IkeHostKey, initiateTimeoutMs = 3_000): Host {
  const results: IkeResult[] = [];
  const logs: Record<string, unknown>[] = [];
  const log = createRootLogger('debug', { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const backend = new ViciBackend({
    socketPath: node.socketPath, identity: key.name, privateKeyPem: key.privatePem, log, initiateTimeoutMs,
    onIkeResult: (r) => results.push(r), reconnectInitialDelayMs: 20,
  });
  return { backend, results, logs };
}

const protect = (remote: string, peer: IkeHostKey, extra: Partial<PolicySpec> = {}): PolicySpec => ({
  family: remote.includes(':') ? 6 : 4, remote, selector: {}, action: { kind: 'protect', level: 'require', mode: 'transport' },
  peer: { identity: peer.name, publicKeyPem: peer.dnsPem }, ...extra,
});
const responder = (remote: string, peer: IkeHostKey): PolicySpec => ({
  family: remote.includes(':') ? 6 : 4, remote, selector: {}, action: { kind: 'responder' }, peer: { identity: peer.name, publicKeyPem: peer.dnsPem },
});
const ND_BYPASS = (remote: string): PolicySpec => ({ family: 6, remote, selector: { protocol: 58, ports: [{ first: 133, last: 136 }] }, action: { kind: 'pass' } });

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Times the backend logged (load-conn, initiate), printed for the README; not asserted. */
function printTimes(label: string, logs: readonly Record<string, unknown>[]): void {
  const ms = (msg: string): unknown[] => logs.filter((l) => l['msg'] === msg).map((l) => l['ms']);
  process.stdout.write(`[vici timings ${label}] load-conn ms: ${ms('vici conn loaded').join(' ')}; initiate ms: ${ms('vici initiate').join(' ')}\n`);
}

const alice = ikeHostKey('alice.lab.example.', 'ed25519');
const bob = ikeHostKey('bob.lab.example.', 'rsa');
const carol = ikeHostKey('carol.lab.example.', 'ed25519');

describe.skipIf(!charonAvailable)('vici backend against one charon', () => {
  let lab: CharonLab;
  let node: CharonNode;
  let host: Host;
  let foreign: ViciClient;

  beforeAll(async () => {
    lab = await startCharonLab(1, 'vb');
    node = lab.nodes[0]!;
    host = backendFor(node, alice, 1_500);
    await host.backend.start(signal());
    // Someone else's conn, loaded before oedns': list() and removeAll() must leave it alone.
    foreign = new ViciClient({ socketPath: node.socketPath, reconnectInitialDelayMs: 20 });
    await foreign.connect(signal());
    await viciLoadConn(foreign, {
      name: 'foreign-conn', localAddrs: ['192.0.2.1'], remoteAddrs: ['192.0.2.9'], local: { id: 'alice.lab.example' }, remote: { id: 'other.lab.example' },
      children: { 'foreign-conn': { mode: 'transport', startAction: 'trap' } },
    }, signal());
  });

  afterAll(async () => {
    host?.backend.close();
    foreign?.close();
    await lab?.stop();
  });

  it('loads a trap conn with the key from DNS: swanctl lists it, the kernel has its policies, charon holds the key', async () => {
    await host.backend.apply([{ op: 'add', policy: protect('192.0.2.2', bob) }], signal());
    expect(await node.swanctl('--list-conns')).toMatch(/oedns-any-192_0_2_2-any-all: IKEv2[\s\S]*id: bob\.lab\.example[\s\S]*protect: TRANSPORT/);
    expect(await node.xfrmPolicies()).toMatch(/src 192\.0\.2\.1\/32 dst 192\.0\.2\.2\/32 \n\s+dir out priority \d+ ptype main \n\s+tmpl src 0\.0\.0\.0 dst 0\.0\.0\.0\n\s+proto esp reqid \d+ mode transport/);
    expect(await node.swanctl('--list-certs')).toContain('bob.lab.example');
  });

  it('installs block and pass as shunts, port ranges and ICMPv6 types exactly', async () => {
    await host.backend.apply([
      { op: 'add', policy: { family: 4, remote: '192.0.2.3', selector: { protocol: 6, ports: [{ first: 25, last: 25 }] }, action: { kind: 'block' } } },
      { op: 'add', policy: { family: 4, remote: '192.0.2.4', selector: { protocol: 17, ports: [{ first: 1000, last: 1031 }] }, action: { kind: 'pass' } } },
      { op: 'add', policy: ND_BYPASS('2001:db8::2') },
    ], signal());
    const policies = await node.xfrmPolicies();
    expect(policies).toMatch(/src 0\.0\.0\.0\/0 dst 192\.0\.2\.3\/32 proto tcp dport 25 \n\s+dir out action block/);
    // 1000-1031 is 1000-1007, 1008-1023, 1024-1031: three exact value/mask selectors.
    for (const port of [1000, 1008, 1024]) expect(policies).toMatch(new RegExp(`src 0\\.0\\.0\\.0/0 dst 192\\.0\\.2\\.4/32 proto udp dport ${port} \\n\\s+dir out priority`));
    for (const type of [133, 134, 135, 136]) {
      expect(policies).toContain(`src ::/0 dst 2001:db8::2/128 proto ipv6-icmp type ${type} \n\tdir out priority`);
      expect(policies).toContain(`src 2001:db8::2/128 dst ::/0 proto ipv6-icmp type ${type} \n\tdir in priority`);
    }
  });

  it('lists only oedns\' conns, as the specs they came from', async () => {
    const listed = await host.backend.list(signal());
    expect(listed.map((p) => p.handle).sort()).toEqual([
      'oedns-any-192_0_2_2-any-all', 'oedns-any-192_0_2_3-6-25', 'oedns-any-192_0_2_4-17-1000:1031', 'oedns-any-2001:db8::2-58-133:136',
    ]);
    expect(listed.find((p) => p.remote === '192.0.2.2')).toMatchObject({ backend: 'vici', action: { kind: 'protect' }, peer: { identity: 'bob.lab.example.', publicKeyPem: bob.dnsPem } });
  });

  it('throws BackendError naming load-conn and charon\'s errmsg, keeping the changes before it', async () => {
    const bad = protect('192.0.2.6', carol, { proposals: { ike: ['nonsense'], esp: [] } });
    await expectAppRejection(host.backend.apply([{ op: 'add', policy: protect('192.0.2.5', carol) }, { op: 'add', policy: bad }], signal()),
      BackendError as never, /vici: load-conn oedns-any-192_0_2_6-any-all failed: /);
    const conns = await node.swanctl('--list-conns');
    expect(conns).toContain('oedns-any-192_0_2_5-any-all');
    expect(conns).not.toContain('oedns-any-192_0_2_6-any-all');
  });

  it('refuses an identity outside the FQDN grammar before anything reaches charon', async () => {
    const evil = protect('192.0.2.7', { ...carol, name: 'x.example.\n%any' });
    await expectAppRejection(host.backend.apply([{ op: 'add', policy: evil }], signal()), BackendError as never, /not a plain FQDN/);
    expect(await node.swanctl('--list-conns')).not.toContain('192.0.2.7');
  });

  it('reports an initiate that finds no peer through onIkeResult; the trap stays', async () => {
    await host.backend.apply([{ op: 'add', policy: protect('192.0.2.8', carol, { initiate: true }) }], signal());
    expect(host.results.at(-1)).toMatchObject({ address: '192.0.2.8', ok: false, reason: expect.stringMatching(/^IKE_SA failed: /) });
    expect(await node.swanctl('--list-conns')).toContain('oedns-any-192_0_2_8-any-all');
  });

  it('on removal unloads the conn, its policies and (clear-creds) its key; other keys stay', async () => {
    await host.backend.apply([
      { op: 'remove', policy: protect('192.0.2.5', carol) }, { op: 'remove', policy: protect('192.0.2.8', carol) },
    ], signal());
    const conns = await node.swanctl('--list-conns');
    expect(conns).not.toContain('192.0.2.5');
    expect(conns).not.toContain('192.0.2.8');
    expect(await node.xfrmPolicies()).not.toContain('192.0.2.8');
    const certs = await node.swanctl('--list-certs');
    expect(certs).not.toContain('carol.lab.example');
    expect(certs).toContain('bob.lab.example');
  });

  it('loads the key and every conn again when charon restarts', async () => {
    await node.restart();
    await until('conns back', async () => (await node.swanctl('--list-conns')).includes('oedns-any-192_0_2_2-any-all'));
    await until('all conns back', async () => (await host.backend.list(signal())).length === 4);
    expect(await node.swanctl('--list-certs')).toContain('bob.lab.example');
    expect(await node.xfrmPolicies()).toContain('dst 192.0.2.3/32 proto tcp dport 25');
  });

  it('removeAll removes oedns\' conns and nothing else', async () => {
    await viciLoadConn(foreign, {
      name: 'foreign-conn', localAddrs: ['192.0.2.1'], remoteAddrs: ['192.0.2.9'], local: { id: 'alice.lab.example' }, remote: { id: 'other.lab.example' },
      children: { 'foreign-conn': { mode: 'transport', startAction: 'trap' } },
    }, signal()).catch(async () => {
      // The foreign client may still be reconnecting after the restart.
      await until('foreign client back', () => foreign.connected);
    });
    await until('foreign conn', async () => (await node.swanctl('--list-conns')).includes('foreign-conn'));
    await host.backend.removeAll(signal());
    const conns = await node.swanctl('--list-conns');
    expect(conns).toContain('foreign-conn');
    expect(conns).not.toContain('oedns-');
    expect(await host.backend.list(signal())).toEqual([]);
    const policies = await node.xfrmPolicies();
    expect(policies).toContain('dst 192.0.2.9/32');
    expect(policies).not.toMatch(/192\.0\.2\.[2-8]\/32|2001:db8::2/);
    expect(await node.swanctl('--list-certs')).not.toContain('bob.lab.example');
    printTimes('one charon', host.logs);
  });
});

describe.skipIf(!charonAvailable)('vici backend: two charons complete IKE with the keys from DNS', () => {
  let lab: CharonLab;
  let a: Host;
  let b: Host;
  let aNode: CharonNode;
  let bNode: CharonNode;

  beforeAll(async () => {
    lab = await startCharonLab(2, 'vp');
    [aNode, bNode] = lab.nodes as [CharonNode, CharonNode];
    a = backendFor(aNode, alice);
    b = backendFor(bNode, bob);
    await a.backend.start(signal());
    await b.backend.start(signal());
  });

  afterAll(async () => {
    a?.backend.close();
    b?.backend.close();
    await lab?.stop();
  });

  const ikeSas = async (node: CharonNode): Promise<string> => {
    const client = new ViciClient({ socketPath: node.socketPath });
    try {
      await client.connect(signal());
      return JSON.stringify(await viciListSas(client, { noblock: true }, signal()));
    } finally {
      client.close();
    }
  };

  it('IPv4: alice initiates on the answer, both IKE_SAs come up; the CHILD_SA failure (no ESP here) is reported', async () => {
    await b.backend.apply([{ op: 'add', policy: responder('192.0.2.1', alice) }], signal());
    await a.backend.apply([{ op: 'add', policy: protect('192.0.2.2', bob, { initiate: true }) }], signal());
    expect(a.results).toContainEqual(expect.objectContaining({ address: '192.0.2.2', ok: true, reason: 'IKE_SA established' }));
    expect(a.results.at(-1)).toMatchObject({ address: '192.0.2.2', ok: false, reason: expect.stringMatching(/^IKE_SA established, CHILD_SA failed: .*NO_PROPOSAL_CHOSEN/) });
    await until('bob sees the IKE_SA', () => b.results.some((r) => r.ok && r.address === '192.0.2.1'));
    expect(b.results.find((r) => r.ok)).toMatchObject({ reason: 'IKE_SA established', spec: { action: { kind: 'responder' } } });
    // Authenticated by the keys given: each side names the other's FQDN identity.
    expect(await ikeSas(aNode)).toMatch(/"oedns-any-192_0_2_2-any-all".*"state":"ESTABLISHED".*"remote-id":"bob\.lab\.example"/);
    expect(await ikeSas(bNode)).toMatch(/"oedns-any-192_0_2_1-any-all".*"state":"ESTABLISHED".*"remote-id":"alice\.lab\.example"/);
    expect(a.logs.some((l) => l['msg'] === 'IKE_SA up' && l['peer'] === 'bob.lab.example')).toBe(true);
  });

  it('IPv6 with the Neighbor Discovery bypass: IKE_SA up over IPv6', async () => {
    await b.backend.apply([{ op: 'add', policy: ND_BYPASS('2001:db8::1') }, { op: 'add', policy: responder('2001:db8::1', alice) }], signal());
    await a.backend.apply([{ op: 'add', policy: ND_BYPASS('2001:db8::2') }, { op: 'add', policy: protect('2001:db8::2', bob, { initiate: true }) }], signal());
    expect(a.results).toContainEqual(expect.objectContaining({ address: '2001:db8::2', ok: true, reason: 'IKE_SA established' }));
    expect(a.results.at(-1)).toMatchObject({ address: '2001:db8::2', ok: false, reason: expect.stringMatching(/CHILD_SA failed/) });
    await until('bob sees the IPv6 IKE_SA', () => b.results.some((r) => r.ok && r.address === '2001:db8::1'));
  });

  it('a key that is not bob\'s: IKE fails and is reported, nothing crashes', async () => {
    const impostor = ikeHostKey('bob.lab.example.', 'rsa');
    await a.backend.apply([
      { op: 'remove', policy: protect('192.0.2.2', bob) }, { op: 'add', policy: protect('192.0.2.2', impostor, { initiate: true }) },
    ], signal());
    expect(a.results.at(-1)).toMatchObject({ address: '192.0.2.2', ok: false, reason: expect.stringMatching(/^IKE_SA failed: .*(trusted|AUTHENTICATION|constraint check failed)/) });
    // Both charons still answer.
    expect((await a.backend.list(signal())).length).toBe(3);
    expect((await b.backend.list(signal())).length).toBe(3);
  });

  it('a shunt conn never takes an IKE peer: without a responder conn, bob selects no peer config', async () => {
    const watcher = new ViciClient({ socketPath: bNode.socketPath });
    const bobLog: string[] = [];
    try {
      await watcher.connect(signal());
      await watcher.subscribe('log', (m) => bobLog.push(String(viciText(m['msg']))), signal());
      const shunt: PolicySpec = { family: 4, remote: '192.0.2.1', selector: { protocol: 17, ports: [{ first: 9, last: 9 }] }, action: { kind: 'pass' } };
      await b.backend.apply([{ op: 'remove', policy: responder('192.0.2.1', alice) }, { op: 'add', policy: shunt }], signal());
      await a.backend.apply([
        { op: 'remove', policy: protect('192.0.2.2', bob) }, { op: 'add', policy: protect('192.0.2.2', bob, { initiate: true }) },
      ], signal());
      expect(a.results.at(-1)).toMatchObject({ address: '192.0.2.2', ok: false, reason: expect.stringMatching(/^IKE_SA failed: .*AUTHENTICATION_FAILED/) });
      await until('bob logs the IKE_AUTH', () => bobLog.some((l) => /peer config/.test(l)));
      expect(bobLog.join('\n')).toContain('no matching peer config found');
      expect(bobLog.join('\n')).not.toContain('selected peer config');
    } finally {
      watcher.close();
    }
    printTimes('alice', a.logs);
    printTimes('bob', b.logs);
  });
});
