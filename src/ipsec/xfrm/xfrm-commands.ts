/**
 * iproute2 command lines for xfrm entries. Each command is a list of words; the same words are
 * an argv (`ip -n NS xfrm policy add ...`) or, joined by spaces, one line of `ip -batch -`. Only
 * validated values (xfrm-spec.ts) reach here, so no word contains whitespace, quotes or `#`,
 * which iproute2's batch tokenizer would otherwise interpret; wordsSafe() re-checks that.
 */
import { BackendError } from '../../core/errors.js';
import type { Direction, XfrmEntry, XfrmSelector } from './xfrm-spec.js';

export interface IpCommandOptions {
  /** Path of the `ip` executable. */
  readonly ipPath: string;
  /** Network namespace to run in (`ip -n NS`); undefined: the caller's own. */
  readonly netns?: string | undefined;
}

/** `ip netns` names: what iproute2 accepts as a file name under /run/netns, kept to a safe alphabet. */
const NETNS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** A word of a generated command: letters, digits and the punctuation of addresses and prefixes. */
const SAFE_WORD = /^[A-Za-z0-9.:/_-]+$/;

export function checkIpOptions(options: IpCommandOptions): IpCommandOptions {
  if (typeof options.ipPath !== 'string' || options.ipPath === '' || /[\0\n]/.test(options.ipPath)) {
    throw new BackendError('xfrm: ipPath must be a non-empty path');
  }
  if (options.netns !== undefined && (typeof options.netns !== 'string' || !NETNS_NAME.test(options.netns))) {
    throw new BackendError('xfrm: netns must be a namespace name ([A-Za-z0-9_.-], up to 64 characters)');
  }
  return options;
}

/** Global options before the object: `-n NS`. */
export function ipPrefix(options: IpCommandOptions): readonly string[] {
  return options.netns === undefined ? [] : ['-n', options.netns];
}

function wordsSafe(words: readonly string[]): readonly string[] {
  for (const word of words) {
    if (!SAFE_WORD.test(word)) throw new BackendError(`xfrm: refusing to run a command with the word ${JSON.stringify(word)}`);
  }
  return words;
}

export function selectorWords(selector: XfrmSelector): string[] {
  const words = ['src', selector.src, 'dst', selector.dst];
  if (selector.protocol !== undefined) words.push('proto', String(selector.protocol));
  if (selector.sport !== undefined) words.push('sport', String(selector.sport));
  if (selector.dport !== undefined) words.push('dport', String(selector.dport));
  if (selector.icmpType !== undefined) words.push('type', String(selector.icmpType));
  return words;
}

/** `xfrm policy add SELECTOR dir DIR priority P (action block | [action allow] tmpl ...)`. */
export function addCommand(entry: XfrmEntry): readonly string[] {
  const words = ['xfrm', 'policy', 'add', ...selectorWords(entry.selector), 'dir', entry.dir, 'priority', String(entry.priority)];
  words.push('action', entry.action);
  const tmpl = entry.tmpl;
  if (tmpl) {
    words.push('tmpl');
    if (tmpl.src !== undefined) words.push('src', tmpl.src);
    if (tmpl.dst !== undefined) words.push('dst', tmpl.dst);
    words.push('proto', 'esp', 'mode', tmpl.mode, 'level', tmpl.level);
  }
  return wordsSafe(words);
}

/**
 * Deletes one entry by the index the kernel gave it. Deleting by selector could hit another
 * program's entry with the same selector; the index is the one list() found in oedns' band.
 */
export function deleteByIndexCommand(index: number, dir: Direction): readonly string[] {
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) throw new BackendError(`xfrm: bad policy index ${index}`);
  return wordsSafe(['xfrm', 'policy', 'delete', 'index', String(index), 'dir', dir]);
}

/**
 * Looks one entry up by direction and selector (the kernel's own lookup, not a listing): prints
 * it with its index and priority (the session runs with -s), or fails with ENOENT.
 */
export function getCommand(entry: XfrmEntry): readonly string[] {
  return wordsSafe(['xfrm', 'policy', 'get', ...selectorWords(entry.selector), 'dir', entry.dir]);
}

/** `-s xfrm policy show`: every entry with its index (-s) for parseXfrmPolicies(). */
export const LIST_WORDS: readonly string[] = ['-s', 'xfrm', 'policy', 'show'];

/** `-batch -`: the commands come on stdin, one per line; the first failure stops it. */
export const BATCH_WORDS: readonly string[] = ['-batch', '-'];
/** `-force -batch -`: goes on after a failing line (for removals, checked afterwards). */
export const FORCE_BATCH_WORDS: readonly string[] = ['-force', '-batch', '-'];

/** The long-lived session (ip-session.ts): -s for `get`, -force to read on after its markers. */
export const SESSION_WORDS: readonly string[] = ['-s', '-force', '-batch', '-'];

/** The argv for `ip`: the namespace first, then the words. */
export function ipArgv(options: IpCommandOptions, words: readonly string[]): readonly string[] {
  return [...ipPrefix(options), ...words];
}

export function batchInput(commands: readonly (readonly string[])[]): string {
  return commands.map((words) => `${wordsSafe(words).join(' ')}\n`).join('');
}

/** How a command is named in errors: `ip -n NS xfrm policy add ...`. */
export function commandText(options: IpCommandOptions, words: readonly string[]): string {
  return [options.ipPath, ...ipPrefix(options), ...words].join(' ');
}
