// Answer-to-policy latency of the xfrm backend (issue 6 benchmark: p50 <= 5 ms), in a network
// namespace this script creates and deletes. What is timed is PolicyManager.put() with one
// decision's specs, as the pipeline calls it when a DNS answer arrives: IPv4 `protect` is one spec
// (an out and an in SPD entry); IPv6 adds the ICMPv6 Neighbor Discovery bypass (4 more pairs).
// Every repetition uses a new address, so every put installs. Then installs per second for N
// pairs, one put per pair and all in one put. Run as root (CAP_NET_ADMIN); nothing is sent
// anywhere, only kernel SPD entries are written. Needs `npx tsc -p .` first (imports dist/).
//
//   node bench/ipsec-latency.mjs [REPS] [PAIRS]     # default 1000 timed puts per case, 10000 pairs
//   BENCH_STATE_DIR=1 ...                           # also time puts with a state file (--state-dir)
//                                                   # in os.tmpdir(): TMPDIR=/var/tmp where /tmp is tmpfs
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyManager, XfrmBackend } from '../dist/ipsec/index.js';

const REPS = Number(process.argv[2] ?? 1000);
const PAIRS = Number(process.argv[3] ?? 10_000);
const netns = `oedns-bench-lat-${process.pid}`;
const quiet = { info() {}, warn() {}, error() {}, debug() {}, child() { return quiet; } };
const transport = { kind: 'protect', level: 'require', mode: 'transport' };
const peer = { identity: 'bench.example.', publicKeyPem: '' };
const v4 = (i) => ({ family: 4, local: '10.0.0.1', remote: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, selector: {}, action: transport, peer });
const v6 = (i) => {
  const remote = `fd00:b::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
  return [
    { family: 6, local: 'fd00:a::1', remote, selector: {}, action: transport, peer },
    { family: 6, local: 'fd00:a::1', remote, selector: { protocol: 58, ports: [{ first: 133, last: 136 }] }, action: { kind: 'pass' } },
  ];
};
const farFuture = () => Date.now() + 3_600_000;
const signal = () => AbortSignal.timeout(30_000);

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}
function summary(ms) {
  const s = [...ms].sort((a, b) => a - b);
  const r = (x) => Math.round(x * 1000) / 1000;
  return { n: s.length, p50: r(percentile(s, 0.5)), p90: r(percentile(s, 0.9)), p99: r(percentile(s, 0.99)), max: r(s[s.length - 1]) };
}

/** Times `reps` puts, each a new owner with new addresses, and then their removal (expiry). */
async function timePuts(manager, specsOf, reps, offset) {
  const put = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await manager.put(`h${offset + i}.bench.example./A`, specsOf(offset + i), farFuture(), signal());
    put.push(performance.now() - t0);
  }
  const release = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await manager.put(`h${offset + i}.bench.example./A`, [], farFuture(), signal());
    release.push(performance.now() - t0);
  }
  return { put: summary(put), release: summary(release) };
}

async function latency(stateDir) {
  const backend = new XfrmBackend({ netns });
  const manager = new PolicyManager(backend, quiet, Date.now, { stateDir });
  try {
    if (stateDir) await manager.reconcile();
    // Warm-up: the first put starts the long-lived `ip` (one process start, ~5 ms).
    const first = performance.now();
    await manager.put('warmup./A', [v4(0xfffff0)], farFuture(), signal());
    const firstMs = performance.now() - first;
    await timePuts(manager, (i) => [v4(i)], 50, 0xfff000);
    const result = { firstPutMs: Math.round(firstMs * 100) / 100 };
    result.v4 = await timePuts(manager, (i) => [v4(i)], REPS, 0);
    result.v6 = await timePuts(manager, v6, REPS, 0);
    // The same with PAIRS / 2 pairs present: the cost must not grow with the SPD.
    const present = Math.floor(PAIRS / 2);
    await manager.put('filler./A', Array.from({ length: present }, (_, i) => v4(0x200000 + i)), farFuture(), signal());
    result.v4WithPresent = { present, ...(await timePuts(manager, (i) => [v4(i)], Math.min(REPS, 300), 0x100000)) };
    await manager.stop(signal());
    return result;
  } finally {
    backend.close();
  }
}

async function throughput() {
  const backend = new XfrmBackend({ netns });
  const manager = new PolicyManager(backend, quiet);
  try {
    let t0 = performance.now();
    await manager.put('bulk./A', Array.from({ length: PAIRS }, (_, i) => v4(i)), farFuture(), signal());
    const batchedMs = performance.now() - t0;
    await manager.stop(signal());
    const single = new PolicyManager(backend, quiet);
    t0 = performance.now();
    for (let i = 0; i < PAIRS; i++) await single.put(`h${i}./A`, [v4(i)], farFuture(), signal());
    const oneByOneMs = performance.now() - t0;
    t0 = performance.now();
    for (let i = 0; i < PAIRS; i++) await single.put(`h${i}./A`, [], farFuture(), signal());
    const removeMs = performance.now() - t0;
    await single.stop(signal());
    // The backend alone, one apply() per pair: what the manager's own bookkeeping adds shows here.
    t0 = performance.now();
    for (let i = 0; i < PAIRS; i++) await backend.apply([{ op: 'add', policy: v4(i) }], signal());
    const backendMs = performance.now() - t0;
    t0 = performance.now();
    for (let i = 0; i < PAIRS; i++) await backend.apply([{ op: 'remove', policy: v4(i) }], signal());
    const backendRemoveMs = performance.now() - t0;
    const rate = (ms) => Math.round(PAIRS / (ms / 1000));
    return {
      pairs: PAIRS,
      batched: { ms: Math.round(batchedMs), installsPerSecond: rate(batchedMs) },
      oneByOne: { ms: Math.round(oneByOneMs), installsPerSecond: rate(oneByOneMs) },
      removeOneByOne: { ms: Math.round(removeMs), removalsPerSecond: rate(removeMs) },
      backendOneByOne: { ms: Math.round(backendMs), installsPerSecond: rate(backendMs), removalsPerSecond: rate(backendRemoveMs) },
    };
  } finally {
    backend.close();
  }
}

execFileSync('ip', ['netns', 'add', netns]);
const stateDir = process.env.BENCH_STATE_DIR === '1' ? mkdtempSync(join(tmpdir(), 'oedns-bench-state-')) : undefined;
try {
  const report = { reps: REPS, latencyMs: await latency(undefined) };
  if (stateDir) report.latencyWithStateFileMs = await latency(stateDir);
  report.throughput = await throughput();
  report.target = 'answer-to-policy p50 <= 5 ms; batched >= 1000 installs/s';
  report.pass = report.latencyMs.v4.put.p50 <= 5 && report.latencyMs.v6.put.p50 <= 5 && report.throughput.batched.installsPerSecond >= 1000;
  console.log(JSON.stringify(report, null, 2));
} finally {
  execFileSync('ip', ['netns', 'del', netns]);
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}
