import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectAppError, expectAppRejection } from '../../../test/support/unit.js';
import { BackendError, ConfigError } from '../../core/errors.js';
import { createRootLogger } from '../../core/log.js';
import type { PolicySpec } from '../backend.js';
import { ViciBackend, type IkeResult } from './vici-backend.js';
import { decodeViciPacket, encodeViciPacket, ViciFrameReader, ViciPacketType, type ViciPacket, type ViciTree } from './vici-codec.js';
import { viciText, viciTextList } from './vici-commands.js';
import { alignedBlocks, connConfig, connName, protoPortSuffixes, SHUNT_REMOTE_ID, specFromListed } from './vici-conn.js';
import { localKey } from './vici-local-key.js';
import { initiateFailureReason } from './vici-outcome.js';

const pem = (type: 'ed25519' | 'rsa') => {
  const { privateKey, publicKey } = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 1024 }) : generateKeyPairSync('ed25519');
  return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
};
const ALICE = pem('ed25519');
const BOB = pem('ed25519');
const LOCAL = { id: 'alice.lab.example', publicKeyPem: ALICE.publicPem };
const sig = (): AbortSignal => AbortSignal.timeout(5_000);

const protect = (remote: string, extra: Partial<PolicySpec> = {}): PolicySpec => ({
  family: remote.includes(':') ? 6 : 4, remote, selector: {}, action: { kind: 'protect', level: 'require', mode: 'transport' },
  peer: { identity: 'bob.lab.example.', publicKeyPem: BOB.publicPem }, ...extra,
});
const block: PolicySpec = { family: 4, remote: '192.0.2.3', selector: { protocol: 6, ports: [{ first: 25, last: 25 }] }, action: { kind: 'block' } };

type Command = { name: string; message: ViciTree };

/** A scripted charon: answers commands through `answer`, confirms registrations, records commands. */
class FakeCharon {
  readonly commands: Command[] = [];
  readonly sockets = new Set<Socket>();
  answer: (c: Command, stream: (event: string, m: ViciTree) => void) => ViciTree = () => ({ success: 'yes' });
  private constructor(private readonly server: Server) {}

  static start(path: string): Promise<FakeCharon> {
    const server = createServer();
    const fake = new FakeCharon(server);
    server.on('connection', (socket) => {
      fake.sockets.add(socket);
      socket.on('close', () => fake.sockets.delete(socket));
      socket.on('error', () => undefined);
      const frames = new ViciFrameReader();
      const send = (p: ViciPacket): void => void socket.write(encodeViciPacket(p));
      socket.on('data', (chunk: Buffer) => {
        for (const segment of frames.push(new Uint8Array(chunk))) fake.handle(decodeViciPacket(segment), send);
      });
    });
    return new Promise((resolve) => server.listen(path, () => resolve(fake)));
  }

  names(): string[] {
    return this.commands.map((c) => c.name);
  }

  emit(name: string, message: ViciTree): void {
    for (const s of this.sockets) s.write(encodeViciPacket({ type: ViciPacketType.Event, name, message }));
  }

  drop(): void {
    for (const s of this.sockets) s.destroy();
  }

  stop(): Promise<void> {
    this.drop();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(packet: ViciPacket, send: (p: ViciPacket) => void): void {
    if (packet.type === ViciPacketType.EventRegister || packet.type === ViciPacketType.EventUnregister) send({ type: ViciPacketType.EventConfirm });
    if (packet.type !== ViciPacketType.CmdRequest) return;
    const command = { name: packet.name, message: packet.message };
    this.commands.push(command);
    const response = this.answer(command, (name, message) => send({ type: ViciPacketType.Event, name, message }));
    send({ type: ViciPacketType.CmdResponse, message: response });
  }
}

describe('ViciBackend against a scripted charon', () => {
  let dir: string;
  let fake: FakeCharon;
  let backend: ViciBackend | undefined;
  let results: IkeResult[];
  let logs: Record<string, unknown>[];

  const make = (): ViciBackend => new ViciBackend({
    socketPath: join(dir, 'charon.vici'), identity: 'Alice.Lab.Example.', privateKeyPem: ALICE.privatePem,
    log: createRootLogger('debug', { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) }),
    onIkeResult: (r) => results.push(r), reconnectInitialDelayMs: 10, initiateTimeoutMs: 500,
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oedns-vici-backend-'));
    fake = await FakeCharon.start(join(dir, 'charon.vici'));
    results = [];
    logs = [];
    backend = make();
    await backend.start(sig());
  });
  afterEach(async () => {
    backend?.close();
    await fake.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('starts by loading the private key as PKCS#8 with its type', () => {
    expect(fake.names()).toEqual(['load-key']);
    expect(fake.commands[0]?.message['type']).toBe('ed25519');
    expect(viciText(fake.commands[0]?.message['data'])).toContain('BEGIN PRIVATE KEY');
  });

  it('loads a trap conn: identities without the root dot, the DNS key as PEM bytes in the pubkeys list', async () => {
    await backend!.apply([{ op: 'add', policy: protect('192.0.2.2') }], sig());
    const tree = fake.commands.at(-1)!.message['oedns-any-192_0_2_2-any-all'] as Record<string, ViciTree>;
    expect(tree['remote']).toMatchObject({ auth: 'pubkey', id: 'bob.lab.example' });
    expect(viciTextList(tree['remote']!['pubkeys'])).toEqual([BOB.publicPem]);
    expect(tree['local']).toMatchObject({ id: 'alice.lab.example' });
    expect(tree['children']).toEqual({ protect: { mode: 'transport', start_action: 'trap', local_ts: ['dynamic'], remote_ts: ['192.0.2.2/32'] } });
  });

  it('on removal: unload-conn, terminate, clear-creds, the key again, and the conns that still carry keys', async () => {
    await backend!.apply([{ op: 'add', policy: protect('192.0.2.2') }, { op: 'add', policy: protect('192.0.2.9') }, { op: 'add', policy: block }], sig());
    fake.commands.length = 0;
    await backend!.apply([{ op: 'remove', policy: protect('192.0.2.9') }], sig());
    expect(fake.names()).toEqual(['unload-conn', 'terminate', 'clear-creds', 'load-key', 'load-conn']);
    expect(fake.commands[1]?.message).toMatchObject({ ike: 'oedns-any-192_0_2_9-any-all', force: 'yes' });
    expect(Object.keys(fake.commands[4]!.message)).toEqual(['oedns-any-192_0_2_2-any-all']);
  });

  it('replacing a conn with another key clears the old key out of charon\'s credentials', async () => {
    await backend!.apply([{ op: 'add', policy: protect('192.0.2.2') }], sig());
    fake.commands.length = 0;
    await backend!.apply([{ op: 'add', policy: protect('192.0.2.2', { peer: { identity: 'bob.lab.example.', publicKeyPem: ALICE.publicPem } }) }], sig());
    expect(fake.names()).toEqual(['load-conn', 'clear-creds', 'load-key', 'load-conn']);
  });

  it('a conn charon refuses: BackendError naming load-conn and its errmsg; the change before stays, the credentials are refreshed', async () => {
    fake.answer = (c) => (c.name === 'load-conn' && 'oedns-any-192_0_2_5-any-all' in c.message ? { success: 'no', errmsg: 'invalid proposal' } : { success: 'yes' });
    await expectAppRejection(backend!.apply([{ op: 'add', policy: protect('192.0.2.2') }, { op: 'add', policy: protect('192.0.2.5') }], sig()),
      BackendError as never, /^vici: load-conn oedns-any-192_0_2_5-any-all failed: invalid proposal$/);
    // The refused conn, then its key (it may have entered charon's credential set) is cleared out.
    expect(fake.names().slice(-4)).toEqual(['load-conn', 'clear-creds', 'load-key', 'load-conn']);
    fake.answer = (c, stream) => {
      if (c.name === 'list-conns') stream('list-conn', { 'oedns-any-192_0_2_2-any-all': { children: { protect: { mode: 'TRANSPORT' } } } });
      return { success: 'yes' };
    };
    expect((await backend!.list(sig())).map((p) => p.handle)).toEqual(['oedns-any-192_0_2_2-any-all']);
  });

  it.each([
    ['an identity with a newline', protect('192.0.2.2', { peer: { identity: 'bob.example.\n%any', publicKeyPem: BOB.publicPem } }), /not a plain FQDN/],
    ['an all-numeric identity', protect('192.0.2.2', { peer: { identity: '192.0.2.7.', publicKeyPem: BOB.publicPem } }), /not a plain FQDN/],
    ['an address with a zone', protect('fe80::1%eth0'), /not an IPv6 address/],
    ['an address of the other family', { ...protect('192.0.2.2'), family: 6 as const }, /not an IPv6 address/],
    ['a proposal with a comma', protect('192.0.2.2', { proposals: { ike: ['aes128,x'], esp: [] } }), /proposal .* outside/],
    ['protect without a peer', { ...protect('192.0.2.2'), peer: undefined }, /needs the peer's identity and key/],
  ])('refuses %s before anything reaches charon', async (_, spec, pattern) => {
    await expectAppRejection(backend!.apply([{ op: 'add', policy: block }, { op: 'add', policy: spec }], sig()), BackendError as never, pattern);
    expect(fake.names()).toEqual(['load-key']);
  });

  it('initiates on the answer and reports a failed CHILD_SA through onIkeResult, not as an error', async () => {
    fake.answer = (c, stream) => {
      if (c.name !== 'initiate') return { success: 'yes' };
      for (const msg of ['IKE_SA oedns-any-192_0_2_2-any-all[1] established between 192.0.2.1[alice.lab.example]...192.0.2.2[bob.lab.example]',
        'received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built', 'failed to establish CHILD_SA, keeping IKE_SA']) stream('control-log', { level: '1', group: 'IKE', msg });
      return { success: 'no', errmsg: "establishing CHILD_SA 'protect' failed" };
    };
    await backend!.apply([{ op: 'add', policy: protect('192.0.2.2', { initiate: true }) }], sig());
    expect(fake.commands.at(-1)?.message).toMatchObject({ child: 'protect', ike: 'oedns-any-192_0_2_2-any-all', timeout: '500' });
    expect(results).toEqual([{ address: '192.0.2.2', ok: false, reason: 'IKE_SA established, CHILD_SA failed: received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built', spec: expect.objectContaining({ remote: '192.0.2.2' }) }]);
  });

  it('reports an IKE_SA of its own coming up and logs it; other conns are not reported', async () => {
    await backend!.apply([{ op: 'add', policy: protect('192.0.2.2') }], sig());
    fake.emit('ike-updown', { up: 'yes', 'oedns-any-192_0_2_2-any-all': { state: 'ESTABLISHED', 'remote-host': '192.0.2.2', 'remote-id': 'bob.lab.example' } });
    fake.emit('ike-updown', { up: 'yes', 'someone-else': { state: 'ESTABLISHED' } });
    for (let i = 0; i < 100 && !logs.some((l) => l['msg'] === 'IKE_SA up'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(results).toEqual([expect.objectContaining({ address: '192.0.2.2', ok: true, reason: 'IKE_SA established' })]);
    expect(logs.find((l) => l['msg'] === 'IKE_SA up')).toMatchObject({ conn: 'oedns-any-192_0_2_2-any-all', peer: 'bob.lab.example', up: true });
  });

  it('loads the key and every conn again after charon restarts', async () => {
    await backend!.apply([{ op: 'add', policy: protect('192.0.2.2') }, { op: 'add', policy: block }], sig());
    fake.commands.length = 0;
    fake.drop();
    for (let i = 0; i < 200 && fake.commands.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(fake.names()).toEqual(['load-key', 'load-conn', 'load-conn']);
  });
});

describe('ViciBackend configuration', () => {
  const log = createRootLogger('silent');
  it('refuses an identity that is not an FQDN and a key that is not a private key (ConfigError)', () => {
    expectAppError(() => new ViciBackend({ socketPath: '/nonexistent', identity: 'alice lab', privateKeyPem: ALICE.privatePem, log }), ConfigError as never, /not a plain FQDN/);
    expectAppError(() => new ViciBackend({ socketPath: '/nonexistent', identity: 'alice.lab', privateKeyPem: ALICE.publicPem, log }), ConfigError as never, /not a PEM private key/);
  });
});

describe('the IKE private key', () => {
  it.each([
    ['rsa', generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey],
    ['ecdsa', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey],
    ['ed25519', generateKeyPairSync('ed25519').privateKey],
  ])('loads %s keys as PKCS#8 with their VICI type', (type, key) => {
    const loaded = localKey(key.export({ type: type === 'rsa' ? 'pkcs1' : type === 'ecdsa' ? 'sec1' : 'pkcs8', format: 'pem' }).toString());
    expect(loaded.type).toBe(type);
    expect(loaded.pkcs8Pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(loaded.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });
});

describe('vici conn plans', () => {
  it('splits port ranges into blocks a value/mask selector covers exactly', () => {
    expect(alignedBlocks(1000, 1031)).toEqual([{ first: 1000, last: 1007 }, { first: 1008, last: 1023 }, { first: 1024, last: 1031 }]);
    expect(alignedBlocks(0, 65535)).toEqual([{ first: 0, last: 65535 }]);
    expect(alignedBlocks(443, 443)).toEqual([{ first: 443, last: 443 }]);
  });

  it('puts ICMP types in the port position, one selector per type', () => {
    expect(protoPortSuffixes({ protocol: 58, ports: [{ first: 133, last: 136 }] })).toEqual(['[58/133]', '[58/134]', '[58/135]', '[58/136]']);
    expect(protoPortSuffixes({ protocol: 6, ports: [{ first: 1000, last: 2000 }] })).toHaveLength(8);
    expect(protoPortSuffixes({})).toEqual(['']);
  });

  it('refuses selectors that would need too many traffic selectors', () => {
    const ports = Array.from({ length: 70 }, (_, i) => ({ first: 2 * i + 1, last: 2 * i + 1 }));
    expectAppError(() => protoPortSuffixes({ protocol: 17, ports }), BackendError as never, /more than 64/);
  });

  it('keeps shunt conns out of IKE peer selection with an identity nobody has a key for', () => {
    const config = connConfig(block, LOCAL);
    expect(config).toMatchObject({ remote: { id: SHUNT_REMOTE_ID }, children: { block: { mode: 'drop', startAction: 'trap', localTs: ['0.0.0.0/0[6]'], remoteTs: ['192.0.2.3/32[6/25]'] } } });
    expect(config.local).toBeUndefined();
  });

  it('sends tunnel mode to the gateway with the remote host as traffic selector, responders without a trap', () => {
    const tunnel = connConfig(protect('192.0.2.2', { action: { kind: 'protect', level: 'require', mode: 'tunnel', gateway: '198.51.100.1' } }), LOCAL);
    expect(tunnel).toMatchObject({ remoteAddrs: ['198.51.100.1'], children: { protect: { mode: 'tunnel', remoteTs: ['192.0.2.2/32'] } } });
    const responder = connConfig({ ...protect('2001:db8::2'), action: { kind: 'responder' } }, LOCAL);
    expect(responder.children['responder']).toMatchObject({ mode: 'transport', startAction: 'none' });
  });

  it('reads a listed conn back as the spec its name and child encode', () => {
    const spec: PolicySpec = { family: 6, local: '2001:db8::1', remote: '2001:db8::2', selector: { protocol: 6, ports: [{ first: 443, last: 443 }, { first: 1000, last: 2000 }] }, action: { kind: 'responder' }, peer: { identity: 'bob.lab.example.', publicKeyPem: BOB.publicPem } };
    const name = connName(spec);
    expect(name).toBe('oedns-2001:db8::1-2001:db8::2-6-443,1000:2000');
    const listed = specFromListed({ name, tree: { children: { responder: { mode: 'TRANSPORT' } }, 'remote-1': { id: 'bob.lab.example' } } }, () => BOB.publicPem);
    expect(listed).toEqual({ ...spec, backend: 'vici', handle: name });
    expect(specFromListed({ name: 'foreign', tree: {} }, () => undefined)).toBeUndefined();
  });
});

describe('initiate failure reasons', () => {
  const logs = (...msgs: string[]) => msgs.map((msg) => ({ level: 1, group: 'IKE', msg }));
  it('prefers the local authentication verdict over packet traces', () => {
    expect(initiateFailureReason(logs('initiating IKE_SA x[1] to 192.0.2.2', "no trusted RSA public key found for 'bob.lab.example'",
      'generating INFORMATIONAL request 2 [ N(AUTH_FAILED) ]'), 'failed')).toBe("IKE_SA failed: no trusted RSA public key found for 'bob.lab.example'");
  });
  it('falls back to charon\'s errmsg', () => {
    expect(initiateFailureReason([], "establishing CHILD_SA 'protect' failed")).toBe("IKE_SA failed: establishing CHILD_SA 'protect' failed");
  });
});
