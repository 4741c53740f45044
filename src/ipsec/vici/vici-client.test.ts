import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectAppRejection } from '../../../test/support/unit.js';
import { decodeViciPacket, encodeViciPacket, ViciFrameReader, ViciPacketType, type ViciPacket, type ViciTree } from './vici-codec.js';
import { ViciClient } from './vici-client.js';
import { viciListConns, viciLoadConn, viciUnloadConn, viciVersion } from './vici-commands.js';
import { ViciCommandError, ViciConnectionError } from './vici-errors.js';
import { viciEventStream } from './vici-events.js';

type Reply = (packet: ViciPacket) => void;
type Handler = (packet: ViciPacket, reply: Reply, socket: Socket) => void;

/** A scripted charon on a UNIX socket: records what it gets, answers through `handler`. */
class FakeCharon {
  readonly received: ViciPacket[] = [];
  readonly sockets = new Set<Socket>();
  connections = 0;
  private constructor(private readonly server: Server) {}

  static start(path: string, handler: Handler): Promise<FakeCharon> {
    const server = createServer();
    const fake = new FakeCharon(server);
    server.on('connection', (socket) => {
      fake.sockets.add(socket);
      fake.connections += 1;
      socket.on('close', () => fake.sockets.delete(socket));
      socket.on('error', () => undefined);
      const frames = new ViciFrameReader();
      socket.on('data', (chunk: Buffer) => {
        for (const segment of frames.push(new Uint8Array(chunk))) {
          const packet = decodeViciPacket(segment);
          fake.received.push(packet);
          handler(packet, (p) => socket.write(encodeViciPacket(p)), socket);
        }
      });
    });
    return new Promise((resolve) => server.listen(path, () => resolve(fake)));
  }

  emit(name: string, message: ViciTree): void {
    for (const s of this.sockets) s.write(encodeViciPacket({ type: ViciPacketType.Event, name, message }));
  }

  stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Answers like charon: version, success for every other command, confirms every registration. */
const charonLike: Handler = (packet, reply) => {
  if (packet.type === ViciPacketType.EventRegister || packet.type === ViciPacketType.EventUnregister) reply({ type: ViciPacketType.EventConfirm });
  else if (packet.type === ViciPacketType.CmdRequest && packet.name === 'version') reply({ type: ViciPacketType.CmdResponse, message: { daemon: 'charon', version: '5.9.8' } });
  else if (packet.type === ViciPacketType.CmdRequest) reply({ type: ViciPacketType.CmdResponse, message: { success: 'yes' } });
};

const sig = (): AbortSignal => AbortSignal.timeout(5_000);
const until = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
};
const names = (packets: readonly ViciPacket[]): string[] => packets.map((p) => ('name' in p ? `${p.type}:${p.name}` : `${p.type}`));

describe('ViciClient', () => {
  let dir: string;
  let path: string;
  let fake: FakeCharon | undefined;
  let client: ViciClient | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oedns-vici-'));
    path = join(dir, 'charon.vici');
  });
  afterEach(async () => {
    client?.close();
    await fake?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const connect = async (handler: Handler, options: Partial<ConstructorParameters<typeof ViciClient>[0]> = {}): Promise<ViciClient> => {
    fake = await FakeCharon.start(path, handler);
    client = new ViciClient({ socketPath: path, reconnectInitialDelayMs: 10, reconnectMaxDelayMs: 50, ...options });
    await client.connect(sig());
    return client;
  };

  it('sends a command and decodes the response', async () => {
    const c = await connect(charonLike);
    expect(await viciVersion(c, sig())).toMatchObject({ daemon: 'charon', version: '5.9.8' });
  });

  it('keeps one command in flight and answers each caller with its own response', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const c = await connect((packet, reply) => {
      if (packet.type !== ViciPacketType.CmdRequest) return;
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      setTimeout(() => {
        inFlight -= 1;
        reply({ type: ViciPacketType.CmdResponse, message: { echo: packet.name } });
      }, 15);
    });
    const answers = await Promise.all(['a', 'b', 'c', 'd'].map((n) => c.request(n, {}, sig())));
    expect(answers.map((a) => a['echo'])).toEqual(['a', 'b', 'c', 'd']);
    expect(maxInFlight).toBe(1);
  });

  it('throws ViciCommandError for CMD_UNKNOWN and for success = no', async () => {
    const c = await connect((packet, reply) => {
      if (packet.type !== ViciPacketType.CmdRequest) return;
      if (packet.name === 'unload-conn') reply({ type: ViciPacketType.CmdResponse, message: { success: 'no', errmsg: "configuration 'x' not found" } });
      else reply({ type: ViciPacketType.CmdUnknown });
    });
    await expectAppRejection(c.request('bogus', {}, sig()), ViciCommandError as never, /bogus failed: unknown command/);
    await expectAppRejection(viciUnloadConn(c, 'x', sig()), ViciCommandError as never, /configuration 'x' not found/);
  });

  it('sends addresses, proposals, selectors and pubkeys (PEM bytes) as lists', async () => {
    const c = await connect(charonLike);
    await viciLoadConn(c, {
      name: 'peer', localAddrs: ['192.0.2.1'], remoteAddrs: ['192.0.2.2'], proposals: ['aes256gcm16-prfsha256-x25519'],
      local: { id: 'a.example' }, remote: { id: 'b.example', pubkeysPem: ['-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n'] },
      children: { peer: { mode: 'transport', startAction: 'trap', localTs: ['dynamic'], remoteTs: ['dynamic[tcp]'] } },
    }, sig());
    const sent = fake?.received.at(-1);
    expect(sent).toMatchObject({ type: ViciPacketType.CmdRequest, name: 'load-conn' });
    expect(sent && 'message' in sent ? sent.message : undefined).toEqual({
      peer: {
        version: '2', local_addrs: ['192.0.2.1'], remote_addrs: ['192.0.2.2'], proposals: ['aes256gcm16-prfsha256-x25519'],
        local: { auth: 'pubkey', id: 'a.example' },
        remote: { auth: 'pubkey', id: 'b.example', pubkeys: ['-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n'] },
        children: { peer: { mode: 'transport', start_action: 'trap', local_ts: ['dynamic'], remote_ts: ['dynamic[tcp]'] } },
      },
    });
  });

  it('delivers events to subscribers, also while a command is in flight', async () => {
    const c = await connect((packet, reply) => {
      if (packet.type === ViciPacketType.CmdRequest) {
        fake?.emit('ike-updown', { up: 'yes', peer: { state: 'ESTABLISHED' } });
        setTimeout(() => reply({ type: ViciPacketType.CmdResponse, message: { done: 'yes' } }), 5);
      } else charonLike(packet, reply, undefined as never);
    });
    const seen: ViciTree[] = [];
    const unsubscribe = await c.subscribe('ike-updown', (m) => seen.push(m), sig());
    expect(await c.request('stats', {}, sig())).toEqual({ done: 'yes' });
    expect(seen).toEqual([{ up: 'yes', peer: { state: 'ESTABLISHED' } }]);
    await unsubscribe(sig());
    expect(names(fake?.received ?? [])).toEqual(['3:ike-updown', '0:stats', '4:ike-updown']);
  });

  it('rejects a registration charon does not know with ViciCommandError', async () => {
    const c = await connect((packet, reply) => {
      if (packet.type === ViciPacketType.EventRegister) reply({ type: ViciPacketType.EventUnknown });
    });
    await expectAppRejection(c.subscribe('nope', () => undefined, sig()), ViciCommandError as never, /register nope failed/);
  });

  it('streams list-conn events until the response, registering only for the command', async () => {
    const c = await connect((packet, reply) => {
      if (packet.type === ViciPacketType.CmdRequest && packet.name === 'list-conns') {
        fake?.emit('list-conn', { one: { version: 'IKEv2' } });
        fake?.emit('list-conn', { two: { 'remote-ts': ['dynamic'] } });
        reply({ type: ViciPacketType.CmdResponse, message: {} });
      } else charonLike(packet, reply, undefined as never);
    });
    const conns = await viciListConns(c, {}, sig());
    expect(conns).toEqual([{ name: 'one', tree: { version: 'IKEv2' } }, { name: 'two', tree: { 'remote-ts': ['dynamic'] } }]);
    expect(names(fake?.received ?? [])).toEqual(['3:list-conn', '0:list-conns', '4:list-conn']);
  });

  it('offers events as an async stream that deregisters when the consumer stops', async () => {
    const c = await connect(charonLike);
    const stream = await viciEventStream(c, ['child-updown', 'log'], sig());
    fake?.emit('log', { msg: 'one' });
    fake?.emit('child-updown', { up: 'yes' });
    const first = await stream.next();
    const second = await stream.next();
    expect([first.value, second.value]).toEqual([{ name: 'log', message: { msg: 'one' } }, { name: 'child-updown', message: { up: 'yes' } }]);
    await stream.return?.();
    expect(names(fake?.received ?? [])).toEqual(['3:child-updown', '3:log', '4:child-updown', '4:log']);
  });

  it('reconnects when charon restarts, registers events again, then runs what was queued', async () => {
    const changes: string[] = [];
    const c = await connect(charonLike, { onConnectionChange: (s) => changes.push(s) });
    const seen: ViciTree[] = [];
    await c.subscribe('ike-updown', (m) => seen.push(m), sig());
    await fake?.stop();
    await until(() => !c.connected);
    const queued = viciVersion(c, sig());
    fake = await FakeCharon.start(path, charonLike);
    expect((await queued).daemon).toBe('charon');
    expect(names(fake.received)).toEqual(['3:ike-updown', '0:version']);
    fake.emit('ike-updown', { up: 'yes' });
    await until(() => seen.length === 1);
    expect(changes).toEqual(['connected', 'disconnected', 'connected']);
  });

  it('fails the command in flight with ViciConnectionError when charon goes away', async () => {
    const c = await connect((packet, _reply, socket) => {
      if (packet.type === ViciPacketType.CmdRequest) socket.destroy();
    });
    await expectAppRejection(c.request('initiate', {}, sig()), ViciConnectionError, /closed with a command in flight/);
  });

  it('drops an aborted queued command without sending it', async () => {
    const c = await connect((packet, reply) => {
      if (packet.type === ViciPacketType.CmdRequest) setTimeout(() => reply({ type: ViciPacketType.CmdResponse, message: {} }), 30);
    });
    const controller = new AbortController();
    const first = c.request('first', {}, sig());
    const second = c.request('second', {}, controller.signal);
    controller.abort(new Error('not needed'));
    await expect(second).rejects.toThrow('not needed');
    await first;
    expect(names(fake?.received ?? [])).toEqual(['0:first']);
  });

  it('starts a fresh connection when a command in flight is aborted, so its late answer is not misread', async () => {
    const c = await connect((packet, reply) => {
      if (packet.type !== ViciPacketType.CmdRequest) return;
      if (packet.name === 'slow') setTimeout(() => reply({ type: ViciPacketType.CmdResponse, message: { who: 'slow' } }), 100);
      else reply({ type: ViciPacketType.CmdResponse, message: { who: packet.name } });
    });
    await expect(c.request('slow', {}, AbortSignal.timeout(20))).rejects.toThrow();
    expect(await c.request('fast', {}, sig())).toEqual({ who: 'fast' });
    expect(fake?.connections).toBe(2);
    await new Promise((r) => setTimeout(r, 120)); // the slow answer was written to the old socket only
    expect(await c.request('fast', {}, sig())).toEqual({ who: 'fast' });
  });

  it('resets the connection on a malformed packet and on an unsolicited answer', async () => {
    let sent = 0;
    const c = await connect((packet, reply, socket) => {
      if (packet.type !== ViciPacketType.CmdRequest) return;
      sent += 1;
      if (sent === 1) socket.write(Uint8Array.of(0, 0, 0, 2, 1, 9)); // CMD_RESPONSE with element type 9
      else reply({ type: ViciPacketType.CmdResponse, message: { ok: 'yes' } });
    });
    await expectAppRejection(c.request('x', {}, sig()), ViciConnectionError);
    expect(await c.request('y', {}, sig())).toEqual({ ok: 'yes' });
    expect(fake?.connections).toBe(2);
    fake?.sockets.forEach((s) => s.write(encodeViciPacket({ type: ViciPacketType.EventConfirm })));
    await until(() => fake?.connections === 3);
    expect(await c.request('z', {}, sig())).toEqual({ ok: 'yes' });
  });

  it('throws ViciConnectionError when no charon listens, and after close()', async () => {
    const lonely = new ViciClient({ socketPath: join(dir, 'absent.vici') });
    await expectAppRejection(lonely.connect(sig()), ViciConnectionError, /cannot connect/);
    const c = await connect(() => undefined);
    const pending = c.request('never-answered', {}, sig());
    await until(() => (fake?.received.length ?? 0) === 1);
    c.close();
    await expectAppRejection(pending, ViciConnectionError, /closed/);
    await expectAppRejection(c.request('late', {}, sig()), ViciConnectionError, /closed/);
  });
});
