// Prints the benchmark's tables and PASS/FAIL lines and writes the JSON summary.
//
//   node report.mjs RESULTS_DIR OEDNS_LOG OUT_JSON
//
// RESULTS_DIR holds WORKLOAD-RESOLVER.json files from parse-dnsperf.mjs and facts.txt, one
// "key value" per line, written by run.sh (configuration, upstream query counts, memory).
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { hostConfig, pad, parseJsonLine, pinoLevel, ratio, readFacts, round, tallyLog, writeSummary } from './report-lib.mjs';

const [resultsDir, oednsLog, outJson] = process.argv.slice(2);
if (outJson === undefined) throw new Error('usage: report.mjs RESULTS_DIR OEDNS_LOG OUT_JSON');

/** Targets from the brief; informational, they never change the exit code. */
const TARGET_CACHED_QPS_RATIO = 0.5;
const TARGET_OEDNS_RSS_MIB = 200;
const RESOLVERS = ['oedns', 'unbound'];
const WORKLOADS = [
  { key: 'cached', title: 'cached: small name set, warm cache, fixed duration' },
  { key: 'uncached', title: 'uncached: every name once, nearly all forwarded upstream' },
  { key: 'recheck', title: 'recheck: every name again, all should come from the cache' },
];

const facts = await readFacts(resultsDir);
const files = new Set(await readdir(resultsDir));
const runs = {};
for (const { key } of WORKLOADS) {
  for (const resolver of RESOLVERS) {
    const name = `${key}-${resolver}.json`;
    if (!files.has(name)) continue;
    runs[key] ??= {};
    runs[key][resolver] = {
      ...JSON.parse(await readFile(join(resultsDir, name), 'utf8')),
      upstreamQueries: facts[`upstream.${key}.${resolver}`] ?? null,
      resolverCpuSeconds: facts[`cpu.${key}.${resolver}`] ?? null,
    };
    const run = runs[key][resolver];
    run.resolverCpuPercent =
      run.resolverCpuSeconds !== null && run.runSeconds > 0 ? round((100 * run.resolverCpuSeconds) / run.runSeconds, 0) : null;
  }
}

const mib = (kB) => (typeof kB === 'number' ? round(kB / 1024, 1) : null);
const memory = Object.fromEntries(
  RESOLVERS.map((r) => [
    r,
    {
      rssMiB: mib(facts[`rss.${r}.kB`]),
      peakRssMiB: mib(facts[`hwm.${r}.kB`]),
      rssBeforeUncachedMiB: mib(facts[`rss.${r}.beforeUncached.kB`]),
      rssSettledMiB: mib(facts[`rss.${r}.settled.kB`]),
    },
  ]),
);

const log = await summarizeLog(oednsLog);
const cachedRatio = ratio(runs.cached?.oedns?.qps, runs.cached?.unbound?.qps);
const targets = [
  {
    name: `cached qps ratio oedns/unbound >= ${TARGET_CACHED_QPS_RATIO}`,
    value: cachedRatio,
    pass: cachedRatio !== null && cachedRatio >= TARGET_CACHED_QPS_RATIO,
  },
  {
    name: `oedns RSS with ${facts.names} cached names <= ${TARGET_OEDNS_RSS_MIB} MiB`,
    value: memory.oedns.rssMiB,
    pass: memory.oedns.rssMiB !== null && memory.oedns.rssMiB <= TARGET_OEDNS_RSS_MIB,
  },
];

const lines = [];
for (const { key, title } of WORKLOADS) {
  if (runs[key] === undefined) continue;
  lines.push('', `== ${title}`, table(runs[key]));
  lines.push(`   qps ratio oedns/unbound: ${ratio(runs[key].oedns?.qps, runs[key].unbound?.qps) ?? 'n/a'}`);
}
lines.push(
  '',
  'upstream = queries named received during the run; cpu% = resolver CPU time / run time (100 = one core)',
);
lines.push('', `== memory after the uncached run (${facts.names} names cached)`);
lines.push(
  pad(['resolver', 'RSS MiB', 'peak MiB', 'before MiB', 'settled MiB'], [9, 9, 9, 11, 11]),
  ...RESOLVERS.map((r) =>
    pad(
      [r, memory[r].rssMiB, memory[r].peakRssMiB, memory[r].rssBeforeUncachedMiB, memory[r].rssSettledMiB],
      [9, 9, 9, 11, 11],
    ),
  ),
  '   (RSS = right after the uncached run; peak = VmHWM then; before = after the cached run;',
  `    settled = after the recheck run and ${facts.settleSeconds ?? 0} s idle, names still cached)`,
);
lines.push('', `== oedns log: ${log.warn} warn, ${log.error} error, ${log.fatal} fatal lines`);
for (const [msg, n] of log.top) lines.push(`   ${n} x ${msg}`);
if (facts['oedns.exit']) lines.push(`   exit on SIGTERM: ${facts['oedns.exit']}`);
lines.push('', '== targets (informational)');
for (const t of targets) lines.push(`${t.pass ? 'PASS' : 'FAIL'}  ${t.name} (measured ${t.value ?? 'n/a'})`);
process.stdout.write(`${lines.join('\n')}\n`);

const summary = {
  config: {
    seconds: facts.seconds,
    names: facts.names,
    cachedNames: facts.cachedNames,
    settleSeconds: facts.settleSeconds,
    clients: facts.clients,
    maxOutstanding: facts.maxOutstanding,
    ...hostConfig(facts),
  },
  workloads: Object.fromEntries(
    Object.entries(runs).map(([key, byResolver]) => [
      key,
      { ...byResolver, qpsRatioOednsUnbound: ratio(byResolver.oedns?.qps, byResolver.unbound?.qps) },
    ]),
  ),
  memory,
  oednsLog: log,
  targets,
};
await writeSummary(outJson, summary);

function table(byResolver) {
  const widths = [9, 10, 8, 8, 8, 8, 9, 7, 9, 5];
  const rows = [
    pad(['resolver', 'qps', 'avg ms', 'p50 ms', 'p90 ms', 'p99 ms', 'answered', 'lost', 'upstream', 'cpu%'], widths),
  ];
  for (const r of RESOLVERS) {
    const run = byResolver[r];
    if (run === undefined) continue;
    rows.push(pad([r, run.qps, run.avgMs, run.p50Ms, run.p90Ms, run.p99Ms, run.completed, run.lost, run.upstreamQueries, run.resolverCpuPercent], widths));
    const other = Object.entries(run.rcodes).filter(([rcode]) => rcode !== 'NOERROR');
    if (other.length > 0) rows.push(`   ${r} non-NOERROR answers: ${other.map(([c, n]) => `${c} ${n}`).join(', ')}`);
  }
  return rows.join('\n');
}

/** Counts pino lines by level (40 warn, 50 error, 60 fatal) and the most frequent messages. */
async function summarizeLog(file) {
  const { counts, top } = await tallyLog(
    file,
    (line) => {
      const entry = parseJsonLine(line);
      if (entry === undefined) return ['other', `(not JSON) ${line.slice(0, 100)}`];
      const level = pinoLevel(entry.level);
      return [level, `[${level}] ${entry.msg ?? '(no msg)'}${entry.err?.code ? ` (${entry.err.code})` : ''}`];
    },
    { warn: 0, error: 0, fatal: 0, other: 0 },
  );
  return { ...counts, top };
}
