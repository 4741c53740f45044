// Reads the output of one `dnsperf -v` run and prints its figures as one JSON object.
//
//   node parse-dnsperf.mjs FILE
//
// dnsperf 2.10 prints no percentiles, only the average, so they come from -v, which prints one
// line per answered query: "> NOERROR h000001.bench.test. A 0.000339" (latency in seconds).
// Lost queries have no such line; they are counted from the summary instead.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: parse-dnsperf.mjs FILE');

const PER_QUERY = /^> (\S+) \S+ \S+ (\d+\.\d+)$/;
const SUMMARY = {
  sent: /^\s*Queries sent:\s+(\d+)/,
  completed: /^\s*Queries completed:\s+(\d+)/,
  lost: /^\s*Queries lost:\s+(\d+)/,
  runSeconds: /^\s*Run time \(s\):\s+([\d.]+)/,
  qps: /^\s*Queries per second:\s+([\d.]+)/,
  avgLatencySeconds: /^\s*Average Latency \(s\):\s+([\d.]+)/,
  maxLatencySeconds: /^\s*Average Latency \(s\):.*max ([\d.]+)/,
};

let latenciesSeconds = new Float64Array(1 << 16);
let count = 0;
const rcodes = {};
const summary = {};
let responseCodesLine;

for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
  const query = PER_QUERY.exec(line);
  if (query !== null) {
    if (count === latenciesSeconds.length) {
      const grown = new Float64Array(count * 2);
      grown.set(latenciesSeconds);
      latenciesSeconds = grown;
    }
    latenciesSeconds[count++] = Number(query[2]);
    rcodes[query[1]] = (rcodes[query[1]] ?? 0) + 1;
    continue;
  }
  if (/^\s*Response codes:/.test(line)) responseCodesLine = line.trim();
  for (const [key, pattern] of Object.entries(SUMMARY)) {
    const match = pattern.exec(line);
    if (match !== null) summary[key] = Number(match[1]);
  }
}

if (summary.qps === undefined) throw new Error(`${file}: no "Queries per second" line; did dnsperf fail?`);
const sorted = latenciesSeconds.subarray(0, count).sort();
/** Nearest-rank percentile (the smallest latency at or above which p % of answers fall). */
const percentileMs = (p) => (count === 0 ? null : sorted[Math.max(0, Math.ceil((p / 100) * count) - 1)] * 1000);
const round = (value, digits) => (value === null || value === undefined ? null : Number(value.toFixed(digits)));

process.stdout.write(
  `${JSON.stringify({
    sent: summary.sent ?? null,
    completed: summary.completed ?? null,
    lost: summary.lost ?? null,
    runSeconds: round(summary.runSeconds, 3),
    qps: round(summary.qps, 1),
    avgMs: round(summary.avgLatencySeconds * 1000, 3),
    p50Ms: round(percentileMs(50), 3),
    p90Ms: round(percentileMs(90), 3),
    p99Ms: round(percentileMs(99), 3),
    maxMs: round(summary.maxLatencySeconds * 1000, 3),
    rcodes,
    responseCodesLine: responseCodesLine ?? null,
  })}\n`,
);
