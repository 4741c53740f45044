#!/usr/bin/env node
/**
 * The lab's figures (lab/lab.sh figures [--runs N]), against a lab that is up: medians over N
 * runs of what a user of alice waits for when she reaches bob by name. A script, not a test: it
 * asserts nothing and prints a table, and LAB_DIR/figures.json holds every sample.
 *
 *   query → policy   from alice's DNS query reaching oedns to bob's conn (charon's trap, the SPD
 *                    entries) being loaded: oedns' own log (`answered` time − ms, `vici conn loaded` time)
 *   query → answer   how long the client waited for the answer (oedns' `answered` ms): with
 *                    `initiate: on-answer` this includes IKE, and the retry when bob had to learn alice
 *   dig, wall        the same seen from outside: `dig` started and ended (process starts included;
 *                    also for a SERVFAIL, which oedns does not log with a time)
 *   packet → ESP     from the ping being started right after the answer to the first ESP packet
 *                    alice sends, on alice's eth0 (tcpdump); includes starting ping itself (the
 *                    on-answer figure is about that much)
 *   dropped          pings (every 0.2 s) not answered: sent while IKE ran
 *
 * Variants: on-answer with bob never having seen alice (he learns her key from DNS when she
 * knocks: one refused IKE_AUTH and a retry), on-answer with bob knowing her already, and
 * on-traffic (the first packet triggers IKE). Inside User-Mode-Linux (ESP) every figure means
 * what it says; on a kernel without ESP the CHILD_SA is refused, so only the query figures mean
 * anything (and on-answer ends in SERVFAIL). Run it with `lab/uml/run.sh -- lab/lab.sh figures`.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  addr, capture, dig, env, inNode, lab, LAB_DIR, logMark, nodeDir, oednsEvents, pingStats, requirePolicy, restartOedns,
} from './lib/lab-api.mjs';

const BOB = `bob.${env.LAB_ZONE}`;
const POLICY_FILE = '00-lab-figures.yaml';
const PING_COUNT = 10;
const PING_INTERVAL_S = 0.2;

function parseArgs(argv) {
  let runs = 5;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs' && /^[1-9][0-9]*$/.test(argv[i + 1] ?? '')) runs = Number(argv[++i]);
    else throw new Error(`usage: lab/lab.sh figures [--runs N] (got ${argv.slice(i).join(' ')})`);
  }
  return { runs };
}

/** Restarts alice's oedns (and bob's unless he is to keep what he learnt) and flushes leftover SAs. */
async function reset(initiate, { keepBob }) {
  writeFileSync(join(nodeDir('alice'), 'policies', POLICY_FILE), requirePolicy(BOB, { initiate }));
  await restartOedns(keepBob ? ['alice'] : ['alice', 'bob']);
}

async function sample(initiate, { keepBob }) {
  await reset(initiate, { keepBob });
  const mark = logMark(join(nodeDir('alice'), 'oedns.log'));
  const pcap = await capture('alice', `figures-${initiate}-${Date.now()}`);
  let answer;
  let pingStartMs;
  let pinged;
  let digWallMs;
  try {
    const digStartMs = Date.now();
    answer = await dig('alice', BOB, 'A');
    pingStartMs = Date.now();
    digWallMs = pingStartMs - digStartMs;
    pinged = pingStats((await inNode('alice', 'ping', ['-4', '-n', '-c', PING_COUNT, '-i', PING_INTERVAL_S, '-W', 1, addr('bob', 4)])).all);
  } finally {
    await pcap.stop();
  }
  const answered = oednsEvents('alice', mark, 'answered').find((e) => e.qname === `${BOB}.` && e.qtype === 'A' && e.ms !== undefined);
  const loaded = oednsEvents('alice', mark, 'vici conn loaded').find((e) => e.remote === addr('bob', 4));
  const initiated = oednsEvents('alice', mark, 'vici initiate').at(-1);
  const firstEsp = (await pcap.stop()).find((p) => p.kind === 'esp' && p.src === addr('alice', 4));
  // oedns logs ISO times (pino isoTime), to the millisecond.
  const at = (event) => (event ? Date.parse(event.time) : undefined);
  const queryStartMs = answered ? at(answered) - answered.ms : undefined;
  return {
    rcode: answer.status,
    queryToAnswerMs: answered?.ms,
    queryToPolicyMs: queryStartMs !== undefined && loaded ? at(loaded) - queryStartMs : undefined,
    digWallMs,
    packetToEspMs: firstEsp ? Math.round(firstEsp.ts * 1000 - pingStartMs) : undefined,
    dropped: pinged.sent - pinged.received,
    initiateAttempts: initiated?.attempts,
  };
}

function median(values) {
  const sorted = values.filter((v) => typeof v === 'number').sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const { runs } = parseArgs(process.argv.slice(2));
const variants = [
  { label: 'on-answer, bob learns alice', initiate: 'on-answer', keepBob: false },
  { label: 'on-answer, bob knows alice', initiate: 'on-answer', keepBob: true },
  { label: 'on-traffic, bob learns alice', initiate: 'on-traffic', keepBob: false },
];
const results = [];
try {
  for (const variant of variants) {
    const samples = [];
    for (let i = 0; i < runs; i++) {
      // "bob knows alice": one cold run first teaches him; only alice restarts after it.
      if (variant.keepBob && i === 0) await sample(variant.initiate, { keepBob: false });
      samples.push(await sample(variant.initiate, { keepBob: variant.keepBob }));
      process.stderr.write(`# ${variant.label}: run ${i + 1}/${runs}: ${JSON.stringify(samples.at(-1))}\n`);
    }
    results.push({ ...variant, samples });
  }
} finally {
  rmSync(join(nodeDir('alice'), 'policies', POLICY_FILE), { force: true });
  await lab('oedns-restart', 'alice');
}

const fmt = (v) => (v === undefined ? '-' : String(Math.round(v * 10) / 10));
console.log(`# oedns lab figures: medians of ${runs} runs (ms; dropped = pings of ${PING_COUNT} every ${PING_INTERVAL_S} s)`);
console.log('| variant | query → policy | query → answer | dig, wall | packet → ESP | dropped | initiate attempts | answers |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of results) {
  const m = (key) => fmt(median(r.samples.map((s) => s[key])));
  const rcodes = [...new Set(r.samples.map((s) => s.rcode))].join('/');
  console.log(`| ${r.label} | ${m('queryToPolicyMs')} | ${m('queryToAnswerMs')} | ${m('digWallMs')} | ${m('packetToEspMs')} | ${m('dropped')} | ${m('initiateAttempts')} | ${rcodes} |`);
}
writeFileSync(join(LAB_DIR, 'figures.json'), `${JSON.stringify({ runs, results }, null, 2)}\n`);
console.log(`# samples: ${join(LAB_DIR, 'figures.json')}`);
