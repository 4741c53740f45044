/**
 * Every action × DNSSEC level × key state, written out by hand: the specification the engine is
 * tested against (decision-table.test.ts runs each cell through the parser and decide()) and the
 * table printed in the README ("Policies"). Print the markdown after a change with
 *   npm run build && node -e "import('./dist/policy/decision-table.js').then((m) => process.stdout.write(m.renderDecisionTable()))"
 * and paste it over the README's table (the test fails while the README is out of date).
 */
import type { KeyOutcome } from './decision.js';

/** What one cell says: the install and whether the client gets SERVFAIL. */
export type TableCell = 'require' | 'use' | 'responder' | 'pass' | 'nothing' | 'nothing + SERVFAIL' | 'block' | 'block + SERVFAIL';

/** The columns: a key outcome, or `shunt` (a secure key, but IKE with the peer failed recently). */
export type TableColumn = KeyOutcome | 'shunt';
export const TABLE_COLUMNS: readonly TableColumn[] = ['none', 'insecure', 'secure', 'bogus', 'timeout', 'shunt'];

export interface DecisionTableRow {
  /** The rule's fields besides `action`, as in a policy file. */
  readonly fields: Readonly<Record<string, unknown>>;
  readonly action: string;
  /** How the README shows the DNSSEC settings. */
  readonly dnssec: string;
  readonly cells: Readonly<Record<TableColumn, TableCell>>;
}

const SF = 'block + SERVFAIL' as const;
const NO = 'nothing' as const;
const INSECURE_OK = { dnssec: 'insecure-ok' };
const IGNORE_BOGUS = { dnssec: 'insecure-ok', flags: ['ignore-bogus'] };

export const DECISION_TABLE: readonly DecisionTableRow[] = [
  { action: 'require', dnssec: 'secure', fields: {}, cells: { none: SF, insecure: SF, secure: 'require', bogus: SF, timeout: SF, shunt: SF } },
  { action: 'require', dnssec: 'insecure-ok', fields: INSECURE_OK, cells: { none: SF, insecure: 'require', secure: 'require', bogus: SF, timeout: SF, shunt: SF } },
  { action: 'require', dnssec: 'insecure-ok + ignore-bogus', fields: IGNORE_BOGUS, cells: { none: SF, insecure: 'require', secure: 'require', bogus: 'require', timeout: SF, shunt: SF } },
  { action: 'use', dnssec: 'secure', fields: {}, cells: { none: NO, insecure: NO, secure: 'use', bogus: NO, timeout: NO, shunt: 'pass' } },
  { action: 'use', dnssec: 'insecure-ok', fields: INSECURE_OK, cells: { none: NO, insecure: 'use', secure: 'use', bogus: NO, timeout: NO, shunt: 'pass' } },
  { action: 'use', dnssec: 'insecure-ok + ignore-bogus', fields: IGNORE_BOGUS, cells: { none: NO, insecure: 'use', secure: 'use', bogus: 'use', timeout: NO, shunt: 'pass' } },
  {
    action: 'use, on-timeout: servfail', dnssec: 'secure', fields: { 'on-timeout': 'servfail' },
    cells: { none: NO, insecure: NO, secure: 'use', bogus: NO, timeout: 'nothing + SERVFAIL', shunt: 'pass' },
  },
  { action: 'clear-or-private', dnssec: 'secure', fields: {}, cells: { none: NO, insecure: NO, secure: 'responder', bogus: NO, timeout: NO, shunt: 'responder' } },
  { action: 'clear-or-private', dnssec: 'insecure-ok', fields: INSECURE_OK, cells: { none: NO, insecure: 'responder', secure: 'responder', bogus: NO, timeout: NO, shunt: 'responder' } },
  {
    action: 'clear-or-private', dnssec: 'insecure-ok + ignore-bogus', fields: IGNORE_BOGUS,
    cells: { none: NO, insecure: 'responder', secure: 'responder', bogus: 'responder', timeout: NO, shunt: 'responder' },
  },
  { action: 'clear', dnssec: '—', fields: {}, cells: { none: NO, insecure: NO, secure: NO, bogus: NO, timeout: NO, shunt: NO } },
  { action: 'block', dnssec: '—', fields: {}, cells: { none: 'block', insecure: 'block', secure: 'block', bogus: 'block', timeout: 'block', shunt: 'block' } },
];

/** The action word of a row (`use, on-timeout: servfail` → `use`). */
export function rowAction(row: DecisionTableRow): string {
  return row.action.split(',')[0] ?? row.action;
}

const CELL_TEXT: Readonly<Record<TableCell, string>> = {
  require: 'policy `require`',
  use: 'policy `use`',
  responder: 'responder only',
  pass: 'pass (clear)',
  nothing: 'nothing',
  'nothing + SERVFAIL': 'nothing, **SERVFAIL**',
  block: 'drop',
  'block + SERVFAIL': 'drop, **SERVFAIL**',
};

/** The table as markdown, with the notes that explain its columns. */
export function renderDecisionTable(): string {
  const header = ['action', 'dnssec', ...TABLE_COLUMNS.map((c) => (c === 'shunt' ? 'secure, IKE failed' : c))];
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...DECISION_TABLE.map((row) => `| \`${row.action}\` | ${row.dnssec} | ${TABLE_COLUMNS.map((c) => CELL_TEXT[row.cells[c]]).join(' | ')} |`),
  ];
  const notes = [
    '',
    'Columns: the DNSSEC state of the best key among the rule\'s `keys` (`none`: no key record;',
    '`timeout`: the key lookup did not finish within `timeout-ms`; *secure, IKE failed*: a failure',
    'shunt is in force for the address). `no-dnssec` reads as `dnssec: insecure-ok`. An answer is',
    'given unless the cell says SERVFAIL; `require` and `block` always answer SERVFAIL if their',
    'install is not in place within `timeout-ms`. A `pass` is an explicit bypass for the shunt\'s',
    'lifetime; after it the address is decided again, and under `require` that is never clear.',
    '',
  ];
  return `${lines.join('\n')}\n${notes.join('\n')}`;
}
