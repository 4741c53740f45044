/**
 * The state files' text back into data, checked field by field: the snapshot (ipsec-state.json)
 * here, the journal's lines with the same checks in state-journal.ts. The files are oedns' own,
 * but they are read after a crash and may have been edited or cut short: nothing in them reaches
 * a backend unchecked (the backends re-check addresses again before any command runs).
 */
import { isIP } from 'node:net';
import { AppError } from '../core/errors.js';
import type { BackendName, PolicyAction, PolicySpec, TrafficSelector } from './backend.js';
import type { IpsecState, StateEntry, StateInFlight } from './state-file.js';

/** A state file that cannot be read, parsed or written. */
export class StateFileError extends AppError {
  readonly code = 'ERR_IPSEC_STATE';
}

/** 2: the snapshot names its journal, in-flight batches carry their number. 1 (no journal) is still read. */
export const STATE_FILE_VERSION = 2;
const READABLE_VERSIONS: readonly unknown[] = [1, STATE_FILE_VERSION];

const MAX_PORT = 65_535;
const MAX_PROTOCOL = 255;

function fail(where: string, what: string): never {
  throw new StateFileError(`${where} ${what}`);
}

function object(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(where, 'is not an object');
  return value as Record<string, unknown>;
}

function address(value: unknown, family: 4 | 6, where: string): string {
  if (typeof value !== 'string' || isIP(value) !== family) fail(where, `is not an IPv${family} address`);
  return value;
}

function optional<T>(value: unknown, read: (v: unknown) => T): T | undefined {
  return value === undefined ? undefined : read(value);
}

function integer(value: unknown, max: number, where: string): number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > max) fail(where, `is not an integer in 0..${max}`);
  return value as number;
}

function strings(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || value.some((s) => typeof s !== 'string')) fail(where, 'is not a list of strings');
  return value as string[];
}

function selectorOf(value: unknown, where: string): TrafficSelector {
  const raw = object(value, where);
  const protocol = optional(raw['protocol'], (v) => integer(v, MAX_PROTOCOL, `${where}.protocol`));
  const ports = optional(raw['ports'], (v) => {
    if (!Array.isArray(v)) fail(`${where}.ports`, 'is not a list');
    return v.map((p, i) => {
      const range = object(p, `${where}.ports[${i}]`);
      return { first: integer(range['first'], MAX_PORT, `${where}.ports[${i}].first`), last: integer(range['last'], MAX_PORT, `${where}.ports[${i}].last`) };
    });
  });
  return { protocol, ports };
}

function actionOf(value: unknown, where: string): PolicyAction {
  const raw = object(value, where);
  switch (raw['kind']) {
    case 'block':
    case 'pass':
    case 'responder':
      return { kind: raw['kind'] };
    case 'protect': {
      const level = raw['level'];
      const mode = raw['mode'];
      if (level !== 'require' && level !== 'use') fail(`${where}.level`, 'is not require or use');
      if (mode !== 'transport' && mode !== 'tunnel') fail(`${where}.mode`, 'is not transport or tunnel');
      const gateway = optional(raw['gateway'], (v) => {
        if (typeof v !== 'string' || isIP(v) === 0) fail(`${where}.gateway`, 'is not an address');
        return v;
      });
      return { kind: 'protect', level, mode, gateway };
    }
    default:
      return fail(`${where}.kind`, `is an unknown action ${JSON.stringify(raw['kind'])}`);
  }
}

/** Checks one spec from the state file; throws StateFileError naming the field. */
export function decodeSpec(value: unknown, where: string): PolicySpec {
  const raw = object(value, where);
  const family = raw['family'];
  if (family !== 4 && family !== 6) fail(`${where}.family`, 'is not 4 or 6');
  const peer = optional(raw['peer'], (v) => {
    const p = object(v, `${where}.peer`);
    if (typeof p['identity'] !== 'string' || typeof p['publicKeyPem'] !== 'string') fail(`${where}.peer`, 'needs identity and publicKeyPem strings');
    return { identity: p['identity'], publicKeyPem: p['publicKeyPem'] };
  });
  const proposals = optional(raw['proposals'], (v) => {
    const p = object(v, `${where}.proposals`);
    return { ike: strings(p['ike'], `${where}.proposals.ike`), esp: strings(p['esp'], `${where}.proposals.esp`) };
  });
  const initiate = optional(raw['initiate'], (v) => {
    if (typeof v !== 'boolean') fail(`${where}.initiate`, 'is not a boolean');
    return v;
  });
  const shuntSeconds = optional(raw['shuntSeconds'], (v) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(`${where}.shuntSeconds`, 'is not a number of seconds');
    return v;
  });
  return {
    family,
    local: optional(raw['local'], (v) => address(v, family, `${where}.local`)),
    remote: address(raw['remote'], family, `${where}.remote`),
    selector: selectorOf(raw['selector'], `${where}.selector`),
    action: actionOf(raw['action'], `${where}.action`),
    peer, initiate, shuntSeconds, proposals,
  };
}

/** A snapshot as read: the state, and the id of the journal that continues it (none before version 2). */
export interface DecodedSnapshot {
  readonly state: IpsecState;
  readonly journalId: string | undefined;
}

/** Parses and checks a snapshot's text; throws StateFileError naming what is wrong. */
export function decodeSnapshot(text: string): DecodedSnapshot {
  const top = object(parseJson(text), 'the file');
  if (!READABLE_VERSIONS.includes(top['version'])) throw new StateFileError(`unknown version ${JSON.stringify(top['version'])}`);
  // Any backend's name is kept (one this build does not know is still "another backend").
  const backend = top['backend'];
  if (typeof backend !== 'string' || !/^[a-z][a-z0-9-]{0,31}$/.test(backend)) throw new StateFileError(`backend ${JSON.stringify(backend)} is not a backend name`);
  const journalId = optional(top['journal'], (v) => {
    if (typeof v !== 'string' || v.length === 0) fail('journal', 'is not a journal id');
    return v;
  });
  const entries = list(top['entries'], 'entries').map((value, i) => decodeEntry(value, `entries[${i}]`));
  const inFlight = list(top['inFlight'], 'inFlight').map((value, i) => decodeInFlight(value, `inFlight[${i}]`));
  const pid = Number.isInteger(top['pid']) ? top['pid'] as number : 0;
  const writtenAtMs = Number.isFinite(top['writtenAtMs']) ? top['writtenAtMs'] as number : 0;
  return { state: { backend: backend as BackendName, pid, writtenAtMs, entries, inFlight }, journalId };
}

/** Parses and checks a snapshot's text, ignoring any journal; throws StateFileError naming what is wrong. */
export function decodeState(text: string): IpsecState {
  return decodeSnapshot(text).state;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new StateFileError(`not JSON: ${(error as Error).message}`);
  }
}

export function decodeEntry(value: unknown, where: string): StateEntry {
  const entry = object(value, where);
  const owners = list(entry['owners'], `${where}.owners`).map((pair, j) => {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || !Number.isFinite(pair[1])) {
      throw new StateFileError(`${where}.owners[${j}] is not [owner, expiry ms]`);
    }
    return [pair[0], pair[1] as number] as const;
  });
  return { spec: decodeSpec(entry['spec'], `${where}.spec`), owners };
}

export function decodeInFlight(value: unknown, where: string): StateInFlight {
  const item = object(value, where);
  const owner = item['owner'];
  if (owner !== undefined && typeof owner !== 'string') throw new StateFileError(`${where}.owner is not a string`);
  const id = optional(item['id'], (v) => batchId(v, `${where}.id`));
  return { id, owner, specs: list(item['specs'], `${where}.specs`).map((s, j) => decodeSpec(s, `${where}.specs[${j}]`)) };
}

export function batchId(value: unknown, where: string): number {
  return integer(value, Number.MAX_SAFE_INTEGER, where);
}

export function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new StateFileError(`${what} is not a list`);
  return value;
}

export { object as decodeObject };
