/**
 * The IPsec state journal (`ipsec-state.journal`): what changed since the snapshot
 * (`ipsec-state.json`, state-file.ts), so that recording a change costs the size of the change,
 * not of everything held. Reading the state is the snapshot, then the journal's groups in order.
 *
 * Glossary:
 *   - group: one line, one coalesced write: the batches that began and ended since the line before,
 *     and the entries that changed, as they are now. A group is whole or absent: its line is one
 *     write, and a line cut short is never applied. So a crash between two writes leaves a state
 *     that was true at some moment, as a whole snapshot did.
 *   - journal id: a random name the snapshot and the journal's first line (its header) both carry.
 *     Compacting writes a snapshot with a new id and then starts the journal again; a journal
 *     whose header names another id belongs to an older snapshot (the process died between the
 *     two steps) and is ignored: that snapshot already holds all it said.
 *
 * Damage: the last line may be cut short (the process died appending it, or the OS crashed before
 * the page cache reached the disk): it is ignored. A bad line before the last cannot come from a
 * crash (nothing appends after a failed write; the next write is a new snapshot), so the journal
 * is then corrupt, like a snapshot that does not parse.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { PolicySpec } from './backend.js';
import { policyKey } from './policy-key.js';
import {
  batchId, decodeEntry, decodeInFlight, decodeObject, decodeSpec, list, StateFileError,
} from './state-decode.js';
import type { IpsecState, StateEntry, StateInFlight } from './state-file.js';

export const JOURNAL_FILE_NAME = 'ipsec-state.journal';
const JOURNAL_FILE_MODE = 0o600;

/** One coalesced write: what changed between two moments. Empty lists are left out of the line. */
export interface JournalGroup {
  readonly atMs: number;
  /** Batches that began (each with its `id`), now in flight. */
  readonly begin: readonly StateInFlight[];
  /** Numbers of batches that finished. */
  readonly end: readonly number[];
  /** Entries as they are now: added, renewed, or with an owner fewer. */
  readonly set: readonly StateEntry[];
  /** Entries nobody holds any more (by their selector; the spec they had). */
  readonly gone: readonly PolicySpec[];
}

export interface DecodedJournal {
  readonly groups: readonly JournalGroup[];
  readonly tornLine: boolean;
  readonly stale: boolean;
}

export function journalPath(dir: string): string {
  return join(dir, JOURNAL_FILE_NAME);
}

export function encodeGroup(group: JournalGroup): string {
  const { atMs, begin, end, set, gone } = group;
  const nonEmpty = <T>(items: readonly T[]): readonly T[] | undefined => (items.length > 0 ? items : undefined);
  return `${JSON.stringify({ atMs, begin: nonEmpty(begin), end: nonEmpty(end), set: nonEmpty(set), gone: nonEmpty(gone) })}\n`;
}

function decodeGroup(value: unknown, where: string): JournalGroup {
  const raw = decodeObject(value, where);
  const items = (field: string): unknown[] => (raw[field] === undefined ? [] : list(raw[field], `${where}.${field}`));
  if (!Number.isFinite(raw['atMs'])) throw new StateFileError(`${where}.atMs is not a time`);
  return {
    atMs: raw['atMs'] as number,
    begin: items('begin').map((v, i) => {
      const batch = decodeInFlight(v, `${where}.begin[${i}]`);
      if (batch.id === undefined) throw new StateFileError(`${where}.begin[${i}].id is missing`);
      return batch;
    }),
    end: items('end').map((v, i) => batchId(v, `${where}.end[${i}]`)),
    set: items('set').map((v, i) => decodeEntry(v, `${where}.set[${i}]`)),
    gone: items('gone').map((v, i) => decodeSpec(v, `${where}.gone[${i}]`)),
  };
}

/** The journal's groups after its header, if the header names `journalId`; throws StateFileError when corrupt. */
export function decodeJournal(text: string, journalId: string): DecodedJournal {
  const lines = text.split('\n').map((line, i) => ({ line, number: i + 1 })).filter(({ line }) => line.trim() !== '');
  const [header, ...rest] = lines;
  const headerId = header && tryParse(header.line);
  if (typeof headerId !== 'object' || headerId === null || (headerId as Record<string, unknown>)['journal'] !== journalId) {
    // No header (the process died starting the journal) or another snapshot's journal.
    return { groups: [], tornLine: false, stale: header !== undefined };
  }
  const groups: JournalGroup[] = [];
  for (const [i, { line, number }] of rest.entries()) {
    const value = tryParse(line);
    if (value === undefined) {
      if (i === rest.length - 1) return { groups, tornLine: true, stale: false };
      throw new StateFileError(`journal line ${number} is not JSON`);
    }
    groups.push(decodeGroup(value, `journal line ${number}`));
  }
  return { groups, tornLine: false, stale: false };
}

function tryParse(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}

/** The snapshot's state with the groups applied in order. */
export function replayJournal(snapshot: IpsecState, groups: readonly JournalGroup[]): IpsecState {
  if (groups.length === 0) return snapshot;
  const entries = new Map(snapshot.entries.map((e) => [policyKey(e.spec), e]));
  // Batches without a number (a version 1 snapshot) cannot end by a journal line: they stay in flight.
  const numbered = new Map<number, StateInFlight>();
  const unnumbered: StateInFlight[] = [];
  for (const batch of snapshot.inFlight) {
    if (batch.id === undefined) unnumbered.push(batch);
    else numbered.set(batch.id, batch);
  }
  for (const group of groups) {
    for (const batch of group.begin) numbered.set(batch.id!, batch);
    for (const id of group.end) numbered.delete(id);
    for (const entry of group.set) entries.set(policyKey(entry.spec), entry);
    for (const spec of group.gone) entries.delete(policyKey(spec));
  }
  return {
    ...snapshot,
    writtenAtMs: groups[groups.length - 1]!.atMs,
    entries: [...entries.values()],
    inFlight: [...unnumbered, ...numbered.values()],
  };
}

/** Starts the journal over (0600) with the header naming `journalId`: the snapshot with that id holds everything before. */
export async function startJournal(dir: string, journalId: string): Promise<void> {
  const path = journalPath(dir);
  try {
    const handle = await open(path, 'w', JOURNAL_FILE_MODE);
    try {
      await handle.chmod(JOURNAL_FILE_MODE);
      await handle.writeFile(`${JSON.stringify({ journal: journalId })}\n`);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw new StateFileError(`cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Appends one group's line in one write. Opened per write, never created: a state directory or
 * journal removed under a running oedns fails the write (the next one is a snapshot) instead of
 * going to a file nobody reads, or to a journal without its header.
 */
export async function appendJournal(dir: string, line: string): Promise<void> {
  const path = journalPath(dir);
  try {
    const handle = await open(path, constants.O_WRONLY | constants.O_APPEND);
    try {
      await handle.write(line);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw new StateFileError(`cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
}
