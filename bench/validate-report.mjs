// Prints the validation benchmark's table, checks and PASS/FAIL line, and writes its JSON summary.
//
//   node validate-report.mjs RESULTS_DIR OEDNS_LOG UNBOUND_LOG OUT_JSON
//
// RESULTS_DIR holds named.json, oedns.json and unbound.json from parse-dnsperf.mjs and facts.txt,
// one "key value" per line, written by validate.sh (configuration, upstream query counts, CPU
// time, AD counts, spot checks, how each resolver exited).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostConfig, pad, parseJsonLine, pinoLevel, ratio, readFacts, round, tallyLog, writeSummary } from './report-lib.mjs';

const [resultsDir, oednsLog, unboundLog, outJson] = process.argv.slice(2);
if (outJson === undefined) throw new Error('usage: validate-report.mjs RESULTS_DIR OEDNS_LOG UNBOUND_LOG OUT_JSON');

/** Target from issue 3; informational, it never changes the exit code. */
const TARGET_P50_RATIO = 1.5;
const SERVERS = ['named', 'oedns', 'unbound'];
const RESOLVERS = ['oedns', 'unbound'];

const facts = await readFacts(resultsDir);

const runs = {};
for (const server of SERVERS) {
  const parsed = JSON.parse(await readFile(join(resultsDir, `${server}.json`), 'utf8').catch(() => 'null'));
  if (parsed === null) continue;
  const cpuSeconds = facts[`cpu.${server}`] ?? null;
  const upstream = facts[`upstream.${server}`] ?? null;
  runs[server] = {
    ...parsed,
    upstreamQueries: server === 'named' ? null : upstream,
    upstreamPerLookup: server === 'named' || upstream === null ? null : round(upstream / facts.zones, 2),
    cpuSeconds,
    cpuPercent: cpuSeconds !== null && parsed.runSeconds > 0 ? round((100 * cpuSeconds) / parsed.runSeconds, 0) : null,
    cpuMsPerLookup: cpuSeconds !== null ? round((1000 * cpuSeconds) / facts.zones, 2) : null,
    adAnswers: facts[`ad.${server}`] ?? null,
    spotCheck: facts[`spot.${server}`] ?? null,
    exit: facts[`${server}.exit`] ?? null,
  };
}

const ratios = {
  p50: ratio(runs.oedns?.p50Ms, runs.unbound?.p50Ms),
  p99: ratio(runs.oedns?.p99Ms, runs.unbound?.p99Ms),
  avg: ratio(runs.oedns?.avgMs, runs.unbound?.avgMs),
  qps: ratio(runs.oedns?.qps, runs.unbound?.qps),
  cpuPerLookup: ratio(runs.oedns?.cpuMsPerLookup, runs.unbound?.cpuMsPerLookup),
};

// Correctness: every lookup answered NOERROR, and with DO every answer carries AD.
const checks = [];
for (const r of RESOLVERS) {
  const run = runs[r];
  if (run === undefined) {
    checks.push({ resolver: r, name: 'ran', pass: false, detail: 'no results' });
    continue;
  }
  const noerror = run.rcodes.NOERROR ?? 0;
  const other = Object.entries(run.rcodes).filter(([rcode]) => rcode !== 'NOERROR');
  checks.push({
    resolver: r,
    name: `all ${facts.zones} lookups answered NOERROR`,
    pass: noerror === facts.zones && run.lost === 0,
    detail: `NOERROR ${noerror}, lost ${run.lost}${other.map(([c, n]) => `, ${c} ${n}`).join('')}`,
  });
  const spotAd = typeof run.spotCheck === 'string' && / ad( |$)/.test(` ${run.spotCheck.split(' ').slice(1).join(' ')}`);
  checks.push({
    resolver: r,
    name: 'dig +dnssec spot check: NOERROR with AD',
    pass: typeof run.spotCheck === 'string' && run.spotCheck.startsWith('NOERROR ') && spotAd,
    detail: `status and flags: ${run.spotCheck ?? 'n/a'}`,
  });
  checks.push({
    resolver: r,
    name: `all ${facts.zones} names again with DO: NOERROR with AD`,
    pass: run.adAnswers === facts.zones,
    detail: `${run.adAnswers ?? 'n/a'} of ${facts.zones}`,
  });
}
const valid = checks.every((c) => c.pass);

const p50Pass = valid && ratios.p50 !== null && ratios.p50 <= TARGET_P50_RATIO;
const targets = [{ name: `oedns p50 <= ${TARGET_P50_RATIO} x Unbound p50`, value: ratios.p50, pass: p50Pass }];

const logs = { oedns: await summarizeLog(oednsLog, true), unbound: await summarizeLog(unboundLog, false) };

const widths = [17, 8, 8, 8, 8, 8, 8, 7, 5, 9, 8, 5, 7];
const lines = [
  '',
  `== cold validated lookups: www.zNNNN.test. A once for each of ${facts.zones} signed zones (${facts.algorithm}),`,
  `   dnsperf -c ${facts.clients} -q ${facts.maxOutstanding}; each resolver started fresh, root and test. keys primed`,
  pad(['server', 'qps', 'avg ms', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'NOERR', 'lost', 'upstream', 'up/look', 'cpu%', 'cpu ms/q'], widths),
];
for (const server of SERVERS) {
  const run = runs[server];
  if (run === undefined) continue;
  const label = server === 'named' ? 'named (direct)' : server;
  lines.push(
    pad(
      [label, run.qps, run.avgMs, run.p50Ms, run.p90Ms, run.p99Ms, run.maxMs, run.rcodes.NOERROR ?? 0, run.lost, run.upstreamQueries, run.upstreamPerLookup, run.cpuPercent, run.cpuMsPerLookup],
      widths,
    ),
  );
}
lines.push(
  '',
  `   ratio oedns/unbound: p50 ${ratios.p50 ?? 'n/a'}, p99 ${ratios.p99 ?? 'n/a'}, avg ${ratios.avg ?? 'n/a'}, qps ${ratios.qps ?? 'n/a'}, cpu per lookup ${ratios.cpuPerLookup ?? 'n/a'}`,
  '   named (direct) = the same names asked of named itself: the floor under both resolvers.',
  '   upstream = queries named received during the run; up/look = per lookup; cpu% = resolver CPU / run time.',
  '',
  '== checks',
);
for (const c of checks) lines.push(`${c.pass ? 'ok  ' : 'FAIL'}  ${c.resolver}: ${c.name} (${c.detail})`);
for (const r of RESOLVERS) {
  const l = logs[r];
  lines.push('', `== ${r} log: ${l.summary}${runs[r]?.exit ? `; exit on SIGTERM: ${runs[r].exit}` : ''}`);
  for (const [msg, n] of l.top) lines.push(`   ${n} x ${msg}`);
}
lines.push('', '== target (informational)');
for (const t of targets) {
  const note = valid ? '' : ' — not met: the checks above failed, so the latencies do not count';
  lines.push(`${t.pass ? 'PASS' : 'FAIL'}  ${t.name} (measured ${t.value ?? 'n/a'})${note}`);
}
process.stdout.write(`${lines.join('\n')}\n`);

const summary = {
  config: {
    zones: facts.zones,
    algorithm: facts.algorithm,
    clients: facts.clients,
    maxOutstanding: facts.maxOutstanding,
    ...hostConfig(facts),
  },
  runs,
  ratiosOednsUnbound: ratios,
  checks,
  valid,
  logs,
  targets,
};
await writeSummary(outJson, summary);

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
