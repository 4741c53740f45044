/**
 * Typed VICI commands (README "Client-initiated commands"). Known traps (issue 6): addresses,
 * proposals, traffic selectors and `pubkeys` go as lists, never key/values, or charon discards
 * the config; `pubkeys` carries PEM bytes, not a path; list-conns answers with dashes where
 * load-conn takes underscores; `unload-conn` leaves SAs a trap brought up (`terminate` ends them).
 */
import { isViciTree, type ViciNode, type ViciTree } from './vici-codec.js';
import type { ViciClient } from './vici-client.js';
import { ViciCommandError } from './vici-errors.js';

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** A value as text, whatever the decoder made of it; undefined for lists, sections and absent keys. */
export function viciText(node: ViciNode | undefined): string | undefined {
  if (typeof node === 'string') return node;
  if (node instanceof Uint8Array) return text.decode(node);
  return undefined;
}

/** A list's items as text; undefined when `node` is not a list. */
export function viciTextList(node: ViciNode | undefined): string[] | undefined {
  if (!Array.isArray(node)) return undefined;
  return (node as readonly (string | Uint8Array)[]).map((v) => (typeof v === 'string' ? v : text.decode(v)));
}

/** README: commands that can fail answer `success = <yes or no>` and `errmsg`. */
function checked(command: string, response: ViciTree): ViciTree {
  if (viciText(response['success']) === 'no') throw new ViciCommandError(command, viciText(response['errmsg']) ?? 'no errmsg');
  return response;
}

export interface ViciVersion {
  readonly daemon: string;
  readonly version: string;
  readonly sysname: string;
  readonly release: string;
  readonly machine: string;
}

export async function viciVersion(client: ViciClient, signal: AbortSignal): Promise<ViciVersion> {
  const r = await client.request('version', {}, signal);
  const field = (key: string): string => viciText(r[key]) ?? '';
  return { daemon: field('daemon'), version: field('version'), sysname: field('sysname'), release: field('release'), machine: field('machine') };
}

export type ViciKeyType = 'rsa' | 'ecdsa' | 'ed25519' | 'ed448' | 'any';

/** Loads the local private key (PKCS#8 PEM or DER); returns charon's hex SHA-1 key id. */
export async function viciLoadKey(client: ViciClient, key: { readonly type: ViciKeyType; readonly data: string | Uint8Array }, signal: AbortSignal): Promise<string> {
  const data = typeof key.data === 'string' ? utf8.encode(key.data) : key.data;
  const r = checked('load-key', await client.request('load-key', { type: key.type, data }, signal));
  return viciText(r['id']) ?? '';
}

/** Drops every credential loaded over VICI (private keys too: load them again afterwards). */
export async function viciClearCreds(client: ViciClient, signal: AbortSignal): Promise<void> {
  checked('clear-creds', await client.request('clear-creds', {}, signal));
}

/** One authentication round (swanctl.conf `local`/`remote`), public key authentication. */
export interface ViciPubkeyAuth {
  /** IKE identity; an FQDN without trailing dot (`alice.lab.example`) is taken as type FQDN. */
  readonly id: string;
  /** SubjectPublicKeyInfo PEM texts, sent as bytes in the `pubkeys` list. */
  readonly pubkeysPem?: readonly string[];
}

export interface ViciChildConfig {
  readonly mode: 'transport' | 'tunnel' | 'pass' | 'drop';
  readonly startAction?: 'none' | 'trap' | 'start';
  readonly espProposals?: readonly string[];
  readonly localTs?: readonly string[];
  readonly remoteTs?: readonly string[];
}

export interface ViciConnConfig {
  readonly name: string;
  readonly version?: 1 | 2;
  readonly localAddrs: readonly string[];
  readonly remoteAddrs: readonly string[];
  /** IKE proposals; absent: charon's defaults. */
  readonly proposals?: readonly string[];
  /** Absent for shunt-only conns (children with mode pass or drop). */
  readonly local?: ViciPubkeyAuth | undefined;
  readonly remote?: ViciPubkeyAuth | undefined;
  readonly children: Readonly<Record<string, ViciChildConfig>>;
}

function authTree(auth: ViciPubkeyAuth): ViciTree {
  return { auth: 'pubkey', id: auth.id, pubkeys: auth.pubkeysPem?.map((pem) => utf8.encode(pem)) };
}

/** The load-conn message for a conn (swanctl.conf(5) names, underscores). */
export function viciConnTree(conn: ViciConnConfig): ViciTree {
  const children: Record<string, ViciTree> = {};
  for (const [name, child] of Object.entries(conn.children)) {
    children[name] = {
      mode: child.mode,
      start_action: child.startAction,
      esp_proposals: child.espProposals,
      local_ts: child.localTs,
      remote_ts: child.remoteTs,
    };
  }
  return {
    [conn.name]: {
      version: String(conn.version ?? 2),
      local_addrs: conn.localAddrs,
      remote_addrs: conn.remoteAddrs,
      proposals: conn.proposals,
      local: conn.local && authTree(conn.local),
      remote: conn.remote && authTree(conn.remote),
      children,
    },
  };
}

export async function viciLoadConn(client: ViciClient, conn: ViciConnConfig, signal: AbortSignal): Promise<void> {
  checked('load-conn', await client.request('load-conn', viciConnTree(conn), signal));
}

export async function viciUnloadConn(client: ViciClient, name: string, signal: AbortSignal): Promise<void> {
  checked('unload-conn', await client.request('unload-conn', { name }, signal));
}

/** A control-log event of initiate/terminate. */
export interface ViciControlLog {
  readonly level: number;
  readonly group: string;
  readonly msg: string;
  readonly ikeSaName?: string | undefined;
}

function controlLog(message: ViciTree): ViciControlLog {
  return {
    level: Number(viciText(message['level']) ?? 0),
    group: viciText(message['group']) ?? '',
    msg: viciText(message['msg']) ?? '',
    ikeSaName: viciText(message['ikesa-name']),
  };
}

export interface ViciInitiateRequest {
  readonly child: string;
  readonly ike?: string;
  /** charon's own wait: 0 waits until done, -1 returns at once. Bound it with `signal` as well. */
  readonly timeoutMs: number;
  readonly loglevel?: number;
}

/** Initiates a CHILD_SA; returns the streamed control-log. A failure throws ViciCommandError with the log as cause. */
export async function viciInitiate(
  client: ViciClient, req: ViciInitiateRequest, signal: AbortSignal, onLog?: (log: ViciControlLog) => void,
): Promise<readonly ViciControlLog[]> {
  return controlled(client, 'initiate', {
    child: req.child, ike: req.ike, timeout: String(req.timeoutMs), loglevel: req.loglevel === undefined ? undefined : String(req.loglevel),
  }, signal, onLog);
}

export interface ViciTerminateRequest {
  readonly ike?: string;
  readonly child?: string;
  readonly ikeId?: number;
  readonly childId?: number;
  readonly force?: boolean;
  readonly timeoutMs: number;
}

export async function viciTerminate(
  client: ViciClient, req: ViciTerminateRequest, signal: AbortSignal, onLog?: (log: ViciControlLog) => void,
): Promise<readonly ViciControlLog[]> {
  return controlled(client, 'terminate', {
    ike: req.ike, child: req.child,
    'ike-id': req.ikeId === undefined ? undefined : String(req.ikeId),
    'child-id': req.childId === undefined ? undefined : String(req.childId),
    force: req.force ? 'yes' : undefined,
    timeout: String(req.timeoutMs),
  }, signal, onLog);
}

async function controlled(
  client: ViciClient, command: string, message: ViciTree, signal: AbortSignal, onLog?: (log: ViciControlLog) => void,
): Promise<readonly ViciControlLog[]> {
  const logs: ViciControlLog[] = [];
  const response = await client.requestStreamed(command, message, 'control-log', (event) => {
    const entry = controlLog(event);
    logs.push(entry);
    onLog?.(entry);
  }, signal);
  if (viciText(response['success']) === 'no') {
    throw new ViciCommandError(command, viciText(response['errmsg']) ?? 'no errmsg', { cause: logs.map((l) => l.msg) });
  }
  return logs;
}

/** A named entry of a streamed listing: `{ <name> = { ... } }` per event. */
export interface ViciNamed {
  readonly name: string;
  readonly tree: ViciTree;
}

function named(events: readonly ViciTree[]): ViciNamed[] {
  const out: ViciNamed[] = [];
  for (const event of events) {
    for (const [name, node] of Object.entries(event)) if (isViciTree(node)) out.push({ name, tree: node });
  }
  return out;
}

/** Loaded conns (streamed list-conn events). Keys come back with dashes: `local-ts`, `remote-ts`. */
export async function viciListConns(client: ViciClient, filter: { readonly ike?: string }, signal: AbortSignal): Promise<ViciNamed[]> {
  const events: ViciTree[] = [];
  await client.requestStreamed('list-conns', { ike: filter.ike }, 'list-conn', (e) => events.push(e), signal);
  return named(events);
}

/** Active IKE_SAs with their CHILD_SAs (streamed list-sa events). */
export async function viciListSas(
  client: ViciClient, filter: { readonly ike?: string; readonly child?: string; readonly noblock?: boolean }, signal: AbortSignal,
): Promise<ViciNamed[]> {
  const events: ViciTree[] = [];
  const message: ViciTree = { ike: filter.ike, child: filter.child, noblock: filter.noblock ? 'yes' : undefined };
  await client.requestStreamed('list-sas', message, 'list-sa', (e) => events.push(e), signal);
  return named(events);
}

/** A credential charon holds (streamed list-cert events); `data` is DER (SPKI for raw public keys). */
export interface ViciCert {
  readonly type: string;
  readonly subject: string | undefined;
  readonly data: Uint8Array;
}

/** Certificates and raw public keys in charon's credential sets, e.g. `{ type: 'PUBKEY' }`. */
export async function viciListCerts(client: ViciClient, filter: { readonly type?: string; readonly subject?: string }, signal: AbortSignal): Promise<ViciCert[]> {
  const certs: ViciCert[] = [];
  await client.requestStreamed('list-certs', { type: filter.type, subject: filter.subject }, 'list-cert', (e) => {
    const data = e['data'];
    certs.push({ type: viciText(e['type']) ?? '', subject: viciText(e['subject']), data: data instanceof Uint8Array ? data : utf8.encode(viciText(data) ?? '') });
  }, signal);
  return certs;
}
