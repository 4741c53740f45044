/**
 * Checks what came over the control socket before it is printed: a response line is `unknown`
 * until every field the client uses has the type the server promised.
 */
import { ControlResponseError, ControlSocketError } from './control-protocol.js';
import type { StatusAction, StatusPolicy, StatusReport } from './status-report.js';

type Json = Record<string, unknown>;

const ACTIONS: ReadonlySet<string> = new Set<StatusAction>(['protect', 'block', 'pass', 'responder']);

/** The response's JSON object; throws ControlResponseError for an `{"ok":false}` line. */
export function parseResponseLine(line: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new ControlSocketError('the control socket answered something that is not JSON (is it oedns?)', { cause: error });
  }
  const response = object(value, 'response');
  if (response['ok'] === true) return response;
  if (response['ok'] === false) {
    const error = object(response['error'], 'error');
    throw new ControlResponseError(text(error['code'], 'error.code'), `oedns refused the request: ${text(error['message'], 'error.message')}`);
  }
  throw malformed('ok');
}

/** A StatusReport from the `status` field of a response. */
export function parseStatusReport(value: unknown): StatusReport {
  const r = object(value, 'status');
  const counters = object(r['counters'] ?? {}, 'counters');
  return {
    format: integer(r['format'], 'format'),
    pid: integer(r['pid'], 'pid'),
    version: text(r['version'], 'version'),
    startedAt: text(r['startedAt'], 'startedAt'),
    generatedAt: text(r['generatedAt'], 'generatedAt'),
    uptimeSeconds: integer(r['uptimeSeconds'], 'uptimeSeconds'),
    listen: array(r['listen'], 'listen').map((v, i) => text(v, `listen[${i}]`)),
    backend: text(r['backend'], 'backend'),
    policies: array(r['policies'], 'policies').map((v, i) => parsePolicy(v, `policies[${i}]`)),
    counters: Object.fromEntries(Object.entries(counters).map(([k, v]) => [k, integer(v, `counters.${k}`)])),
  };
}

function parsePolicy(value: unknown, at: string): StatusPolicy {
  const p = object(value, at);
  const selector = object(p['selector'], `${at}.selector`);
  const action = text(p['action'], `${at}.action`);
  if (!ACTIONS.has(action)) throw malformed(`${at}.action`);
  const family = p['family'];
  if (family !== 4 && family !== 6) throw malformed(`${at}.family`);
  return {
    names: array(p['names'], `${at}.names`).map((v, i) => text(v, `${at}.names[${i}]`)),
    local: orNull(p['local'], `${at}.local`, text),
    remote: text(p['remote'], `${at}.remote`),
    family,
    selector: {
      protocol: orNull(selector['protocol'], `${at}.selector.protocol`, integer),
      ports: array(selector['ports'], `${at}.selector.ports`).map((v, i) => {
        const range = object(v, `${at}.selector.ports[${i}]`);
        return { first: integer(range['first'], `${at}.selector.ports[${i}].first`), last: integer(range['last'], `${at}.selector.ports[${i}].last`) };
      }),
    },
    action: action as StatusAction,
    level: oneOf(p['level'], `${at}.level`, ['require', 'use'] as const),
    mode: oneOf(p['mode'], `${at}.mode`, ['transport', 'tunnel'] as const),
    gateway: orNull(p['gateway'], `${at}.gateway`, text),
    peer: orNull(p['peer'], `${at}.peer`, text),
    backend: text(p['backend'], `${at}.backend`),
    expiresAt: text(p['expiresAt'], `${at}.expiresAt`),
    secondsLeft: integer(p['secondsLeft'], `${at}.secondsLeft`),
  };
}

function malformed(field: string): ControlSocketError {
  return new ControlSocketError(`malformed answer on the control socket: field ${field}`);
}

function object(value: unknown, at: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed(at);
  return value as Json;
}

function array(value: unknown, at: string): unknown[] {
  if (!Array.isArray(value)) throw malformed(at);
  return value;
}

function text(value: unknown, at: string): string {
  if (typeof value !== 'string') throw malformed(at);
  return value;
}

function integer(value: unknown, at: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw malformed(at);
  return value;
}

function orNull<T>(value: unknown, at: string, parse: (v: unknown, at: string) => T): T | null {
  return value === null || value === undefined ? null : parse(value, at);
}

function oneOf<const T extends string>(value: unknown, at: string, allowed: readonly T[]): T | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) throw malformed(at);
  return value as T;
}
