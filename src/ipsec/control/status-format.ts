/**
 * The readable form of `oedns status`: a header about the process, then one row per policy with
 * the columns issue 6 asks for (name, local and remote address, level, backend, expiry) and the
 * traffic it covers. Names that share an entry get a line each under the first.
 */
import type { StatusPolicy, StatusReport } from './status-report.js';

/** IANA Assigned Internet Protocol Numbers, the ones oedns selects on, as iproute2 names them. */
const PROTOCOL_NAMES: ReadonlyMap<number, string> = new Map([[1, 'icmp'], [6, 'tcp'], [17, 'udp'], [58, 'ipv6-icmp'], [132, 'sctp']]);
/** Protocols whose selector ranges are ICMP types, not ports. */
const ICMP_PROTOCOLS: ReadonlySet<number> = new Set([1, 58]);

const COLUMNS = ['NAME', 'LOCAL', 'REMOTE', 'TRAFFIC', 'LEVEL', 'BACKEND', 'EXPIRES'] as const;

/** The report as lines of text (no trailing newlines). */
export function formatStatus(report: StatusReport): string[] {
  const lines = [
    `oedns ${safe(report.version)} (pid ${report.pid}), up ${duration(report.uptimeSeconds)}, ` +
      `listening on ${report.listen.length > 0 ? report.listen.map(safe).join(', ') : 'nothing'}`,
  ];
  const counters = Object.entries(report.counters);
  if (counters.length > 0) lines.push(`counters: ${counters.map(([k, v]) => `${safe(k)}=${v}`).join(' ')}`);
  const count = report.policies.length;
  lines.push(`IPsec backend ${safe(report.backend)}: ${count === 0 ? 'no policies held' : `${count} ${count === 1 ? 'policy' : 'policies'}`}`);
  if (count === 0) return lines;
  const rows: string[][] = [[...COLUMNS]];
  for (const policy of report.policies) rows.push(...policyRows(policy));
  lines.push('', ...table(rows));
  return lines;
}

function policyRows(p: StatusPolicy): string[][] {
  const [first = '-', ...more] = p.names.map(safe);
  const row = [first, p.local === null ? '*' : safe(p.local), safe(p.remote), traffic(p), level(p), safe(p.backend), expiry(p)];
  return [row, ...more.map((name) => [name, '', '', '', '', '', ''])];
}

/** `any`, `tcp/443`, `udp/5000-5010,5353`, `ipv6-icmp type 133-136`, `proto 47`. */
export function traffic(p: Pick<StatusPolicy, 'selector'>): string {
  const { protocol, ports } = p.selector;
  if (protocol === null) return 'any';
  const name = PROTOCOL_NAMES.get(protocol) ?? `proto ${protocol}`;
  if (ports.length === 0) return name;
  const ranges = ports.map((r) => (r.first === r.last ? `${r.first}` : `${r.first}-${r.last}`)).join(',');
  return ICMP_PROTOCOLS.has(protocol) ? `${name} type ${ranges}` : `${name}/${ranges}`;
}

/** `require`, `use`, `require tunnel via GW`, or the action (`block`, `pass`, `responder`). */
export function level(p: Pick<StatusPolicy, 'action' | 'level' | 'mode' | 'gateway'>): string {
  if (p.action !== 'protect') return p.action;
  const tunnel = p.mode === 'tunnel' ? ` tunnel${p.gateway === null ? '' : ` via ${safe(p.gateway)}`}` : '';
  return `${p.level ?? '?'}${tunnel}`;
}

function expiry(p: StatusPolicy): string {
  const at = safe(p.expiresAt).replace(/\.\d{3}Z$/, 'Z');
  return p.secondsLeft > 0 ? `${at} (in ${duration(p.secondsLeft)})` : `${at} (expired)`;
}

/** `42s`, `4m 59s`, `2h 03m`, `3d 04h`. */
export function duration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d ${pad(Math.floor(s / 3600) % 24)}h`;
}

function table(rows: readonly string[][]): string[] {
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

/**
 * Text from the report as it may be printed to a terminal: anything outside printable ASCII
 * (an escape sequence in a name from DNS, say) becomes `\xNN` / `\u{...}`.
 */
export function safe(value: string): string {
  return value.replace(/[^\x20-\x7e]/gu, (c) => {
    const code = c.codePointAt(0) ?? 0;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}
