/**
 * The VICI client against a real charon (strongSwan 5.9.8 on Debian 12), run in a network
 * namespace this test creates, with its own /run (charon's pid file path is compiled in) and its
 * own vici socket. Checked with charon's own tool (swanctl) and the kernel's SPD (ip xfrm).
 * Needs root and the strongSwan packages (scripts/test.sh installs them).
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAppRejection } from '../../../test/support/unit.js';
import { ViciClient } from './vici-client.js';
import { viciClearCreds, viciConnTree, viciInitiate, viciListConns, viciListSas, viciLoadConn, viciLoadKey, viciTerminate, viciText, viciTextList, viciUnloadConn, viciVersion, type ViciConnConfig } from './vici-commands.js';
import { ViciCommandError } from './vici-errors.js';

const CHARON = '/usr/lib/ipsec/charon';
const PLUGINS = 'random nonce openssl pem pkcs1 pkcs8 pubkey dnskey curve25519 sha1 sha2 hmac kdf aes gcm kernel-netlink socket-default vici';
const LOCAL = '192.0.2.1';
const REMOTE = '192.0.2.2';
const available = process.getuid?.() === 0 && existsSync(CHARON) && existsSync('/usr/sbin/swanctl');

interface CharonLab {
  readonly ns: string;
  readonly dir: string;
  readonly socketPath: string;
  child: ResultPromise;
  output(): string;
}

async function startCharon(): Promise<CharonLab> {
  const dir = await mkdtemp(join(tmpdir(), 'oedns-charon-'));
  const ns = `oedns-vici-${process.pid}`;
  const socketPath = join(dir, 'charon.vici');
  await mkdir(join(dir, 'run'));
  await writeFile(join(dir, 'strongswan.conf'), [
    'charon {',
    `  load = ${PLUGINS}`,
    '  install_routes = no',
    `  plugins { vici { socket = unix://${socketPath} } }`,
    '  filelog { stderr { path = /dev/stderr\n default = 1\n ike = 2\n time_format = %T } }',
    '  syslog { daemon { default = -1 } }',
    '}',
    '',
  ].join('\n'));
  await execa('ip', ['netns', 'add', ns]);
  try {
    await execa('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await execa('ip', ['-n', ns, 'addr', 'add', `${LOCAL}/24`, 'dev', 'lo']);
    let out = '';
    const lab: CharonLab = { ns, dir, socketPath, child: (await launchCharon(ns, dir, socketPath, (t) => (out += t))).child, output: () => out };
    return lab;
  } catch (error) {
    await execa('ip', ['netns', 'delete', ns], { reject: false });
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Starts charon in `ns` with `dir/run` on /run; resolves once its vici socket exists. The child
 * is wrapped: an async function returning execa's promise would wait for charon to exit.
 */
async function launchCharon(ns: string, dir: string, socketPath: string, log: (text: string) => void): Promise<{ readonly child: ResultPromise }> {
  await rm(socketPath, { force: true });
  // ip netns exec, unshare and sh all exec in place: the child's PID is charon's. The script is
  // fixed text; the paths reach it as positional parameters, never spliced into it.
  const child = execa('ip', ['netns', 'exec', ns, 'unshare', '-m', '--propagation', 'private', '--',
    'sh', '-c', 'mount --bind "$1" /run && exec "$2"', 'sh', join(dir, 'run'), CHARON], {
    env: { STRONGSWAN_CONF: join(dir, 'strongswan.conf') }, reject: false, buffer: false, forceKillAfterDelay: 5_000,
  });
  child.stderr?.on('data', (chunk: Buffer) => log(chunk.toString()));
  child.stdout?.on('data', (chunk: Buffer) => log(chunk.toString()));
  for (let i = 0; i < 100 && !existsSync(socketPath); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!existsSync(socketPath)) {
    await stopChild(child);
    throw new Error(`charon did not open ${socketPath}`);
  }
  return { child };
}

async function stopChild(child: ResultPromise): Promise<void> {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
  await child;
}

async function stopCharon(lab: CharonLab): Promise<void> {
  await stopChild(lab.child);
  await execa('ip', ['netns', 'delete', lab.ns], { reject: false });
  if (process.env['OEDNS_KEEP_LAB'] === '1') process.stderr.write(`charon lab kept in ${lab.dir}\n`);
  else await rm(lab.dir, { recursive: true, force: true });
}

function ed25519(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

async function swanctlConns(lab: CharonLab): Promise<string> {
  const { stdout } = await execa('swanctl', ['--list-conns', '--uri', `unix://${lab.socketPath}`], { timeout: 10_000 });
  return stdout;
}

async function xfrmPolicies(lab: CharonLab): Promise<string> {
  const { stdout } = await execa('ip', ['-n', lab.ns, 'xfrm', 'policy'], { timeout: 10_000 });
  return stdout;
}

describe.skipIf(!available)('vici against a real charon', () => {
  let lab: CharonLab;
  let client: ViciClient;
  const connectionChanges: string[] = [];
  const signal = (): AbortSignal => AbortSignal.timeout(10_000);
  const local = ed25519();
  const remote = ed25519();
  const conn: ViciConnConfig = {
    name: 'oedns-peer-b',
    version: 2,
    localAddrs: [LOCAL],
    remoteAddrs: [REMOTE],
    proposals: ['aes256gcm16-prfsha256-x25519'],
    local: { id: 'a.lab.example', pubkeysPem: [local.publicPem] },
    remote: { id: 'b.lab.example', pubkeysPem: [remote.publicPem] },
    children: { 'oedns-peer-b': { mode: 'transport', startAction: 'trap', espProposals: ['aes256gcm16'] } },
  };

  beforeAll(async () => {
    lab = await startCharon();
    client = new ViciClient({ socketPath: lab.socketPath, reconnectInitialDelayMs: 20, onConnectionChange: (s) => connectionChanges.push(s) });
    await client.connect(signal());
  });

  afterAll(async () => {
    client?.close();
    if (lab) await stopCharon(lab);
  });

  it('reads charon\'s version', async () => {
    const version = await viciVersion(client, signal());
    expect(version.daemon).toBe('charon');
    expect(version.version).toMatch(/^5\./);
  });

  it('loads an Ed25519 private key made by node:crypto', async () => {
    expect(await viciLoadKey(client, { type: 'ed25519', data: local.privatePem }, signal())).toMatch(/^[0-9a-f]{40}$/);
  });

  it('sends addresses, proposals and pubkeys as lists (the known trap)', () => {
    const tree = viciConnTree(conn)[conn.name];
    expect(tree).toMatchObject({ local_addrs: [LOCAL], remote_addrs: [REMOTE], proposals: ['aes256gcm16-prfsha256-x25519'] });
    expect(JSON.stringify(tree)).not.toContain('BEGIN PUBLIC KEY'); // PEM goes as bytes
  });

  it('loads a trap conn: it shows in list-conns, swanctl --list-conns and the kernel SPD', async () => {
    await viciLoadConn(client, conn, signal());
    const conns = await viciListConns(client, {}, signal());
    const listed = conns.find((c) => c.name === conn.name);
    expect(listed).toBeDefined();
    expect(viciTextList(listed?.tree['remote_addrs'])).toEqual([REMOTE]);
    expect(viciText(listed?.tree['version'])).toBe('IKEv2');
    expect(await swanctlConns(lab)).toContain(`${conn.name}: IKEv2`);
    const policies = await xfrmPolicies(lab);
    expect(policies).toContain(`src ${LOCAL}/32 dst ${REMOTE}/32`);
    expect(policies).toMatch(/dir out[\s\S]*tmpl[\s\S]*proto esp[\s\S]*mode transport/);
  });

  it('lists no SAs while only the trap is in place', async () => {
    expect(await viciListSas(client, { noblock: true }, signal())).toEqual([]);
  });

  it('initiate streams control-log and reports the failure with no peer there', async () => {
    const logs: string[] = [];
    const failure = viciInitiate(client, { child: conn.name, timeoutMs: 1500, loglevel: 1 }, signal(), (l) => logs.push(l.msg));
    await expectAppRejection(failure, ViciCommandError as never, /initiate failed/);
    expect(logs.join('\n')).toMatch(/initiating IKE_SA/);
    await viciTerminate(client, { ike: conn.name, force: true, timeoutMs: -1 }, signal()).catch(() => undefined);
  });

  it('unload-conn removes the conn and its trap policies', async () => {
    await viciUnloadConn(client, conn.name, signal());
    expect((await viciListConns(client, {}, signal())).map((c) => c.name)).not.toContain(conn.name);
    expect(await swanctlConns(lab)).not.toContain(conn.name);
    expect(await xfrmPolicies(lab)).not.toContain(REMOTE);
  });

  it('rejects unloading an unknown conn with ViciCommandError', async () => {
    await expectAppRejection(viciUnloadConn(client, 'no-such-conn', signal()), ViciCommandError as never, /unload-conn failed/);
  });

  it('clear-creds succeeds', async () => {
    await viciClearCreds(client, signal());
  });

  it('reconnects after charon restarts and gets its log events again', async () => {
    const logs: string[] = [];
    await client.subscribe('log', (m) => logs.push(viciText(m['msg']) ?? ''), signal());
    await stopChild(lab.child);
    await new Promise((r) => setTimeout(r, 100));
    lab.child = (await launchCharon(lab.ns, lab.dir, lab.socketPath, () => undefined)).child;
    expect((await viciVersion(client, signal())).daemon).toBe('charon');
    expect(connectionChanges).toEqual(['connected', 'disconnected', 'connected']);
    await viciLoadKey(client, { type: 'ed25519', data: local.privatePem }, signal());
    await viciLoadConn(client, conn, signal());
    for (let i = 0; i < 100 && !logs.some((l) => l.includes(conn.name)); i++) await new Promise((r) => setTimeout(r, 20));
    expect(logs.join('\n')).toContain(conn.name);
    await viciUnloadConn(client, conn.name, signal());
  });
});
