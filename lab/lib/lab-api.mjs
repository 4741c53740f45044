/**
 * What lab/test.mjs drives the lab with: the lab's env file, commands run in a node's namespace
 * (argument arrays, never a shell), dig/ping/swanctl/oedns status parsed into values, packet
 * captures read back with tcpdump, and bounded polls. Plain Node ESM, no build step.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const LAB_DIR = process.env.LAB_DIR ?? '/tmp/oedns-lab';
/** lab.sh runs us with LAB_SH set (its own path: a copy of the repo may hold another build). */
export const LAB_SH = process.env.LAB_SH ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'lab.sh');
/** One command's upper bound; every wait below has its own, shorter one. */
const COMMAND_TIMEOUT_MS = 60_000;

/** LAB_DIR/env (written by lab.sh: KEY=VALUE lines, values quoted with printf %q). */
export function readEnv() {
  const file = join(LAB_DIR, 'env');
  if (!existsSync(file)) throw new Error(`no lab in ${LAB_DIR} (lab/lab.sh up)`);
  const env = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2] === "''" ? '' : m[2].replace(/\\(.)/g, '$1');
  }
  return env;
}

export const env = readEnv();
export const nodeDir = (node) => join(LAB_DIR, node);
export const addr = (node, family) => env[`${node.toUpperCase()}_IPV${family}`];

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs a command (never throws for its exit status); `.all` is stdout and stderr interleaved. */
export function run(cmd, args, options = {}) {
  return execa(cmd, args.map(String), { reject: false, all: true, timeout: COMMAND_TIMEOUT_MS, ...options });
}

/** CMD in NODE's network namespace (alice and bob resolve through their own oedns there). */
export function inNode(node, cmd, args, options = {}) {
  return run('ip', ['netns', 'exec', env[`${node.toUpperCase()}_NS`], cmd, ...args], options);
}

/** lab/lab.sh SUBCOMMAND...; throws when it fails. */
export async function lab(...args) {
  const r = await run(LAB_SH, args, { timeout: 120_000 });
  if (r.exitCode !== 0) throw new Error(`lab.sh ${args.join(' ')} failed (${r.exitCode}): ${lastLines(r.all, 5)}`);
  return r.stdout;
}

/** A policy file for alice: NAME under `require` (as the lab's own rule) with the given extra settings. */
export function requirePolicy(name, extra = {}) {
  return ['version: 1', 'rules:', `  - description: lab override for ${name}`, `    domains: [${name}]`,
    '    action: require', '    dnssec: secure', '    keys: [ipseckey]', '    timeout-ms: 3000', '    shunt-lifetime: 60',
    ...Object.entries(extra).map(([k, v]) => `    ${k}: ${v}`), ''].join('\n');
}

/**
 * Restarts the oedns of NODES (SIGTERM: their conns go, caches empty), then flushes the SAs left in
 * alice and bob: after a failed negotiation the kernel keeps a larval SA that blocks the peer for
 * minutes; oedns has terminated its SAs by now, so nothing else goes with it.
 */
export async function restartOedns(nodes) {
  await Promise.all(nodes.map((node) => lab('oedns-restart', node)));
  for (const node of ['alice', 'bob']) await inNode(node, 'ip', ['xfrm', 'state', 'flush']);
}

export const lastLines = (text, n) => (text ?? '').trim().split('\n').slice(-n).join(' | ');

/**
 * Polls `fn` every `intervalMs` until it returns something truthy, which it returns; throws after
 * `timeoutMs` with `what` and the last value seen.
 */
export async function poll(what, fn, { timeoutMs = 10_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() >= deadline) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
    await sleep(intervalMs);
  }
}

// --- DNS --------------------------------------------------------------------------------------

/** dig from NODE through its resolv.conf (its own oedns): rcode, flags, answer records, EDE. */
export async function dig(node, name, type = 'A', ...extra) {
  const r = await inNode(node, 'dig', ['+time=6', '+tries=1', ...extra, name, type]);
  const status = /status: ([A-Z]+)/.exec(r.stdout)?.[1] ?? `no answer (exit ${r.exitCode})`;
  const flags = (/;; flags: ([^;]*);/.exec(r.stdout)?.[1] ?? '').trim().split(/\s+/);
  const answers = r.stdout.split('\n').filter((l) => l && !l.startsWith(';'))
    .map((l) => l.split(/\s+/)).filter((f) => f[3] === type).map((f) => f.slice(4).join(' '));
  const ede = /; EDE: (.*)/.exec(r.stdout)?.[1];
  return { status, ad: flags.includes('ad'), answers, ede };
}

/** SHA-1 key ids strongSwan prints for an Ed25519 key: keyid (of the SPKI) and subjkey (of the key). */
export function ed25519KeyIds(ipseckeyRdata) {
  const raw = Buffer.from(ipseckeyRdata.trim().split(/\s+/).at(-1), 'base64');
  // RFC 8410 §4: an Ed25519 SubjectPublicKeyInfo is this 12-byte header and the 32-byte key.
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]);
  const sha1 = (b) => createHash('sha1').update(b).digest('hex').match(/../g).join(':');
  return { keyid: sha1(spki), subjkey: sha1(raw) };
}

// --- traffic ------------------------------------------------------------------------------------

/** ping from NODE: how many sent and received, and which sequence numbers came back. */
export async function ping(node, target, { family = 4, count = 3, intervalS = 0.2, waitS = 1 } = {}) {
  const r = await inNode(node, 'ping', [`-${family}`, '-n', '-c', count, '-i', intervalS, '-W', waitS, target]);
  return pingStats(r.all);
}

export function pingStats(text) {
  const m = /(\d+) packets transmitted, (\d+) received/.exec(text ?? '');
  const seqs = [...(text ?? '').matchAll(/icmp_seq=(\d+)/g)].map((x) => Number(x[1]));
  return { sent: m ? Number(m[1]) : 0, received: m ? Number(m[2]) : 0, seqs, error: m ? undefined : lastLines(text, 2) };
}

/** An echo server on NODE's TCP PORT (IPv4 and IPv6); stop() ends it by its PID. */
export async function echoServer(node, port) {
  const child = inNode(node, 'socat', [`TCP6-LISTEN:${port},fork,reuseaddr,ipv6only=0`, 'EXEC:cat'], { timeout: 0 });
  await poll(`echo server on ${node}:${port}`, async () => (await inNode(node, 'ss', ['-Htln', `sport = :${port}`])).stdout.trim() !== '');
  return { stop: async () => { child.kill('SIGTERM'); await child; } };
}

/** Sends a line to HOST:PORT over TCP from NODE and returns what came back ('' when nothing did). */
export async function tcpExchange(node, host, port, family, line) {
  const r = await inNode(node, 'socat', ['-T3', '-', `TCP${family}:${host}:${port},connect-timeout=3`], { input: `${line}\n` });
  return r.stdout.trim();
}

/** tcpdump on NODE's eth0 into LAB_DIR/pcap/NAME.pcap, until stop(); read() classifies every packet. */
export async function capture(node, name) {
  const file = join(LAB_DIR, 'pcap', `${name}.pcap`);
  await run('mkdir', ['-p', dirname(file)]);
  // -Z root: Debian's tcpdump would otherwise drop to its own user and fail to write the file.
  const child = inNode(node, 'tcpdump', ['-i', 'eth0', '-n', '-U', '--immediate-mode', '-Z', 'root', '-w', file], { timeout: 0 });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  await poll(`tcpdump on ${node}`, () => stderr.includes('listening on') || child.exitCode !== null);
  if (child.exitCode !== null) throw new Error(`tcpdump on ${node} exited: ${stderr.trim()}`);
  let packets;
  return {
    file,
    /** Ends the capture (once) and returns its packets, classified. */
    async stop() {
      if (!packets) {
        // tcpdump writes each packet as it comes (-U, --immediate-mode); inside UML it may still
        // be catching up with the last ones: wait until the file stops growing (bounded).
        let size = -1;
        await poll(`capture ${name} settled`, () => {
          const now = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
          const settled = now === size;
          size = now;
          return settled;
        }, { timeoutMs: 3_000, intervalMs: 300 }).catch(() => undefined);
        child.kill('SIGINT');
        await child;
        const r = await run('tcpdump', ['-r', file, '-n', '-tt']);
        packets = r.stdout.split('\n').filter(Boolean).map(classify);
      }
      return packets;
    },
  };
}

/** host[.port] as tcpdump prints it → [address, port]. */
function endpoint(text) {
  if (isIP(text)) return [text, undefined];
  const at = text.lastIndexOf('.');
  return isIP(text.slice(0, at)) ? [text.slice(0, at), Number(text.slice(at + 1))] : [text, undefined];
}

const ND = /ICMP6, (router solicitation|router advertisement|neighbor solicitation|neighbor advertisement)/;
const IKE_PORTS = new Set([500, 4500]);

/** One `tcpdump -r -n -tt` line → { ts, src, dst, sport, dport, kind }. */
export function classify(line) {
  const m = /^(\d+\.\d+) (IP6?|ARP) (\S+) > (\S+?):? (.*)$/.exec(line);
  if (!m) return { kind: 'other', line };
  const [, ts, proto, from, to, rest] = m;
  if (proto === 'ARP') return { ts: Number(ts), kind: 'arp', line };
  const [src, sport] = endpoint(from);
  const [dst, dport] = endpoint(to);
  let kind = 'other';
  if (rest.startsWith('ESP(')) kind = 'esp';
  else if (ND.test(rest)) kind = 'nd';
  else if (/^ICMP6?[ ,]/.test(rest)) kind = 'icmp';
  else if (IKE_PORTS.has(sport) || IKE_PORTS.has(dport)) kind = 'ike';
  else if (rest.startsWith('Flags [')) kind = 'tcp';
  else if (sport !== undefined) kind = 'udp';
  return { ts: Number(ts), src, dst, sport, dport, kind, line };
}

/** Packets between two hosts (either direction, either family), by kind. */
export function between(packets, a, b) {
  const ends = (p) => (a.includes(p.src) && b.includes(p.dst)) || (b.includes(p.src) && a.includes(p.dst));
  const selected = packets.filter((p) => p.src && ends(p));
  const count = (kind, from) => selected.filter((p) => p.kind === kind && (!from || from.includes(p.src))).length;
  return { packets: selected, count };
}

// --- charon and oedns -------------------------------------------------------------------------

export async function swanctl(node, ...args) {
  const r = await run('swanctl', [...args, '--uri', `unix://${join(nodeDir(node), 'charon.vici')}`]);
  return r.all ?? '';
}

/** `swanctl --list-sas`: [{ conn, state, localId, remoteId }] of IKE_SAs. */
export async function ikeSas(node) {
  const text = await swanctl(node, '--list-sas');
  const sas = [];
  for (const block of text.split(/\n(?=\S)/)) {
    const head = /^(\S+): #\d+, (\w+), IKEv2/.exec(block);
    if (!head) continue;
    sas.push({
      conn: head[1], state: head[2],
      localId: /local\s+'([^']*)'/.exec(block)?.[1], remoteId: /remote\s+'([^']*)'/.exec(block)?.[1],
      children: [...block.matchAll(/^\s+(\S+): #\d+, reqid \d+, (\w+), (\w+)/gm)].map((c) => ({ name: c[1], state: c[2], mode: c[3] })),
    });
  }
  return sas;
}

/** `swanctl --list-conns`: conn names, in order, duplicates kept. */
export async function connNames(node) {
  return [...(await swanctl(node, '--list-conns')).matchAll(/^(\S+): IKEv/gm)].map((m) => m[1]);
}

/** `swanctl --list-certs --type pubkey`: [{ subject, keyid, subjkey }]. */
export async function trustedKeys(node) {
  const text = await swanctl(node, '--list-certs', '--type', 'pubkey');
  return text.split(/\n\s*\n/).map((b) => ({
    subject: /subject:\s+"([^"]*)"/.exec(b)?.[1], keyid: /keyid:\s+(\S+)/.exec(b)?.[1],
    subjkey: /subjkey:\s+(\S+)/.exec(b)?.[1], private: b.includes('has private key'),
  })).filter((k) => k.subject);
}

/** `ip xfrm policy` in NODE as [{ selector, dir, action, tmpl }], socket policies left out. */
export async function xfrmPolicies(node) {
  const text = (await inNode(node, 'ip', ['xfrm', 'policy'])).stdout;
  return text.split(/\n(?=src )/).filter(Boolean).map((block) => {
    const lines = block.split('\n').map((l) => l.trim());
    return {
      selector: lines[0], dir: /^(?:dir|socket) (\w+)/.exec(lines[1] ?? '')?.[1], socket: (lines[1] ?? '').startsWith('socket'),
      action: /action (\w+)/.exec(lines[1] ?? '')?.[1] ?? 'allow', tmpl: lines.slice(2).join(' '),
    };
  }).filter((p) => !p.socket);
}

export async function xfrmStates(node) {
  return (await inNode(node, 'ip', ['xfrm', 'state'])).stdout;
}

/** oedns status --json of NODE (throws when it does not answer). */
export async function oednsStatus(node) {
  const r = await run('node', [join(env.LAB_REPO, 'dist', 'cli.js'), 'status', '--json', '--control-socket', join(nodeDir(node), 'control.sock')]);
  if (r.exitCode !== 0) throw new Error(`oedns status on ${node}: ${lastLines(r.all, 2)}`);
  return JSON.parse(r.stdout);
}

/** The conn name the vici backend gives a status entry (src/ipsec/vici/vici-conn.ts connName). */
export function connNameOf(policy) {
  const field = (a) => a.replaceAll('.', '_');
  const ports = policy.selector.ports ?? [];
  const portsText = ports.length === 0 ? 'all' : ports.map((p) => (p.first === p.last ? `${p.first}` : `${p.first}:${p.last}`)).join(',');
  return `oedns-${policy.local === null ? 'any' : field(policy.local)}-${field(policy.remote)}-${policy.selector.protocol ?? 'any'}-${portsText}`;
}

/** A log file's size now, to read what is written after it (logSince). */
export const logMark = (file) => (existsSync(file) ? statSync(file).size : 0);
export function logSince(file, mark) {
  return existsSync(file) ? readFileSync(file).subarray(mark).toString('utf8') : '';
}
/** oedns' JSON log lines after `mark` whose msg is `msg`. */
export function oednsEvents(node, mark, msg) {
  return logSince(join(nodeDir(node), 'oedns.log'), mark).split('\n').filter((l) => l.startsWith('{'))
    .map((l) => { try { return JSON.parse(l); } catch { return undefined; } }).filter((e) => e && e.msg === msg);
}
