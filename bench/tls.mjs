// The TLS path's benchmark (issue 8; a script, not a test): handshakes per second and the latency
// a connection pays through `oedns tunnel client` (DNS, DANE, TLS) against a direct TLS client, and
// bulk throughput through a pair of oedns tunnels against a pair of stunnel4 tunnels and a pair of
// bare Node tunnels (tls-bare-node.mjs: Node's defaults, no oedns code, the ceiling Node gives), all
// on the same certificate. Prints ratios; writes bench/out/tls-latest.json.
//
//   node bench/tls.mjs                       # defaults below
//   BENCH_CONNECTIONS=500 BENCH_MB=2048 node bench/tls.mjs
//   BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' node bench/tls.mjs   # profile the oedns processes
//
// Throughput: every pair carries BENCH_MB once untimed (JIT warm-up; the tunnel's DNS cache and
// pin), then BENCH_RUNS times in a rotating order; each run is timed from the first byte the sink
// receives, so connection setup is not counted as transfer. CPU seconds per GB are per process
// (/proc/PID/stat, all threads) and for this script (the sender and the sink).
//
// Everything listens on 127.0.0.1 on ports chosen at run time; every process is stopped by PID.
// Needs named + dnssec-keygen/-signzone (bind9, bind9-utils), openssl, stunnel4, and dist/ built
// (npx tsc -p .). The zone tls.bench. is signed here and its DS is the only trust anchor, so the
// tunnel validates the address and the TLSA record as it would on the Internet.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { createHash, X509Certificate } from 'node:crypto';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const MEGABYTES = Number(process.env.BENCH_MB ?? 1024);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const HOST = '127.0.0.1';
/** Extra node arguments for the oedns processes, e.g. BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'. */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const NAME = 'www.tls.bench';
const repo = join(import.meta.dirname, '..');
const cli = join(repo, 'dist', 'cli.js');
const bareNode = join(repo, 'bench', 'tls-bare-node.mjs');
const dir = mkdtempSync(join(tmpdir(), 'oedns-bench-tls-'));
const children = [];

const log = (msg) => process.stderr.write(`[tls-bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: dir, encoding: 'utf8', ...opts });

function start(name, cmd, args) {
  // Output goes to a file: a pipe this process reads could stall a busy child if it fell behind.
  const file = join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}.log`);
  const fd = openSync(file, 'w');
  const child = spawn(cmd, args, { cwd: dir, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  children.push({ name, child, file });
  return child;
}

async function stopAll() {
  for (const { child } of children.reverse()) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }
}

async function freePorts(n) {
  const servers = [];
  for (let i = 0; i < n; i++) {
    const s = createServer();
    await new Promise((r) => s.listen({ host: HOST, port: 0, exclusive: true }, r));
    servers.push(s);
  }
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

async function waitForPort(port, what, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = netConnect({ host: HOST, port }, () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`${what} did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}
const round = (x, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
function summary(ms, wallMs) {
  const s = [...ms].sort((a, b) => a - b);
  return { n: s.length, p50: round(percentile(s, 0.5)), p90: round(percentile(s, 0.9)), p99: round(percentile(s, 0.99)), perSecond: round((1000 * s.length) / wallMs, 1) };
}

/** One request line and its echo over a connected stream. */
function roundTrip(stream) {
  return new Promise((resolve, reject) => {
    let got = '';
    stream.on('data', (d) => { got += d; if (got.includes('\n')) resolve(); });
    stream.on('error', reject);
    stream.on('close', () => reject(new Error(`closed before the echo (${JSON.stringify(got)})`)));
    stream.write('ping\n');
  });
}

/** A direct TLS client: handshake, the peer's key compared with the one pinned, one round trip. */
function directOnce(port, spkiSha256) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = tlsConnect({ host: HOST, port, servername: NAME, rejectUnauthorized: false }, () => {
      const spki = s.getPeerX509Certificate().publicKey.export({ type: 'spki', format: 'der' });
      if (createHash('sha256').update(spki).digest('hex') !== spkiSha256) return reject(new Error('wrong key'));
      roundTrip(s).then(() => { const ms = performance.now() - t0; s.destroy(); resolve(ms); }, reject);
    });
    s.on('error', reject);
  });
}

/** A plaintext client through the oedns tunnel client: one round trip (the tunnel does DNS, TLS and DANE). */
function tunnelOnce(port) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = netConnect({ host: HOST, port }, () => {
      roundTrip(s).then(() => { const ms = performance.now() - t0; s.destroy(); resolve(ms); }, reject);
    });
    s.on('error', reject);
  });
}

async function timed(count, concurrency, once) {
  const ms = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      next += 1;
      ms.push(await once());
    }
  }));
  return summary(ms, performance.now() - t0);
}

/** CPU seconds (user + system, all threads) a process has used, from /proc/PID/stat (clock ticks of 1/100 s). */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
const selfCpuSeconds = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

/** Pushes `megabytes` through `port` into the sink; MB/s from the first byte written to the last byte received. */
async function throughput(port, sink, megabytes) {
  const total = megabytes * 1024 * 1024;
  const chunk = Buffer.alloc(256 * 1024, 0x61);
  sink.reset(total);
  const s = netConnect({ host: HOST, port });
  await once(s, 'connect');
  // One byte first, so that the tunnel's DNS, TCP and TLS setup is not counted as transfer time.
  s.write('a');
  await sink.first;
  const t0 = performance.now();
  let sent = 1;
  while (sent < total) {
    const piece = total - sent >= chunk.length ? chunk : chunk.subarray(0, total - sent);
    if (!s.write(piece)) await once(s, 'drain');
    sent += piece.length;
  }
  await sink.done;
  const seconds = (performance.now() - t0) / 1000;
  s.destroy();
  return megabytes / seconds;
}

/**
 * Each pair once untimed (JIT warm-up, the tunnel's DNS cache and pin), then RUNS rounds, each
 * pair once per round in a rotating order, so that no pair always runs first or on a hot cache.
 * CPU is per pair's two processes and the bench's own (the sender and the sink), per GB carried.
 */
async function throughputRuns(pairs, sink) {
  for (const pair of pairs) await throughput(pair.port, sink, MEGABYTES);
  const out = Object.fromEntries(pairs.map((p) => [p.name, { mbps: [], cpuSeconds: p.children.map(() => 0), benchCpuSeconds: 0 }]));
  for (let i = 0; i < RUNS; i++) {
    for (let k = 0; k < pairs.length; k++) {
      const pair = pairs[(i + k) % pairs.length];
      const before = pair.children.map((c) => cpuSeconds(c.pid));
      const selfBefore = selfCpuSeconds();
      out[pair.name].mbps.push(await throughput(pair.port, sink, MEGABYTES));
      pair.children.forEach((c, j) => { out[pair.name].cpuSeconds[j] += cpuSeconds(c.pid) - before[j]; });
      out[pair.name].benchCpuSeconds += selfCpuSeconds() - selfBefore;
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const gb = (RUNS * MEGABYTES) / 1024;
  const result = {};
  for (const pair of pairs) {
    const o = out[pair.name];
    result[`${pair.name}MBps`] = o.mbps.map((x) => round(x, 1));
    result[`${pair.name}CpuSecondsPerGB`] = { server: round(o.cpuSeconds[0] / gb), client: round(o.cpuSeconds[1] / gb), bench: round(o.benchCpuSeconds / gb) };
  }
  const m = Object.fromEntries(pairs.map((p) => [p.name, median(out[p.name].mbps)]));
  return { ...result, ratio: round(m.oedns / m.stunnel), nodeOverStunnel: round(m.node / m.stunnel), oednsOverNode: round(m.oedns / m.node) };
}

/** The cipher suite a Node client (offering Node's and OpenSSL's default list) gets from the TLS server at port. */
function cipherOf(port) {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: HOST, port, servername: NAME, rejectUnauthorized: false }, () => {
      const c = s.getCipher();
      resolve(`${s.getProtocol()} ${c.standardName ?? c.name}`);
      s.destroy();
    });
    s.on('error', reject);
  });
}

function startSink(port) {
  let wanted = 0;
  let got = 0;
  let first;
  let finish;
  const sink = {
    first: undefined,
    done: undefined,
    reset(total) {
      wanted = total;
      got = 0;
      sink.first = new Promise((r) => { first = r; });
      sink.done = new Promise((r) => { finish = r; });
    },
  };
  const server = createServer((c) => c.on('data', (d) => {
    if (got === 0) first();
    got += d.length;
    if (got >= wanted) finish();
  }).on('error', () => {}));
  return new Promise((r) => server.listen({ host: HOST, port }, () => r({ sink, server })));
}

function makeZone(ports) {
  run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.crt', '-days', '30',
    '-subj', `/CN=${NAME}`, '-addext', `subjectAltName=DNS:${NAME}`], { stdio: 'ignore' });
  const spki = new X509Certificate(readFileSync(join(dir, 'server.crt'))).publicKey.export({ type: 'spki', format: 'der' });
  const spkiSha256 = createHash('sha256').update(spki).digest('hex');
  const tlsa = ports.map((p) => `_${p}._tcp.www 3600 IN TLSA 3 1 1 ${spkiSha256.toUpperCase()}`);
  mkdirSync(join(dir, 'keys'));
  const key = (...extra) => run('dnssec-keygen', ['-K', 'keys', '-a', 'ECDSAP256SHA256', '-n', 'ZONE', '-q', ...extra, 'tls.bench']).trim();
  const ksk = key('-f', 'KSK');
  const zsk = key();
  const keys = [ksk, zsk].map((k) => readFileSync(join(dir, 'keys', `${k}.key`), 'utf8').split('\n').filter((l) => l && !l.startsWith(';')).join('\n'));
  writeFileSync(join(dir, 'tls.bench.zone'), [
    '$ORIGIN tls.bench.', '$TTL 3600',
    '@ IN SOA ns hostmaster 1 3600 600 86400 3600', '@ IN NS ns', 'ns IN A 127.0.0.1', 'www IN A 127.0.0.1',
    ...tlsa, ...keys, '',
  ].join('\n'));
  run('dnssec-signzone', ['-q', '-K', 'keys', '-d', 'keys', '-o', 'tls.bench.', '-N', 'keep', '-e', 'now+2592000',
    '-f', 'tls.bench.zone.signed', 'tls.bench.zone', ksk, zsk], { stdio: 'ignore' });
  writeFileSync(join(dir, 'anchor.ds'), run('dnssec-dsfromkey', ['-2', `keys/${ksk}.key`]));
  return spkiSha256;
}

function startNamed(port) {
  writeFileSync(join(dir, 'named.conf'), `options { directory "${dir}"; listen-on port ${port} { 127.0.0.1; }; listen-on-v6 { none; };
  recursion no; dnssec-validation no; pid-file none; };
zone "tls.bench" { type primary; file "tls.bench.zone.signed"; };
`);
  start('named', 'named', ['-g', '-c', join(dir, 'named.conf')]);
}

function writeStunnel(name, lines) {
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, ['foreground = yes', 'pid =', 'output = /dev/null', 'syslog = no', ...lines, ''].join('\n'));
  return file;
}

async function main() {
  const [dnsPort, sServerPort, tunnelClientPort, tunnelServerPort, tunnelFrontPort, sinkPort, stunnelServerPort, stunnelClientPort, echoPort, bareServerPort, bareClientPort] = await freePorts(11);
  log(`building a signed tls.bench. in ${dir}`);
  const spkiSha256 = makeZone([sServerPort, tunnelServerPort]);
  startNamed(dnsPort);
  const dns = ['--upstream', `${HOST}:${dnsPort}`, '--trust-anchor', join(dir, 'anchor.ds'), '--insecure', 'none.invalid', '--log-level', 'warn', '--resolv-conf', '/dev/null'];
  // The TLS server both clients talk to: stunnel4 (it serves connections in parallel, where
  // openssl s_server takes one at a time) in front of a line echo in this process.
  const echo = createServer((c) => c.on('error', () => {}).on('data', (d) => c.write(d)));
  await new Promise((r) => echo.listen({ host: HOST, port: echoPort }, r));
  start('stunnel server (echo)', 'stunnel4', [writeStunnel('stunnel-echo', ['[echo]', `accept = ${HOST}:${sServerPort}`, `connect = ${HOST}:${echoPort}`,
    `cert = ${join(dir, 'server.crt')}`, `key = ${join(dir, 'server.key')}`])]);
  start('oedns tunnel client (to the echo)', process.execPath, [...NODE_ARGS, cli, 'tunnel', 'client', '--listen', `${HOST}:${tunnelClientPort}`, '--connect', `${NAME}:${sServerPort}`, ...dns]);
  await waitForPort(sServerPort, 'stunnel server (echo)');
  await waitForPort(tunnelClientPort, 'oedns tunnel client');

  log(`handshakes: ${CONNECTIONS} connections, one at a time and ${CONCURRENCY} at once`);
  const result = { connections: CONNECTIONS, concurrency: CONCURRENCY, megabytes: MEGABYTES, handshakes: {}, throughput: {} };
  await tunnelOnce(tunnelClientPort); // the first connection looks the name up; later ones find it cached
  result.handshakes.directSequential = await timed(CONNECTIONS, 1, () => directOnce(sServerPort, spkiSha256));
  result.handshakes.tunnelSequential = await timed(CONNECTIONS, 1, () => tunnelOnce(tunnelClientPort));
  result.handshakes.directParallel = await timed(CONNECTIONS, CONCURRENCY, () => directOnce(sServerPort, spkiSha256));
  result.handshakes.tunnelParallel = await timed(CONNECTIONS, CONCURRENCY, () => tunnelOnce(tunnelClientPort));
  const sTime = run('openssl', ['s_time', '-connect', `${HOST}:${sServerPort}`, '-new', '-time', '5'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const sTimeRate = Number(/([\d.]+) connections\/user sec/.exec(sTime)?.[1] ?? NaN);
  const sTimeCount = Number(/(\d+) connections in [\d.]+s/.exec(sTime)?.[1] ?? NaN);
  result.handshakes.opensslSTime = { connectionsIn5s: sTimeCount, perUserSecond: sTimeRate };

  log(`throughput: ${MEGABYTES} MiB, ${RUNS} runs each, oedns, stunnel4 and bare Node tunnel pairs`);
  const { sink, server } = await startSink(sinkPort);
  const pairs = [
    { name: 'oedns', port: tunnelFrontPort, children: [
      start('oedns tunnel server', process.execPath, [...NODE_ARGS, cli, 'tunnel', 'server', '--listen', `${HOST}:${tunnelServerPort}`, '--forward', `${HOST}:${sinkPort}`, '--cert', 'server.crt', '--key', 'server.key', ...dns]),
      start('oedns tunnel client (to the tunnel server)', process.execPath, [...NODE_ARGS, cli, 'tunnel', 'client', '--listen', `${HOST}:${tunnelFrontPort}`, '--connect', `${NAME}:${tunnelServerPort}`, ...dns]),
    ] },
    { name: 'stunnel', port: stunnelClientPort, children: [
      start('stunnel server', 'stunnel4', [writeStunnel('stunnel-server', ['[bench]', `accept = ${HOST}:${stunnelServerPort}`, `connect = ${HOST}:${sinkPort}`, `cert = ${join(dir, 'server.crt')}`, `key = ${join(dir, 'server.key')}`])]),
      start('stunnel client', 'stunnel4', [writeStunnel('stunnel-client', ['[bench]', 'client = yes', `accept = ${HOST}:${stunnelClientPort}`, `connect = ${HOST}:${stunnelServerPort}`,
        `CAfile = ${join(dir, 'server.crt')}`, 'verifyPeer = yes', `checkHost = ${NAME}`])]),
    ] },
    { name: 'node', port: bareClientPort, children: [
      start('bare node server', process.execPath, [bareNode, 'server', String(bareServerPort), String(sinkPort), 'server.crt', 'server.key']),
      start('bare node client', process.execPath, [bareNode, 'client', String(bareClientPort), String(bareServerPort), NAME]),
    ] },
  ];
  for (const [port, what] of [[tunnelServerPort, 'oedns tunnel server'], [tunnelFrontPort, 'oedns tunnel client'], [stunnelServerPort, 'stunnel server'], [stunnelClientPort, 'stunnel client'],
    [bareServerPort, 'bare node server'], [bareClientPort, 'bare node client']]) await waitForPort(port, what);
  result.throughput = await throughputRuns(pairs, sink);
  result.throughput.cipher = { oedns: await cipherOf(tunnelServerPort), stunnel: await cipherOf(stunnelServerPort), node: await cipherOf(bareServerPort) };
  server.close();
  echo.close();
  const h = result.handshakes;
  result.ratios = {
    addedLatencyP50Ms: round(h.tunnelSequential.p50 - h.directSequential.p50),
    latencyP50: round(h.tunnelSequential.p50 / h.directSequential.p50),
    handshakesPerSecondSequential: round(h.tunnelSequential.perSecond / h.directSequential.perSecond),
    handshakesPerSecondParallel: round(h.tunnelParallel.perSecond / h.directParallel.perSecond),
    throughput: result.throughput.ratio,
    throughputNodeOverStunnel: result.throughput.nodeOverStunnel,
    throughputOednsOverNode: result.throughput.oednsOverNode,
  };
  mkdirSync(join(repo, 'bench', 'out'), { recursive: true });
  writeFileSync(join(repo, 'bench', 'out', 'tls-latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  const target = result.throughput.ratio >= 0.8 ? 'met' : 'NOT met';
  process.stdout.write(`throughput oedns/stunnel ${result.throughput.ratio} (target >= 0.8: ${target}); ` +
    `latency p50 through the tunnel ${h.tunnelSequential.p50} ms vs direct ${h.directSequential.p50} ms (+${result.ratios.addedLatencyP50Ms} ms)\n`);
}

try {
  await main();
} catch (error) {
  log(`ERROR: ${error instanceof Error ? error.stack : error}`);
  for (const { name, file } of children) log(`${name}: ${readFileSync(file, 'utf8').slice(-2000)}`);
  process.exitCode = 1;
} finally {
  await stopAll();
  if (process.env.BENCH_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  // A failure leaves the echo and sink servers listening; they must not keep the script alive.
  process.exit();
}
