// Installs per second of the xfrm backend (issue 6 benchmark), in a network namespace this
// script creates and deletes: N address pairs in one apply(), and the same pairs one apply() each.
// Both go through the backend's long-lived `ip -batch -` (one write to its stdin per apply, no
// process start). Run as root (CAP_NET_ADMIN); nothing is sent anywhere, only kernel SPD entries
// are written. bench/ipsec-latency.mjs times single installs as the PolicyManager sees them.
//
//   node bench/ipsec-install.mjs [PAIRS]      # default 10000 batched, 1000 one by one
import { execFileSync } from 'node:child_process';
import { XfrmBackend } from '../dist/ipsec/index.js';

const PAIRS = Number(process.argv[2] ?? 10_000);
const SINGLE = Math.min(PAIRS, 1000);
const netns = `oedns-bench-${process.pid}`;
const peer = { identity: 'bench.example.', publicKeyPem: '' };
const spec = (i) => ({
  family: 4, remote: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, selector: {},
  action: { kind: 'protect', level: 'use', mode: 'transport' }, peer,
});
const signal = new AbortController().signal;

execFileSync('ip', ['netns', 'add', netns]);
const backend = new XfrmBackend({ netns });
try {
  let t0 = performance.now();
  await backend.apply(Array.from({ length: PAIRS }, (_, i) => ({ op: 'add', policy: spec(i) })), signal);
  const batchedMs = performance.now() - t0;
  const listed = (await backend.list(signal)).length;
  await backend.removeAll(signal);
  t0 = performance.now();
  for (let i = 0; i < SINGLE; i++) await backend.apply([{ op: 'add', policy: spec(i) }], signal);
  const singleMs = performance.now() - t0;
  await backend.removeAll(signal);
  const report = {
    pairs: PAIRS, listed,
    batched: { ms: Math.round(batchedMs), installsPerSecond: Math.round(PAIRS / (batchedMs / 1000)) },
    oneByOne: { pairs: SINGLE, ms: Math.round(singleMs), installsPerSecond: Math.round(SINGLE / (singleMs / 1000)) },
    target: 'batched >= 1000 installs/s',
    pass: PAIRS / (batchedMs / 1000) >= 1000,
  };
  console.log(JSON.stringify(report, null, 2));
} finally {
  backend.close();
  execFileSync('ip', ['netns', 'del', netns]);
}
