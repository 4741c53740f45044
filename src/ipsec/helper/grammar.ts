/**
 * The fixed grammar between an unprivileged `oedns serve` and the privileged `oedns ipsec-helper`
 * (issue 6; the key separation of the TLS Pool, seed 002: the part that holds the privilege
 * accepts a few narrow requests and checks every field of them).
 *
 * Lines of printable ASCII (0x20-0x7e) ending in LF, at most MAX_LINE_BYTES with the LF; words
 * are separated by one space. One request at a time per connection, answered in order.
 *
 *   request                       reply
 *   HELLO 1                       OK 1 <backend>             (first on every connection)
 *   APPLY <n>                     OK                         (then n lines: ADD|REMOVE <policy>)
 *   LIST                          OK <n>                     (then n lines: POLICY <policy> backend=B handle=H)
 *   REMOVE-ALL                    OK
 *   any                           ERR <code> <message>
 *
 * <policy> is the words of policy-fields.ts. An APPLY batch is decoded whole before anything is
 * applied: one refused line refuses the batch, and the helper still reads its n lines so the
 * connection stays in step. A line that breaks the framing (too long, a byte outside printable
 * ASCII, an unknown request) is answered with ERR and the connection is closed.
 */
import type { BackendName, InstalledPolicy, PolicyChange } from '../backend.js';
import { decodePolicy, encodePolicy, POLICY_FIELDS, refuse, shown, splitFields } from './policy-fields.js';

export const HELPER_PROTOCOL_VERSION = 1;
/** Longest line, LF included: a policy with an RSA-16384 key and many port ranges fits in 16 KiB. */
export const MAX_LINE_BYTES = 16_384;
/** Changes per APPLY; the client splits longer batches (HelperBackend.apply). */
export const MAX_CHANGES_PER_BATCH = 4096;
/** Policies one LIST reply may carry. */
export const MAX_LISTED_POLICIES = 1_000_000;
/** Characters of an ERR message; longer ones (a backend's stderr) are cut. */
export const MAX_ERROR_MESSAGE_CHARS = 1024;
const MAX_HANDLE_CHARS = 8192;

/** The backends a helper may drive: any but itself. */
export const HELPER_BACKEND_NAMES = ['dry-run', 'xfrm', 'setkey', 'vici', 'racoon'] as const satisfies readonly BackendName[];
export type HelperBackendName = (typeof HELPER_BACKEND_NAMES)[number];

export type HelperRequest =
  | { readonly kind: 'hello'; readonly version: number }
  | { readonly kind: 'apply'; readonly count: number }
  | { readonly kind: 'list' }
  | { readonly kind: 'remove-all' };

export type HelperReply =
  | { readonly kind: 'ok'; readonly words: readonly string[] }
  | { readonly kind: 'err'; readonly code: `ERR_${string}`; readonly message: string };

const COUNT = /^(?:0|[1-9][0-9]{0,6})$/;
const ERROR_CODE = /^ERR_[A-Z0-9_]{1,60}$/;
const HANDLE = /^[\x21-\x7e]+$/;

function count(text: string | undefined, min: number, max: number, what: string): number {
  const n = text !== undefined && COUNT.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) refuse(`${what} is not a count in ${min}..${max}`);
  return n;
}

export function encodeRequest(request: HelperRequest): string {
  switch (request.kind) {
    case 'hello': return `HELLO ${request.version}`;
    case 'apply': return `APPLY ${count(String(request.count), 1, MAX_CHANGES_PER_BATCH, 'APPLY')}`;
    case 'list': return 'LIST';
    case 'remove-all': return 'REMOVE-ALL';
  }
}

export function decodeRequest(line: string): HelperRequest {
  const [verb, ...args] = line.split(' ');
  const noArgs = (): void => {
    if (args.length > 0) refuse(`${verb} takes no arguments`);
  };
  switch (verb) {
    case 'HELLO':
      if (args.length !== 1) refuse('HELLO takes a version');
      return { kind: 'hello', version: count(args[0], 0, 999, 'HELLO version') };
    case 'APPLY':
      if (args.length !== 1) refuse('APPLY takes a count');
      return { kind: 'apply', count: count(args[0], 1, MAX_CHANGES_PER_BATCH, 'APPLY') };
    case 'LIST': noArgs(); return { kind: 'list' };
    case 'REMOVE-ALL': noArgs(); return { kind: 'remove-all' };
    default: return refuse(`unknown request ${shown(verb ?? '')}`);
  }
}

/** `ADD <policy>` / `REMOVE <policy>`; throws HelperGrammarError for a spec the helper would refuse. */
export function encodeChange(change: PolicyChange): string {
  const verb = change.op === 'add' ? 'ADD' : change.op === 'remove' ? 'REMOVE' : refuse('change is not add|remove');
  return [verb, ...encodePolicy(change.policy)].join(' ');
}

export function decodeChange(line: string): PolicyChange {
  const [verb, ...words] = line.split(' ');
  const op = verb === 'ADD' ? 'add' : verb === 'REMOVE' ? 'remove' : refuse(`a batch line starts with ${shown(verb ?? '')}, not ADD|REMOVE`);
  return { op, policy: decodePolicy(words) };
}

/** `POLICY <policy> backend=B handle=H`, a line of a LIST reply. */
export function encodeInstalled(policy: InstalledPolicy): string {
  const backend = backendName(policy.backend);
  const handle = checkHandle(policy.handle);
  return ['POLICY', ...encodePolicy(policy), `backend=${backend}`, `handle=${handle}`].join(' ');
}

const INSTALLED_FIELDS = [...POLICY_FIELDS, 'backend', 'handle'] as const;

export function decodeInstalled(line: string): InstalledPolicy {
  const [verb, ...words] = line.split(' ');
  if (verb !== 'POLICY') refuse(`a LIST line starts with ${shown(verb ?? '')}, not POLICY`);
  const split = splitFields(words, INSTALLED_FIELDS);
  const policyWords = words.filter((w) => !w.startsWith('backend=') && !w.startsWith('handle='));
  return { ...decodePolicy(policyWords), backend: backendName(split.backend), handle: checkHandle(split.handle) };
}

export function backendName(name: unknown): HelperBackendName {
  if (!(HELPER_BACKEND_NAMES as readonly unknown[]).includes(name)) refuse(`backend ${shown(String(name))} is not ${HELPER_BACKEND_NAMES.join('|')}`);
  return name as HelperBackendName;
}

function checkHandle(handle: unknown): string {
  if (typeof handle !== 'string' || handle.length > MAX_HANDLE_CHARS || !HANDLE.test(handle)) refuse('handle is not printable ASCII without spaces');
  return handle;
}

export function encodeOk(...words: readonly (string | number)[]): string {
  return ['OK', ...words.map(String)].join(' ');
}

/** `ERR <code> <message>`: the message on one line of printable ASCII, cut to MAX_ERROR_MESSAGE_CHARS. */
export function encodeErr(code: string, message: string): string {
  const safeCode = ERROR_CODE.test(code) ? code : 'ERR_INTERNAL';
  const flat = message.replace(/[^\x20-\x7e]+/g, ' ').trim().slice(0, MAX_ERROR_MESSAGE_CHARS);
  return `ERR ${safeCode} ${flat === '' ? 'failed' : flat}`;
}

export function decodeReply(line: string): HelperReply {
  const [status, ...words] = line.split(' ');
  if (status === 'OK') return { kind: 'ok', words };
  if (status === 'ERR' && words[0] !== undefined && ERROR_CODE.test(words[0])) {
    return { kind: 'err', code: words[0] as `ERR_${string}`, message: words.slice(1).join(' ') };
  }
  return refuse(`reply ${shown(line)} is not OK or ERR <code>`);
}

/** The words of `OK 1 <backend>`, the reply to HELLO. */
export function decodeHelloReply(words: readonly string[]): { version: number; backend: HelperBackendName } {
  if (words.length !== 2) refuse('HELLO reply is not OK <version> <backend>');
  return { version: count(words[0], 0, 999, 'HELLO reply version'), backend: backendName(words[1]) };
}

/** The words of `OK <n>`, the reply to LIST. */
export function decodeListReply(words: readonly string[]): number {
  if (words.length !== 1) refuse('LIST reply is not OK <count>');
  return count(words[0], 0, MAX_LISTED_POLICIES, 'LIST reply');
}
