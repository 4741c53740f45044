// Prints the keys benchmark's tables, checks and PASS/FAIL lines, and writes its JSON summary.
//
//   node keys-report.mjs RESULTS_DIR PLAIN_LOG KEYS_LOG OUT_JSON
//
// RESULTS_DIR holds MODE-PASS-KIND.json for MODE plain (oedns --no-keys: A alone) and keys (the
// keys step: A + keys), PASS seq (seq-client.mjs) and loaded (parse-dnsperf.mjs), and
// MODE-cached-KIND-rN.json, one per cached round (parse-dnsperf.mjs), for KIND
// keyed (names that publish an IPSECKEY and a TLSA) and keyless (names that publish neither);
// named-seq-KIND.json (named asked directly); with an upstream delay (facts.upstreamDelayMs > 0),
// proxy-seq-KIND.json (named asked through delay-proxy.mjs, which both oedns then forward
// through); names-keyed.txt, names-keyless.txt and
// names-warmup-keyed.txt (the names asked, "NAME A" a line); and facts.txt, written by keys.sh
// (configuration, upstream query counts, CPU time, how each oedns exited). The warm-up's results
// are there too and left out on purpose.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  pad, parseJsonLine, proxyCheck, ratio, readFacts, round, tallyLog, truncationCheck, upstreamConfig, upstreamOf, upstreamPhrase, writeSummary,
} from './report-lib.mjs';

const [resultsDir, plainLog, keysLog, outJson] = process.argv.slice(2);
if (outJson === undefined) throw new Error('usage: keys-report.mjs RESULTS_DIR PLAIN_LOG KEYS_LOG OUT_JSON');

/** Targets from issue 4; informational, they never change the exit code. */
const TARGET_COLD_RATIO = 1.1;
const TARGET_CACHED_QPS_RATIO = 0.5;
const MODES = ['plain', 'keys'];
const MODE_LABELS = { plain: 'A alone (--no-keys)', keys: 'A + keys', named: 'named', proxy: 'delay proxy' };
const KINDS = ['keyed', 'keyless'];
const KIND_LABELS = { keyed: 'names with keys', keyless: 'names without keys' };
const COLD_PASSES = ['seq', 'loaded'];
const PASSES = [...COLD_PASSES, 'cached'];
/** The action the built-in default takes for a DNSSEC-secure IPSECKEY of the host itself. */
const EXPECTED_ACTION = 'protect/use';

const facts = await readFacts(resultsDir);
const zones = facts.zones;
/** Milliseconds delay-proxy.mjs held each of named's replies; 0: both oedns asked named directly. */
const upstream = upstreamOf(facts);
const { delayMs, proxySummary } = upstream;

const runs = { named: { seq: {} } };
for (const kind of KINDS) runs.named.seq[kind] = await readRun('named', 'seq', kind);
if (delayMs > 0) {
  runs.proxy = { seq: {} };
  for (const kind of KINDS) runs.proxy.seq[kind] = await readRun('proxy', 'seq', kind);
}
for (const mode of MODES) {
  runs[mode] = {};
  for (const pass of PASSES) {
    runs[mode][pass] = {};
    for (const kind of KINDS) runs[mode][pass][kind] = pass === 'cached' ? await readCached(mode, kind) : await readRun(mode, pass, kind);
  }
}

/** keys / plain, per pass and kind. */
const ratios = {};
for (const pass of PASSES) {
  ratios[pass] = {};
  for (const kind of KINDS) {
    const a = runs.plain[pass][kind];
    const b = runs.keys[pass][kind];
    ratios[pass][kind] = {
      p50: ratio(b?.p50Ms, a?.p50Ms),
      p99: ratio(b?.p99Ms, a?.p99Ms),
      avg: ratio(b?.avgMs, a?.avgMs),
      qps: ratio(b?.qps, a?.qps),
      cpuPerLookup: ratio(b?.cpuMsPerLookup, a?.cpuMsPerLookup),
      extraUpstreamPerLookup: b?.upstreamPerLookup != null && a?.upstreamPerLookup != null ? round(b.upstreamPerLookup - a.upstreamPerLookup, 2) : null,
    };
  }
}

const names = {
  keyed: await readNames('names-keyed.txt'),
  keyless: await readNames('names-keyless.txt'),
  warmupKeyed: await readNames('names-warmup-keyed.txt'),
};
const logs = { plain: await readOednsLog(plainLog), keys: await readOednsLog(keysLog) };

const checks = [...MODES.flatMap(runChecks), ...decisionChecks(), ...upstreamChecks(), ...upstreamPathChecks(), ...MODES.map(logCheck)];
const valid = checks.every((c) => c.pass);

const coldByKind = Object.fromEntries(KINDS.map((k) => [k, ratios.seq[k].p50]));
const cachedByKind = Object.fromEntries(KINDS.map((k) => [k, ratios.cached[k].qps]));
const targets = [
  {
    name: `cold A+keys p50 <= ${TARGET_COLD_RATIO} x cold A alone p50, sequential pass (one query in flight), names with and without keys, ${upstreamPhrase(upstream)}`,
    judgedOn: 'seq',
    value: coldByKind,
    p99Ratio: Object.fromEntries(KINDS.map((k) => [k, ratios.seq[k].p99])),
    loadedP50Ratio: Object.fromEntries(KINDS.map((k) => [k, ratios.loaded[k].p50])),
    loadedP99Ratio: Object.fromEntries(KINDS.map((k) => [k, ratios.loaded[k].p99])),
    pass: valid && KINDS.every((k) => coldByKind[k] !== null && coldByKind[k] <= TARGET_COLD_RATIO),
  },
  {
    name: `cached A+keys qps >= ${TARGET_CACHED_QPS_RATIO} x plain cached qps, names with and without keys`,
    judgedOn: 'cached',
    value: cachedByKind,
    pass: valid && KINDS.every((k) => cachedByKind[k] !== null && cachedByKind[k] >= TARGET_CACHED_QPS_RATIO),
  },
];

process.stdout.write(`${reportLines().join('\n')}\n`);

await writeSummary(outJson, {
  config: {
    namesPerSet: zones,
    warmupZones: facts.warmupZones,
    algorithm: facts.algorithm,
    tlsaPort: facts.tlsaPort,
    upstream: upstreamConfig(facts, upstream),
    oednsBuild: { plain: facts['plain.build'] ?? null, keys: facts['keys.build'] ?? null },
    oednsArgs: facts.oednsArgs,
    queryTimeoutSeconds: facts.queryTimeoutSeconds,
    seq: { client: 'seq-client.mjs', inFlight: 1, dnssecOk: true },
    loaded: { client: 'dnsperf -D', clients: facts.clients, maxOutstanding: facts.maxOutstanding },
    cached: { client: 'dnsperf -D', seconds: facts.cachedSeconds, rounds: facts.cachedRounds, clients: facts.cachedClients, maxOutstanding: facts.cachedMaxOutstanding },
    versions: { node: facts['version.node'], named: facts['version.named'], dnsperf: facts['version.dnsperf'], openssl: facts['version.openssl'] },
    host: { cpus: facts.cpus, kernel: facts.kernel },
  },
  runs,
  ratiosKeysPlain: ratios,
  checks,
  valid,
  logs: Object.fromEntries(MODES.map((m) => [m, { counts: logs[m].counts, top: logs[m].top, exit: facts[`${m}.exit`] ?? null }])),
  targets,
});

/**
 * One run with the facts keys.sh recorded for it (per lookup: per answer completed); null if
 * missing. `cachedRound` names one of the cached runs (suffix -rN).
 */
async function readRun(server, pass, kind, cachedRound) {
  const label = `${server}-${pass}-${kind}${cachedRound === undefined ? '' : `-r${cachedRound}`}`;
  const parsed = JSON.parse(await readFile(join(resultsDir, `${label}.json`), 'utf8').catch(() => 'null'));
  if (parsed === null) return null;
  const factKey = label.replace('-', '.');
  const cpuSeconds = facts[`cpu.${factKey}`] ?? null;
  // named's own count (directly or through the proxy) is just the lookups themselves; for oedns it
  // is what it asked upstream.
  const upstream = server === 'named' || server === 'proxy' ? null : (facts[`upstream.${factKey}`] ?? null);
  const answers = parsed.completed ?? 0;
  return {
    ...parsed,
    upstreamQueries: upstream,
    upstreamPerLookup: upstream === null || answers === 0 ? null : round(upstream / answers, 2),
    cpuSeconds,
    cpuPercent: cpuSeconds !== null && parsed.runSeconds > 0 ? round((100 * cpuSeconds) / parsed.runSeconds, 0) : null,
    cpuMsPerLookup: cpuSeconds !== null && answers > 0 ? round((1000 * cpuSeconds) / answers, pass === 'cached' ? 4 : 2) : null,
  };
}

/**
 * The cached runs of one oedns and kind, one per round, as one: the median of their qps and
 * latency figures (each run's own), the largest max, and counts, upstream queries and CPU summed
 * (so cpu% and CPU per answer are over all rounds); `rounds` keeps each run's qps. Null if none.
 */
async function readCached(mode, kind) {
  const rounds = [];
  for (let r = 1; r <= (facts.cachedRounds ?? 1); r++) {
    const run = await readRun(mode, 'cached', kind, r);
    if (run !== null) rounds.push(run);
  }
  if (rounds.length === 0) return null;
  const median = (key) => {
    const values = rounds.map((run) => run[key]).filter((v) => typeof v === 'number').sort((a, b) => a - b);
    if (values.length === 0) return null;
    const mid = Math.floor(values.length / 2);
    return values.length % 2 === 1 ? values[mid] : round((values[mid - 1] + values[mid]) / 2, 3);
  };
  const sum = (key) => (rounds.every((run) => typeof run[key] === 'number') ? rounds.reduce((total, run) => total + run[key], 0) : null);
  const rcodes = {};
  for (const run of rounds) for (const [code, n] of Object.entries(run.rcodes)) rcodes[code] = (rcodes[code] ?? 0) + n;
  const completed = sum('completed');
  const cpuSeconds = sum('cpuSeconds');
  const runSeconds = sum('runSeconds');
  return {
    rounds: rounds.map((run) => run.qps),
    qps: median('qps'),
    avgMs: median('avgMs'),
    p50Ms: median('p50Ms'),
    p90Ms: median('p90Ms'),
    p99Ms: median('p99Ms'),
    maxMs: Math.max(...rounds.map((run) => run.maxMs ?? 0)),
    sent: sum('sent'),
    completed,
    lost: sum('lost'),
    runSeconds,
    rcodes,
    upstreamQueries: sum('upstreamQueries'),
    cpuSeconds,
    cpuPercent: cpuSeconds !== null && runSeconds > 0 ? round((100 * cpuSeconds) / runSeconds, 0) : null,
    cpuMsPerLookup: cpuSeconds !== null && completed > 0 ? round((1000 * cpuSeconds) / completed, 4) : null,
  };
}

async function readNames(file) {
  const text = await readFile(join(resultsDir, file), 'utf8').catch(() => '');
  return text.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter(Boolean).map(nameKey);
}

function nameKey(name) {
  return name.toLowerCase().replace(/\.?$/, '.');
}

/**
 * An oedns log (pino JSON): lines by level, the most frequent messages, and the "decision" lines
 * (one per decision that acts on an address, at info).
 */
async function readOednsLog(file) {
  const decisions = [];
  const { counts, top } = await tallyLog(file, (line) => {
    const entry = parseJsonLine(line);
    if (entry === undefined) return ['not JSON', `[not JSON] ${line.slice(0, 100)}`];
    const level = levelName(entry.level);
    if (entry.msg === 'decision') decisions.push(entry);
    const detail = entry.err?.code ?? entry.reason ?? entry.ede ?? entry.error ?? '';
    return [level, `[${level}] ${entry.msg ?? '(no msg)'}${detail ? ` (${String(detail).slice(0, 80)})` : ''}`];
  });
  const summary = Object.entries(counts).map(([level, n]) => `${n} ${level}`).join(', ') || 'empty';
  return { counts, top, summary, decisions };
}

function levelName(level) {
  return level >= 60 ? 'fatal' : level >= 50 ? 'error' : level >= 40 ? 'warn' : level >= 30 ? 'info' : level >= 20 ? 'debug' : 'trace';
}

/** Every cold lookup NOERROR (none lost), with AD when sequential; every cached answer NOERROR, none from upstream. */
function runChecks(mode) {
  const checks = [];
  for (const pass of PASSES) {
    for (const kind of KINDS) {
      const run = runs[mode][pass][kind];
      const what = `${pass} ${kind}`;
      if (run === null) {
        checks.push({ mode, name: `${what}: ran`, pass: false, detail: 'no results' });
        continue;
      }
      const noerror = run.rcodes.NOERROR ?? 0;
      const other = Object.entries(run.rcodes).filter(([rcode]) => rcode !== 'NOERROR');
      const detail = `NOERROR ${noerror}, lost ${run.lost}${other.map(([c, n]) => `, ${c} ${n}`).join('')}`;
      if (pass === 'cached') {
        checks.push({ mode, name: `${what}: every answer NOERROR, none lost`, pass: noerror > 0 && noerror === run.completed && run.lost === 0, detail });
        checks.push({ mode, name: `${what}: all from the cache (no upstream query)`, pass: run.upstreamQueries === 0, detail: `upstream ${run.upstreamQueries ?? 'n/a'}` });
        continue;
      }
      checks.push({ mode, name: `${what}: all ${zones} lookups NOERROR`, pass: noerror === zones && run.lost === 0, detail });
      if (pass === 'seq') {
        checks.push({ mode, name: `${what}, asked with DO: all ${zones} answers with AD`, pass: run.answersWithAd === zones, detail: `${run.answersWithAd ?? 'n/a'} of ${zones}` });
      }
    }
  }
  return checks;
}

/**
 * The decision lines: with keys, exactly one per name with keys (warm-up and measured; cached
 * answers skip the step), each for a secure IPSECKEY and acting EXPECTED_ACTION on every
 * address; none for a name without keys (a decision that does nothing is logged at debug). With
 * --no-keys, none at all.
 */
function decisionChecks() {
  const checks = [];
  const plainDecisions = logs.plain.decisions.length;
  checks.push({ mode: 'plain', name: 'no "decision" log lines (keys step off)', pass: plainDecisions === 0, detail: `${plainDecisions} lines` });

  const byName = new Map();
  for (const d of logs.keys.decisions) {
    const key = nameKey(String(d.qname ?? ''));
    byName.set(key, [...(byName.get(key) ?? []), d]);
  }
  const keyed = [...names.warmupKeyed, ...names.keyed];
  const once = keyed.filter((n) => byName.get(n)?.length === 1).length;
  const missing = keyed.filter((n) => !byName.has(n));
  const repeated = keyed.filter((n) => (byName.get(n)?.length ?? 0) > 1);
  checks.push({
    mode: 'keys',
    name: `one "decision" log line per name with keys (${names.warmupKeyed.length} warm-up + ${names.keyed.length} measured; none from cached answers)`,
    pass: once === keyed.length && logs.keys.decisions.length === keyed.length,
    detail: `${once} names with exactly one, ${missing.length} without${missing.length ? ` (e.g. ${missing[0]})` : ''}, ${repeated.length} with more; ${logs.keys.decisions.length} lines in all`,
  });
  const acting = logs.keys.decisions.filter((d) => d.ipseckey === 'secure' && d.settled === 'in-place' &&
    Array.isArray(d.addresses) && d.addresses.length > 0 && d.addresses.every((a) => a.action === EXPECTED_ACTION));
  const sample = logs.keys.decisions.find((d) => !acting.includes(d));
  checks.push({
    mode: 'keys',
    name: `every decision: IPSECKEY secure, each address ${EXPECTED_ACTION}, in place`,
    pass: logs.keys.decisions.length > 0 && acting.length === logs.keys.decisions.length,
    detail: `${acting.length} of ${logs.keys.decisions.length}${sample ? `; e.g. ${JSON.stringify({ qname: sample.qname, ipseckey: sample.ipseckey, addresses: sample.addresses, settled: sample.settled })}` : ''}`,
  });
  const keylessSet = new Set(names.keyless);
  const keylessDecided = [...byName.keys()].filter((n) => keylessSet.has(n));
  checks.push({
    mode: 'keys',
    name: 'no acting decision for a name without keys',
    pass: keylessDecided.length === 0,
    detail: `${keylessDecided.length} names${keylessDecided.length ? ` (e.g. ${keylessDecided[0]})` : ''}`,
  });
  return checks;
}

/** That the keys step ran for every kind of name: the keys oedns asks upstream for more per cold lookup. */
function upstreamChecks() {
  return COLD_PASSES.flatMap((pass) => KINDS.map((kind) => {
    const a = runs.plain[pass][kind]?.upstreamPerLookup;
    const b = runs.keys[pass][kind]?.upstreamPerLookup;
    return {
      mode: 'keys',
      name: `${pass} ${kind}: more upstream queries per cold lookup than --no-keys (the keys were asked)`,
      pass: typeof a === 'number' && typeof b === 'number' && b > a,
      detail: `${b ?? 'n/a'} vs ${a ?? 'n/a'}`,
    };
  }));
}

/**
 * The upstream path: no answer from named was truncated and, with a delay, the proxy relayed an
 * answer to every query, held each at least the delay, dropped nothing, and stopped on SIGTERM.
 */
function upstreamPathChecks() {
  const checks = [{ mode: 'named', name: 'no truncated answer upstream (no lookup needed TCP)', ...truncationCheck(facts) }];
  if (delayMs > 0) checks.push({ mode: 'proxy', ...proxyCheck(facts, upstream) });
  return checks;
}


function logCheck(mode) {
  const c = logs[mode].counts;
  const bad = (c.warn ?? 0) + (c.error ?? 0) + (c.fatal ?? 0) + (c['not JSON'] ?? 0);
  return { mode, name: 'log: no warn, error, fatal or non-JSON lines', pass: bad === 0, detail: logs[mode].summary };
}

function reportLines() {
  const warmup = facts.warmupZones > 0 ? `warmed up on ${facts.warmupZones} other zones (dnsperf -D, half with keys)` : 'no warm-up';
  const builds = facts['plain.build'] === facts['keys.build'] ? facts['keys.build'] : `plain ${facts['plain.build']}; keys ${facts['keys.build']}`;
  const lines = [
    '',
    `== the keys step: www.zNNNN.test. A, signed zones (${facts.algorithm}); A alone = oedns --no-keys, A + keys = oedns`,
    `   --tlsa-port ${facts.tlsaPort} (IPSECKEY, CERT, TLSA _${facts.tlsaPort}._tcp asked with each A, validated, decided on);`,
    '   with keys = www has an IPSECKEY (Ed25519, no gateway) and a TLSA; without = neither. Both oedns started fresh',
    `   side by side, root and test. keys primed, ${warmup}; asked in turn, the same names,`,
    '   each cold lookup the first of its zone; every query with DO.',
    delayMs > 0
      ? `   upstream: named through delay-proxy.mjs, each reply held ${delayMs} ms (measured: mean ${proxySummary?.heldMeanMs ?? 'n/a'} ms, ` +
        `max ${proxySummary?.heldMaxMs ?? 'n/a'} ms): every upstream round trip ${delayMs} ms longer`
      : '   upstream: named directly on loopback (answers in about 0.02 ms; BENCH_UPSTREAM_DELAY_MS=0)',
    `   oedns build: ${builds ?? 'n/a'}`,
  ];
  const coldWidths = [31, 8, 8, 8, 8, 8, 8, 6, 5, 9, 8, 5, 8];
  const coldTitles = {
    seq: `cold, sequential: one query in flight (seq-client.mjs), ${zones} names of each kind`,
    loaded: `cold, loaded: dnsperf -c ${facts.clients} -q ${facts.maxOutstanding} -D, ${zones} other names of each kind`,
  };
  for (const pass of COLD_PASSES) {
    lines.push('', `== ${coldTitles[pass]}`,
      pad(['', 'qps', 'avg ms', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'NOERR', 'lost', 'upstream', 'up/look', 'cpu%', 'cpu ms/q'], coldWidths));
    for (const kind of KINDS) {
      const rows = pass === 'seq' ? [['named (direct)', runs.named.seq[kind]]] : [];
      if (pass === 'seq' && runs.proxy) rows.push([`named (+${delayMs} ms proxy)`, runs.proxy.seq[kind]]);
      rows.push(...MODES.map((m) => [MODE_LABELS[m], runs[m][pass][kind]]));
      lines.push(`   ${KIND_LABELS[kind]}`);
      for (const [label, run] of rows) {
        if (run === null) continue;
        lines.push(pad([`   ${label}`, run.qps, run.avgMs, run.p50Ms, run.p90Ms, run.p99Ms, run.maxMs, run.rcodes.NOERROR ?? 0, run.lost,
          run.upstreamQueries, run.upstreamPerLookup, run.cpuPercent, run.cpuMsPerLookup], coldWidths));
      }
      const r = ratios[pass][kind];
      lines.push(`   ratio A+keys / A alone: p50 ${r.p50 ?? 'n/a'}, p99 ${r.p99 ?? 'n/a'}, avg ${r.avg ?? 'n/a'}, qps ${r.qps ?? 'n/a'}, cpu per lookup ${r.cpuPerLookup ?? 'n/a'}; upstream +${r.extraUpstreamPerLookup ?? 'n/a'} per lookup`);
    }
  }
  const cachedWidths = [31, 8, 8, 8, 8, 8, 9, 5, 9, 5, 9];
  lines.push('',
    `== cached: the ${2 * zones} names of each kind both cold passes answered, repeated for ${facts.cachedSeconds} s (dnsperf -c ${facts.cachedClients} -q ${facts.cachedMaxOutstanding} -D -v),`,
    `   ${facts.cachedRounds} times per oedns and kind, alternating; qps and latencies: median run; counts, upstream, CPU: all runs`,
    pad(['', 'qps', 'avg ms', 'p50 ms', 'p99 ms', 'max ms', 'NOERR', 'lost', 'upstream', 'cpu%', 'cpu µs/q', 'qps of each run'], cachedWidths));
  for (const kind of KINDS) {
    lines.push(`   ${KIND_LABELS[kind]}`);
    for (const mode of MODES) {
      const run = runs[mode].cached[kind];
      if (run === null) continue;
      const cpuUs = run.cpuMsPerLookup === null ? null : round(run.cpuMsPerLookup * 1000, 1);
      lines.push(pad([`   ${MODE_LABELS[mode]}`, run.qps, run.avgMs, run.p50Ms, run.p99Ms, run.maxMs, run.rcodes.NOERROR ?? 0, run.lost,
        run.upstreamQueries, run.cpuPercent, cpuUs, run.rounds.map((q) => Math.round(q)).join(' ')], cachedWidths));
    }
    const r = ratios.cached[kind];
    lines.push(`   ratio A+keys / A alone: qps ${r.qps ?? 'n/a'}, p50 ${r.p50 ?? 'n/a'}, cpu per answer ${r.cpuPerLookup ?? 'n/a'}`);
  }
  lines.push(
    '',
    '   named (direct) = the same names asked of named itself: the floor under both.',
    ...(delayMs > 0 ? [`   named (+${delayMs} ms proxy) = the same, through the delay proxy: one upstream round trip as both oedns see it.`] : []),
    '   upstream = queries named received during the pass; up/look = per lookup; cpu% = oedns CPU / pass time (100 = one core);',
    '   cpu ms/q, cpu µs/q = oedns CPU per answer (clock ticks of 10 ms: coarse for short passes). In the cached runs dnsperf',
    '   shares the two cores: when oedns stays well under 100 %, dnsperf is the bottleneck and the qps ratio tends to 1.',
    '',
    '== checks',
  );
  for (const c of checks) lines.push(`${c.pass ? 'ok  ' : 'FAIL'}  ${MODE_LABELS[c.mode]}: ${c.name} (${c.detail})`);
  for (const mode of MODES) {
    const exit = facts[`${mode}.exit`];
    lines.push('', `== oedns ${MODE_LABELS[mode]} log: ${logs[mode].summary}${exit ? `; exit on SIGTERM: ${exit}` : ''}`);
    for (const [msg, n] of logs[mode].top) lines.push(`   ${n} x ${msg}`);
  }
  const note = valid ? '' : ' — not met: the checks above failed, so the figures do not count';
  const byKind = (values) => KINDS.map((k) => `${k} ${values[k] ?? 'n/a'}`).join(', ');
  const [cold, cached] = targets;
  lines.push(
    '',
    '== targets (informational)',
    `${cold.pass ? 'PASS' : 'FAIL'}  ${cold.name}: measured ${byKind(cold.value)}${note}`,
    `      p99 ratio ${byKind(cold.p99Ratio)}; loaded pass, for information: p50 ratio ${byKind(cold.loadedP50Ratio)}, p99 ratio ${byKind(cold.loadedP99Ratio)}`,
    `${cached.pass ? 'PASS' : 'FAIL'}  ${cached.name}: measured ${byKind(cached.value)}${note}`,
  );
  return lines;
}
