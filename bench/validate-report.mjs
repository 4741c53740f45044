// Prints the validation benchmark's tables, checks and PASS/FAIL line, and writes its JSON summary.
//
//   node validate-report.mjs RESULTS_DIR OEDNS_LOG UNBOUND_LOG OUT_JSON
//
// RESULTS_DIR holds, for named, oedns and unbound, SERVER-sequential.json (seq-client.mjs) and
// SERVER-loaded.json (parse-dnsperf.mjs), with the same fields, and facts.txt, one "key value" per
// line, written by validate.sh (configuration, upstream query counts, CPU time, AD counts, spot
// checks, how each resolver exited). The warm-up's results are there too and left out on purpose.
// With an upstream delay (facts.upstreamDelayMs > 0) it also holds proxy-sequential.json: the
// sequential names asked of named through delay-proxy.mjs, which both resolvers then forward
// through; facts.txt then has the proxy's summary line and named's truncation counters.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  hostConfig, pad, parseJsonLine, pinoLevel, proxyCheck, ratio, readFacts, round, tallyLog, truncationCheck, upstreamConfig, upstreamOf,
  upstreamPhrase, writeSummary,
} from './report-lib.mjs';

const [resultsDir, oednsLog, unboundLog, outJson] = process.argv.slice(2);
if (outJson === undefined) throw new Error('usage: validate-report.mjs RESULTS_DIR OEDNS_LOG UNBOUND_LOG OUT_JSON');

/** Target from issue 3; informational, it never changes the exit code. */
const TARGET_P50_RATIO = 1.5;
/** Table rows in order; proxy (named through delay-proxy.mjs) only with a delay, sequential pass only. */
const SERVERS = ['named', 'proxy', 'oedns', 'unbound'];
const RESOLVERS = ['oedns', 'unbound'];
/** The measured passes in the order they run. The target is judged on per-query latency, the first. */
const PASSES = ['sequential', 'loaded'];
const TARGET_PASS = 'sequential';

const facts = await readFacts(resultsDir);
const zones = facts.zones;
const seqDnssecOk = facts.seqDnssecOk === 1;
/** Milliseconds delay-proxy.mjs held each of named's replies; 0: both resolvers asked named directly. */
const upstream = upstreamOf(facts);
const { delayMs, proxySummary } = upstream;

const runs = {};
const ratios = {};
for (const pass of PASSES) {
  runs[pass] = {};
  for (const server of SERVERS) {
    if (server === 'proxy' && delayMs === 0) continue;
    const run = await readRun(server, pass);
    if (run !== null) runs[pass][server] = run;
  }
  const { oedns, unbound } = runs[pass];
  ratios[pass] = {
    p50: ratio(oedns?.p50Ms, unbound?.p50Ms),
    p99: ratio(oedns?.p99Ms, unbound?.p99Ms),
    avg: ratio(oedns?.avgMs, unbound?.avgMs),
    qps: ratio(oedns?.qps, unbound?.qps),
    cpuPerLookup: ratio(oedns?.cpuMsPerLookup, unbound?.cpuMsPerLookup),
  };
}

/** What is checked once per resolver, after both passes. */
const resolvers = Object.fromEntries(
  RESOLVERS.map((r) => [r, { recheckAdAnswers: facts[`ad.${r}`] ?? null, spotCheck: facts[`spot.${r}`] ?? null, exit: facts[`${r}.exit`] ?? null }]),
);

const checks = [...RESOLVERS.flatMap(resolverChecks), ...upstreamPathChecks()];
const valid = checks.every((c) => c.pass);

const target = ratios[TARGET_PASS];
const targets = [
  {
    name: `oedns p50 <= ${TARGET_P50_RATIO} x Unbound p50, ${TARGET_PASS} pass (one query in flight), ${upstreamPhrase(upstream)}`,
    judgedOn: TARGET_PASS,
    value: target.p50,
    p99Ratio: target.p99,
    loadedP50Ratio: ratios.loaded.p50,
    loadedP99Ratio: ratios.loaded.p99,
    pass: valid && target.p50 !== null && target.p50 <= TARGET_P50_RATIO,
  },
];

const logs = { oedns: await summarizeLog(oednsLog, true), unbound: await summarizeLog(unboundLog, false) };

process.stdout.write(`${reportLines().join('\n')}\n`);

await writeSummary(outJson, {
  config: {
    zonesPerPass: zones,
    warmupZones: facts.warmupZones,
    algorithm: facts.algorithm,
    oednsBuild: facts.oednsBuild ?? null,
    queryTimeoutSeconds: facts.queryTimeoutSeconds,
    upstream: upstreamConfig(facts, upstream),
    sequential: { client: 'seq-client.mjs', inFlight: 1, dnssecOk: seqDnssecOk },
    loaded: { client: 'dnsperf', clients: facts.clients, maxOutstanding: facts.maxOutstanding, extraArgs: facts.loadedDnsperfArgs },
    ...hostConfig(facts),
  },
  runs,
  ratiosOednsUnbound: ratios,
  resolvers,
  checks,
  valid,
  logs,
  targets,
});

/** One server's result of one pass, with the facts validate.sh recorded for it; null if missing. */
async function readRun(server, pass) {
  const parsed = JSON.parse(await readFile(join(resultsDir, `${server}-${pass}.json`), 'utf8').catch(() => 'null'));
  if (parsed === null) return null;
  const cpuSeconds = facts[`cpu.${server}.${pass}`] ?? null;
  // named's own count (directly or through the proxy) is just the lookups themselves; for a
  // resolver it is what it asked upstream.
  const upstream = server === 'named' || server === 'proxy' ? null : (facts[`upstream.${server}.${pass}`] ?? null);
  return {
    ...parsed,
    upstreamQueries: upstream,
    upstreamPerLookup: upstream === null ? null : round(upstream / zones, 2),
    cpuSeconds,
    cpuPercent: cpuSeconds !== null && parsed.runSeconds > 0 ? round((100 * cpuSeconds) / parsed.runSeconds, 0) : null,
    cpuMsPerLookup: cpuSeconds !== null ? round((1000 * cpuSeconds) / zones, 2) : null,
  };
}

/**
 * Correctness, which the latencies depend on: every lookup of both passes NOERROR and none lost;
 * with DO, AD on every sequential answer (the cold one); a dig spot check; and every measured name
 * asked again with DO, from the cache, NOERROR with AD.
 */
function resolverChecks(r) {
  const checks = [];
  for (const pass of PASSES) {
    const run = runs[pass][r];
    if (run === undefined) {
      checks.push({ resolver: r, name: `${pass} pass ran`, pass: false, detail: 'no results' });
      continue;
    }
    const noerror = run.rcodes.NOERROR ?? 0;
    const other = Object.entries(run.rcodes).filter(([rcode]) => rcode !== 'NOERROR');
    checks.push({
      resolver: r,
      name: `${pass}: all ${zones} lookups answered NOERROR`,
      pass: noerror === zones && run.lost === 0,
      detail: `NOERROR ${noerror}, lost ${run.lost}${other.map(([c, n]) => `, ${c} ${n}`).join('')}`,
    });
    if (pass === 'sequential' && seqDnssecOk) {
      checks.push({
        resolver: r,
        name: `sequential, asked with DO: all ${zones} answers with AD`,
        pass: run.answersWithAd === zones,
        detail: `${run.answersWithAd ?? 'n/a'} of ${zones}`,
      });
    }
  }
  const { spotCheck, recheckAdAnswers } = resolvers[r];
  const spotFlags = typeof spotCheck === 'string' ? ` ${spotCheck.split(' ').slice(1).join(' ')} ` : '';
  checks.push({
    resolver: r,
    name: 'dig +dnssec spot check: NOERROR with AD',
    pass: typeof spotCheck === 'string' && spotCheck.startsWith('NOERROR ') && spotFlags.includes(' ad '),
    detail: `status and flags: ${spotCheck ?? 'n/a'}`,
  });
  checks.push({
    resolver: r,
    name: `all ${2 * zones} measured names again with DO: NOERROR with AD`,
    pass: recheckAdAnswers === 2 * zones,
    detail: `${recheckAdAnswers ?? 'n/a'} of ${2 * zones}`,
  });
  return checks;
}

/**
 * The upstream path, with a delay only: no answer from named was truncated and the proxy relayed
 * an answer to every query, held each at least the delay, dropped nothing, and stopped on SIGTERM.
 */
function upstreamPathChecks() {
  if (delayMs === 0) return [];
  return [
    { resolver: 'named', name: 'no truncated answer upstream (no lookup needed TCP, which the proxy does not relay)', ...truncationCheck(facts) },
    { resolver: 'delay proxy', ...proxyCheck(facts, upstream) },
  ];
}


function reportLines() {
  const warmup = facts.warmupZones > 0 ? `warmed up on ${facts.warmupZones} other zones (dnsperf${seqDnssecOk ? ' -D' : ''})` : 'no warm-up';
  const extraArgs = facts.loadedDnsperfArgs === 'none' ? '' : ` ${facts.loadedDnsperfArgs}`;
  const titles = {
    sequential: `sequential: one query in flight (seq-client.mjs, ${seqDnssecOk ? 'EDNS with DO' : 'no EDNS'}), ${zones} zones`,
    loaded: `loaded: dnsperf -c ${facts.clients} -q ${facts.maxOutstanding}${extraArgs}, ${zones} other zones`,
  };
  const widths = [delayMs > 0 ? 22 : 17, 8, 8, 8, 8, 8, 8, 7, 5, 9, 8, 5, 7];
  const labels = { named: 'named (direct)', proxy: `named (+${delayMs} ms proxy)` };
  const lines = [
    '',
    `== cold validated lookups: www.zNNNN.test. A, once per signed zone (${facts.algorithm}); each resolver`,
    `   started fresh, root and test. keys primed, ${warmup}; every measured zone asked for the first time`,
    delayMs > 0
      ? `   upstream: named through delay-proxy.mjs, each reply held ${delayMs} ms (measured: mean ${proxySummary?.heldMeanMs ?? 'n/a'} ms, ` +
        `max ${proxySummary?.heldMaxMs ?? 'n/a'} ms): every upstream round trip ${delayMs} ms longer, for both resolvers`
      : '   upstream: named directly on loopback (answers in about 0.02 ms; BENCH_UPSTREAM_DELAY_MS=0)',
    `   oedns build: ${facts.oednsBuild ?? 'n/a'}`,
  ];
  for (const pass of PASSES) {
    lines.push(
      '',
      `== ${titles[pass]}`,
      pad(['server', 'qps', 'avg ms', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'NOERR', 'lost', 'upstream', 'up/look', 'cpu%', 'cpu ms/q'], widths),
    );
    for (const server of SERVERS) {
      const run = runs[pass][server];
      if (run === undefined) continue;
      const label = labels[server] ?? server;
      const cells = [label, run.qps, run.avgMs, run.p50Ms, run.p90Ms, run.p99Ms, run.maxMs, run.rcodes.NOERROR ?? 0, run.lost];
      lines.push(pad([...cells, run.upstreamQueries, run.upstreamPerLookup, run.cpuPercent, run.cpuMsPerLookup], widths));
    }
    const r = ratios[pass];
    lines.push(`   ratio oedns/unbound: p50 ${r.p50 ?? 'n/a'}, p99 ${r.p99 ?? 'n/a'}, avg ${r.avg ?? 'n/a'}, qps ${r.qps ?? 'n/a'}, cpu per lookup ${r.cpuPerLookup ?? 'n/a'}`);
  }
  lines.push(
    '',
    '   named (direct) = the same names asked of named itself: the floor under both resolvers.',
    ...(delayMs > 0 ? [`   named (+${delayMs} ms proxy) = the same, through the delay proxy: one upstream round trip as both resolvers see it.`] : []),
    '   upstream = queries named received during the pass; up/look = per lookup; cpu% = resolver CPU / pass time.',
    '',
    '== checks',
  );
  for (const c of checks) lines.push(`${c.pass ? 'ok  ' : 'FAIL'}  ${c.resolver}: ${c.name} (${c.detail})`);
  for (const r of RESOLVERS) {
    const l = logs[r];
    lines.push('', `== ${r} log: ${l.summary}${resolvers[r].exit ? `; exit on SIGTERM: ${resolvers[r].exit}` : ''}`);
    for (const [msg, n] of l.top) lines.push(`   ${n} x ${msg}`);
  }
  lines.push('', '== target (informational), judged on per-query latency: the sequential pass');
  for (const t of targets) {
    const note = valid ? '' : ' — not met: the checks above failed, so the latencies do not count';
    lines.push(
      `${t.pass ? 'PASS' : 'FAIL'}  ${t.name}: measured ${t.value ?? 'n/a'} (p99 ratio ${t.p99Ratio ?? 'n/a'})${note}`,
      `      loaded pass, for information: p50 ratio ${t.loadedP50Ratio ?? 'n/a'}, p99 ratio ${t.loadedP99Ratio ?? 'n/a'}`,
    );
  }
  return lines;
}

/**
 * oedns (pino JSON): counts lines by level (40 warn, 50 error, 60 fatal) and the most frequent
 * messages. Unbound (text): counts lines by their "info:", "error:" ... tag and the most frequent
 * lines with names and numbers blanked out.
 */
async function summarizeLog(file, json) {
  const { counts, top } = await tallyLog(file, json ? oednsLine : unboundLine);
  const summary = Object.entries(counts).map(([level, n]) => `${n} ${level}`).join(', ') || 'empty';
  return { counts, summary, top };
}

function oednsLine(line) {
  const entry = parseJsonLine(line);
  if (entry === undefined) return ['not JSON', `[not JSON] ${line.slice(0, 100)}`];
  const level = pinoLevel(entry.level);
  const detail = entry.err?.code ?? entry.reason ?? entry.ede ?? '';
  return [level, `[${level}] ${entry.msg ?? '(no msg)'}${detail ? ` (${String(detail).slice(0, 80)})` : ''}`];
}

/** "[1712345678] unbound[123:0] info: ..." → level "info", message with digits blanked. */
function unboundLine(line) {
  const match = /\] unbound\[[^\]]*\] (\w+): (.*)$/.exec(line);
  if (match === null) return ['other', `[other] ${line.slice(0, 100)}`];
  // info lines are start, stop and statistics (a latency histogram among them): counted only.
  if (match[1] === 'info') return ['info'];
  return [match[1], `[${match[1]}] ${match[2].replace(/z\d{4}/g, 'zNNNN').replace(/\d+/g, 'N').slice(0, 100)}`];
}
