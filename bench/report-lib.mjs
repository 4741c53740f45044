// What report.mjs and validate-report.mjs share: the facts lib.sh records, rounding, table cells,
// log tallies and the JSON summary file.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Messages listed per log, most frequent first. */
const TOP_MESSAGES = 8;

/** RESULTS_DIR/facts.txt, one "key value" per line (lib.sh's `fact`); numbers become numbers. */
export async function readFacts(resultsDir) {
  return Object.fromEntries(
    (await readFile(join(resultsDir, 'facts.txt'), 'utf8'))
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const [key, ...rest] = line.split(' ');
        const value = rest.join(' ');
        return [key, /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value];
      }),
  );
}

/** The versions and host every run records (lib.sh's record_host_facts), for the summary's config. */
export function hostConfig(facts) {
  return {
    versions: { node: facts['version.node'], unbound: facts['version.unbound'], named: facts['version.named'], dnsperf: facts['version.dnsperf'] },
    host: { cpus: facts.cpus, kernel: facts.kernel },
  };
}

export function round(value, digits) {
  return typeof value === 'number' && Number.isFinite(value) ? Number(value.toFixed(digits)) : null;
}

export function ratio(a, b) {
  return typeof a === 'number' && typeof b === 'number' && b > 0 ? round(a / b, 3) : null;
}

/** One table row: each cell padded to its width ('n/a' for null), trailing blanks trimmed. */
export function pad(cells, widths) {
  return cells.map((cell, i) => String(cell ?? 'n/a').padEnd(widths[i] ?? 10)).join(' ').trimEnd();
}

/** One line of a pino log, or undefined when it is not JSON. */
export function parseJsonLine(line) {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** pino's numeric levels: 60 fatal, 50 error, 40 warn; anything lower is 'other'. */
export function pinoLevel(level) {
  return level >= 60 ? 'fatal' : level >= 50 ? 'error' : level >= 40 ? 'warn' : 'other';
}

/**
 * Tallies the non-blank lines of a log file (missing: none). `classify(line)` gives
 * `[level, message]`; a line without a message is counted under its level only. Returns the counts
 * by level (starting from `counts`) and the most frequent messages with their counts.
 */
export async function tallyLog(file, classify, counts = {}) {
  const text = await readFile(file, 'utf8').catch(() => '');
  const messages = new Map();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [level, message] = classify(line);
    counts[level] = (counts[level] ?? 0) + 1;
    if (message !== undefined) messages.set(message, (messages.get(message) ?? 0) + 1);
  }
  const top = [...messages].sort((a, b) => b[1] - a[1]).slice(0, TOP_MESSAGES);
  return { counts, top };
}

/** Writes the summary, stamped with the time, as JSON to outJson and says where. */
export async function writeSummary(outJson, summary) {
  await mkdir(dirname(outJson), { recursive: true });
  await writeFile(outJson, `${JSON.stringify({ generatedAt: new Date().toISOString(), ...summary }, null, 2)}\n`);
  process.stdout.write(`\nsummary written to ${outJson}\n`);
}

/** The upstream delay (ms) and, with one, the delay proxy's summary line (facts from lib.sh). */
export function upstreamOf(facts) {
  const delayMs = facts.upstreamDelayMs ?? 0;
  const proxySummary = delayMs > 0 ? (parseJsonLine(String(facts['proxy.summary'] ?? '')) ?? null) : null;
  return { delayMs, proxySummary };
}

/** How the resolvers reached named, for the JSON summary's config. */
export function upstreamConfig(facts, { delayMs, proxySummary }) {
  return {
    delayMs,
    via: delayMs > 0 ? 'delay-proxy.mjs (UDP; each reply held delayMs)' : 'named directly',
    proxy: proxySummary,
    proxyExit: facts['proxy.exit'] ?? null,
    namedTruncatedAnswers: facts['named.truncatedAnswers'] ?? null,
    namedTcpRequests: facts['named.tcpRequests'] ?? null,
  };
}

/** How the resolvers reached named, for the header and the target line. */
export function upstreamPhrase({ delayMs }) {
  return delayMs > 0 ? `upstream delay ${delayMs} ms (delay-proxy.mjs)` : 'no upstream delay (named on loopback)';
}

/** named answered nothing truncated (a resolver would retry over TCP, which the proxy does not relay). */
export function truncationCheck(facts) {
  const truncated = facts['named.truncatedAnswers'];
  return { pass: truncated === 0, detail: `TruncatedResp ${truncated ?? 'n/a'}, TCP requests ${facts['named.tcpRequests'] ?? 'n/a'}` };
}

/** The delay proxy relayed an answer to every query, held each at least the delay, dropped nothing. */
export function proxyCheck(facts, { delayMs, proxySummary: p }) {
  return {
    name: `every query relayed and answered, each reply held ${delayMs} ms, nothing dropped`,
    pass: p !== null && p.queries > 0 && p.replies === p.queries && p.inFlight === 0 &&
      p.forgotten === 0 && p.stray === 0 && p.refused === 0 && p.malformed === 0 && p.full === 0 && p.errors === 0 &&
      p.heldMinMs !== null && p.heldMinMs >= delayMs,
    detail: p === null ? 'no summary' : `${p.queries} queries, ${p.replies} replies, ${p.truncated} truncated, ${p.forgotten} unanswered, ` +
      `${p.stray + p.refused + p.malformed + p.full + p.errors} dropped or failed; held ${p.heldMinMs}-${p.heldMaxMs} ms, mean ${p.heldMeanMs}; ` +
      `exit on SIGTERM: ${facts['proxy.exit'] ?? 'n/a'}`,
  };
}
