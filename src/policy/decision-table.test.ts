import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { decide } from './decide.js';
import { decidingFlow, type Decision, type KeyOutcome } from './decision.js';
import { DECISION_TABLE, renderDecisionTable, rowAction, TABLE_COLUMNS, type TableCell, type TableColumn } from './decision-table.js';
import { excludedRanges, NO_RUNTIME_EXCLUSIONS } from './exclusions.js';
import { parsePolicySet } from './policy-file.js';
import { ShuntTable } from './shunts.js';

const NOW = 1_700_000_000;
const ADDRESS = '192.0.2.1';

function cellOf(decision: Decision): TableCell {
  const { install } = decidingFlow(decision);
  switch (install.kind) {
    case 'policy': return install.level;
    case 'responder': return 'responder';
    case 'pass': return 'pass';
    case 'none': return decision.servfail ? 'nothing + SERVFAIL' : 'nothing';
    case 'block': return decision.servfail ? 'block + SERVFAIL' : 'block';
  }
}

function decideCell(fields: Readonly<Record<string, unknown>>, column: TableColumn, keyIn: 'ipseckey' | 'cert'): TableCell {
  const set = parsePolicySet([{ file: 'table.yaml', text: stringify({ rules: [fields] }) }]);
  const state: KeyOutcome = column === 'shunt' ? 'secure' : column;
  const shunts = new ShuntTable();
  if (column === 'shunt') shunts.recordFailure(ADDRESS, 900, NOW - 10, 'IKE_SA failed');
  const keys = { ipseckey: keyIn === 'ipseckey' ? state : 'none', cert: keyIn === 'cert' ? state : 'none', tlsa: [] } as const;
  const decision = decide(set, { name: 'host.example', address: ADDRESS, keys }, { exclusions: excludedRanges(NO_RUNTIME_EXCLUSIONS), shunts, nowSeconds: NOW });
  return cellOf(decision);
}

const CASES = DECISION_TABLE.flatMap((row) => TABLE_COLUMNS.map((column) => ({ row, column, label: `${row.action} / ${row.dnssec} / ${column}` })));

describe('the decision table (every action × DNSSEC level × key state)', () => {
  it.each(CASES)('$label', ({ row, column }) => {
    const fields = { action: rowAction(row), ...row.fields };
    expect(decideCell(fields, column, 'ipseckey')).toBe(row.cells[column]);
    expect(decideCell(fields, column, 'cert')).toBe(row.cells[column]);
  });

  it.each(CASES.filter(({ row }) => row.fields['dnssec'] === 'insecure-ok'))('spelt with no-dnssec: $label', ({ row, column }) => {
    const flags = ['no-dnssec', ...((row.fields['flags'] as string[] | undefined) ?? [])];
    expect(decideCell({ action: rowAction(row), flags }, column, 'ipseckey')).toBe(row.cells[column]);
  });

  it('covers every action', () => {
    expect(new Set(DECISION_TABLE.map(rowAction))).toEqual(new Set(['require', 'use', 'clear-or-private', 'clear', 'block']));
  });

  it('is printed in the README as renderDecisionTable() renders it (regenerate: see decision-table.ts)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(renderDecisionTable().trim());
  });
});
