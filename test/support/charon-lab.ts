/**
 * strongSwan's charon in network namespaces the test creates, for the vici backend's tests.
 * Each charon gets its own namespace, its own /run (the pid file path is compiled in, so it runs
 * under `unshare -m` with a directory bind-mounted on /run), its own vici socket and config
 * (STRONGSWAN_CONF, an explicit plugin list, one IKE retransmit after 1 s so a failed attempt
 * ends in about 3 s). Two charons are joined by a veth pair, IPv4 and IPv6. Everything is
 * stopped by PID and the namespaces deleted. Needs root.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { removeLabDir } from './lab-process.js';

export const CHARON_PATH = '/usr/lib/ipsec/charon';
export const SWANCTL_PATH = '/usr/sbin/swanctl';
/** ipsec-lab-facts.md: a plugin list that works (kdf included, or IKE fails "key derivation failed"). */
const PLUGINS = 'random nonce openssl pem pkcs1 pkcs8 pubkey dnskey curve25519 sha1 sha2 hmac kdf aes gcm kernel-netlink socket-default vici';

export const charonAvailable = process.getuid?.() === 0 && existsSync(CHARON_PATH) && existsSync(SWANCTL_PATH);

export interface CharonNode {
  readonly ns: string;
  readonly dir: string;
  readonly socketPath: string;
  readonly address4: string;
  readonly address6: string;
  /** `swanctl <args> --uri unix://<socket>`. */
  swanctl(...args: string[]): Promise<string>;
  /** `ip -n NS xfrm policy`. */
  xfrmPolicies(): Promise<string>;
  /** SIGKILLs charon (a crash) and starts a new one on the same socket. */
  restart(): Promise<void>;
  stopCharon(): Promise<void>;
}

interface Node extends CharonNode {
  child: ResultPromise | undefined;
}

async function configure(dir: string, socketPath: string): Promise<void> {
  await mkdir(join(dir, 'run'));
  await writeFile(join(dir, 'strongswan.conf'), [
    'charon {',
    `  load = ${PLUGINS}`,
    '  install_routes = no',
    '  retransmit_tries = 2',
    '  retransmit_timeout = 1',
    `  plugins { vici { socket = unix://${socketPath} } }`,
    // Tests read charon's log over VICI (the `log` event); nothing goes to syslog.
    '  syslog { daemon { default = -1 } }',
    '}',
    '',
  ].join('\n'));
}

/**
 * Starts charon in `ns` with `dir/run` on /run; resolves once its vici socket exists.
 * `ip netns exec`, unshare and sh all exec in place, so the child's PID is charon's. The script is
 * fixed text; the paths reach it as positional parameters.
 */
async function launch(node: Node): Promise<void> {
  await rm(node.socketPath, { force: true });
  const child = execa('ip', ['netns', 'exec', node.ns, 'unshare', '-m', '--propagation', 'private', '--',
    'sh', '-c', 'mount --bind "$1" /run && exec "$2"', 'sh', join(node.dir, 'run'), CHARON_PATH], {
    env: { STRONGSWAN_CONF: join(node.dir, 'strongswan.conf') }, reject: false, stdio: 'ignore', forceKillAfterDelay: 5_000,
  });
  for (let i = 0; i < 200 && !existsSync(node.socketPath); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  node.child = child;
  if (!existsSync(node.socketPath)) {
    await stop(node, 'SIGTERM');
    throw new Error(`charon in ${node.ns} did not open ${node.socketPath}`);
  }
}

async function stop(node: Node, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const child = node.child;
  node.child = undefined;
  if (!child) return;
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, signal);
  await child;
}

async function makeNode(ns: string, address4: string, address6: string): Promise<Node> {
  const dir = await mkdtemp(join(tmpdir(), 'oedns-charon-'));
  const socketPath = join(dir, 'charon.vici');
  await configure(dir, socketPath);
  const node: Node = {
    ns, dir, socketPath, address4, address6, child: undefined,
    swanctl: async (...args) => (await execa(SWANCTL_PATH, [...args, '--uri', `unix://${socketPath}`], { timeout: 10_000, reject: false, all: true })).all ?? '',
    xfrmPolicies: async () => (await execa('ip', ['-n', ns, 'xfrm', 'policy'], { timeout: 10_000 })).stdout,
    restart: async () => {
      await stop(node, 'SIGKILL');
      await launch(node);
    },
    stopCharon: () => stop(node, 'SIGTERM'),
  };
  return node;
}

export interface CharonLab {
  readonly nodes: readonly CharonNode[];
  stop(): Promise<void>;
}

/** The host part of each node's addresses: 192.0.2.H/24 and 2001:db8::H/64. */
const DEFAULT_HOSTS = [1, 2] as const;

/**
 * `count` charons (1 or 2), each in a namespace of its own; with two, a veth joins them:
 * 192.0.2.1/24 + 2001:db8::1/64 (the first) and 192.0.2.2/24 + 2001:db8::2/64 (the second),
 * or the host numbers given in `hosts` (e.g. [10, 20] for the keys lab's alice and bob).
 */
export async function startCharonLab(count: 1 | 2, tag: string, hosts: readonly [number, number] = DEFAULT_HOSTS): Promise<CharonLab> {
  const nodes: Node[] = [];
  const namespaces: string[] = [];
  const stopAll = async (): Promise<void> => {
    for (const node of nodes) await stop(node, 'SIGTERM');
    for (const ns of namespaces) await execa('ip', ['netns', 'delete', ns], { reject: false });
    for (const node of nodes) await removeLabDir(node.dir, `charon lab ${node.ns}`);
  };
  try {
    for (let i = 0; i < count; i++) {
      const ns = `oedns-${tag}${i}-${process.pid}`;
      await execa('ip', ['netns', 'add', ns]);
      namespaces.push(ns);
      await execa('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      nodes.push(await makeNode(ns, `192.0.2.${hosts[i]}`, `2001:db8::${hosts[i]}`));
    }
    if (count === 1) {
      // One charon: its addresses sit on a veth whose other end nobody uses (this kernel has no
      // dummy links), so routes to 192.0.2.0/24 exist and nothing answers there.
      const ns = namespaces[0]!;
      await execa('ip', ['-n', ns, 'link', 'add', 'lab0', 'type', 'veth', 'peer', 'name', 'lab1']);
      await execa('ip', ['-n', ns, 'link', 'set', 'lab0', 'up']);
      await execa('ip', ['-n', ns, 'link', 'set', 'lab1', 'up']);
      await execa('ip', ['-n', ns, 'addr', 'add', `192.0.2.${hosts[0]}/24`, 'dev', 'lab0']);
      await execa('ip', ['-n', ns, 'addr', 'add', `2001:db8::${hosts[0]}/64`, 'dev', 'lab0', 'nodad']);
    } else {
      const [a, b] = namespaces as [string, string];
      await execa('ip', ['-n', a, 'link', 'add', 'lab0', 'type', 'veth', 'peer', 'name', 'lab1', 'netns', b]);
      for (const [ns, dev, i] of [[a, 'lab0', hosts[0]], [b, 'lab1', hosts[1]]] as const) {
        await execa('ip', ['-n', ns, 'addr', 'add', `192.0.2.${i}/24`, 'dev', dev]);
        await execa('ip', ['-n', ns, 'addr', 'add', `2001:db8::${i}/64`, 'dev', dev, 'nodad']);
        await execa('ip', ['-n', ns, 'link', 'set', dev, 'up']);
      }
    }
    for (const node of nodes) await launch(node);
  } catch (error) {
    await stopAll();
    throw error;
  }
  return { nodes, stop: stopAll };
}
