/**
 * The `xfrm` backend: the Linux kernel SPD through iproute2 (`ip xfrm policy`), run with execa and
 * argument arrays, or `ip -batch -` on stdin for many entries at once; never a shell.
 *
 * Each spec becomes an out and an in entry. No `fwd` entry: oedns protects this host's own
 * traffic; the kernel checks `fwd` only for packets it routes on to another host, and transport
 * mode (and tunnel mode with this host as endpoint) never does that.
 *
 * How oedns recognises its own entries: a priority band (PRIORITY_BAND in xfrm-spec.ts), and
 * no mark. A mark was tried: an entry marked `mark 0 mask M` (the only kind that still matches
 * unmarked traffic) cannot be deleted through iproute2 6.1, which leaves out XFRMA_MARK when the
 * value is 0, while the kernel compares value and mask on delete. So oedns' entries are those in
 * the band and without anything oedns never writes; deletions go by the kernel index that
 * list() found (`delete index N dir D`), never by selector, so another program's entry with the
 * same selector is never hit. Without a mark, an entry with the same selector and direction as
 * another program's cannot coexist with it: the add fails (EEXIST) and apply() reports it.
 *
 * Privileges: CAP_NET_ADMIN in the network namespace (`ip -n NS` also needs to open
 * /run/netns/NS).
 */
import { execa } from 'execa';
import { BackendError, errorMessage } from '../../core/errors.js';
import type { BackendName, InstalledPolicy, IpsecBackend, PolicyChange } from '../backend.js';
import {
  addCommand, BATCH_WORDS, batchInput, checkIpOptions, commandText, deleteByIndexCommand, FORCE_BATCH_WORDS, ipArgv, LIST_WORDS,
  type IpCommandOptions,
} from './xfrm-commands.js';
import { entryKey, oursOnly, parseXfrmPolicies, toInstalled, type KernelPolicy } from './xfrm-parse.js';
import { specToPairs, type Direction, type XfrmEntry } from './xfrm-spec.js';

export interface XfrmBackendOptions {
  /** Path of `ip` (default `ip`, found on PATH). */
  readonly ipPath?: string | undefined;
  /** Run every command in this network namespace (`ip -n NS ...`). */
  readonly netns?: string | undefined;
}

type OurEntry = KernelPolicy & { dir: Direction };

interface PlannedChange {
  readonly change: PolicyChange;
  readonly entries: readonly XfrmEntry[];
}

export class XfrmBackend implements IpsecBackend {
  readonly name: BackendName = 'xfrm';
  private readonly ip: IpCommandOptions;

  constructor(options: XfrmBackendOptions = {}) {
    this.ip = checkIpOptions({ ipPath: options.ipPath ?? 'ip', netns: options.netns });
  }

  async apply(changes: readonly PolicyChange[], signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    // Everything is validated before any process runs.
    const plan: PlannedChange[] = changes.map((change) => ({
      change, entries: specToPairs(change.policy).flatMap((pair) => [pair.out, pair.in]),
    }));
    if (plan.length === 0) return;
    const before = indexByKey(await this.oursAmong(plan, signal));
    const commands = plan.flatMap(({ change, entries }) => change.op === 'add'
      ? entries.map(addCommand)
      : entries.flatMap((e) => {
        const found = before.get(entryKey(e.dir, e.selector));
        return found ? [deleteByIndexCommand(found.index, e.dir)] : [];
      }));
    if (commands.length === 0) return;
    const result = await this.run(BATCH_WORDS, signal, batchInput(commands));
    if (!result.failed) return;
    await this.recover(plan, before, result.stderr, signal);
  }

  async list(signal: AbortSignal): Promise<readonly InstalledPolicy[]> {
    return toInstalled(await this.ours(signal));
  }

  async removeAll(signal: AbortSignal): Promise<void> {
    const ours = await this.ours(signal);
    if (ours.length === 0) return;
    const result = await this.run(FORCE_BATCH_WORDS, signal, batchInput(ours.map((e) => deleteByIndexCommand(e.index, e.dir))));
    const left = await this.ours(signal);
    if (left.length > 0) {
      throw new BackendError(`xfrm: ${commandText(this.ip, FORCE_BATCH_WORDS)} left ${left.length} of oedns' entries: ${result.stderr.trim()}`);
    }
  }

  /** oedns' entries in the SPD now (or only those whose selector matches `filter`). */
  private async ours(signal: AbortSignal, filter: readonly string[] = []): Promise<readonly OurEntry[]> {
    const words = [...LIST_WORDS, ...filter];
    const result = await this.run(words, signal);
    if (result.failed) throw new BackendError(`xfrm: ${commandText(this.ip, words)} failed: ${result.stderr.trim()}`);
    return oursOnly(parseXfrmPolicies(result.stdout));
  }

  /**
   * oedns' entries that the planned changes may touch. A decision changes a few address pairs:
   * those are listed by selector (`dst R` for out, `src R` for in; iproute2 filters exactly), so
   * one install costs the same with 10 or 10,000 policies present. A bulk change lists everything.
   */
  private async oursAmong(plan: readonly PlannedChange[], signal: AbortSignal): Promise<readonly OurEntry[]> {
    const filters = new Map<string, readonly string[]>();
    for (const { entries } of plan) {
      for (const e of entries) {
        const filter = e.dir === 'out' ? ['dst', e.selector.dst] : ['src', e.selector.src];
        filters.set(filter.join(' '), filter);
      }
    }
    if (filters.size > MAX_FILTERED_LISTS) return this.ours(signal);
    const lists = await Promise.all([...filters.values()].map((filter) => this.ours(signal, filter)));
    return [...indexByKey(lists.flat()).values()];
  }

  /**
   * After a failed batch: `ip -batch` stops at the first failing line (iproute2's xfrm commands
   * exit on error), so the changes before it are done and the ones after it untouched. The first
   * change not fully in effect is the one that failed; whatever half of it is in place is undone
   * (entries it added are deleted; entries a removal left are deleted too: a half-removed pair
   * is finished, not restored). Then the error names the failing command and its stderr.
   */
  private async recover(plan: readonly PlannedChange[], before: ReadonlyMap<string, OurEntry>, stderr: string, signal: AbortSignal): Promise<never> {
    const after = indexByKey(await this.ours(signal));
    const failed = plan.find(({ change, entries }) => entries.some((e) => after.has(entryKey(e.dir, e.selector)) !== (change.op === 'add')));
    const detail = stderr.trim() || 'no error text';
    if (!failed) throw new BackendError(`xfrm: ${commandText(this.ip, BATCH_WORDS)} failed: ${detail}`);
    const missing = failed.entries.find((e) => after.has(entryKey(e.dir, e.selector)) !== (failed.change.op === 'add'));
    const failedWords = missing && failed.change.op === 'add' ? addCommand(missing) : ['xfrm', 'policy', 'delete', '...', 'dir', missing?.dir ?? 'out'];
    const undo = failed.entries.flatMap((e) => {
      const key = entryKey(e.dir, e.selector);
      const now = after.get(key);
      // An add undoes only what it created; an entry that was there before is left alone.
      if (!now || (failed.change.op === 'add' && before.get(key)?.index === now.index)) return [];
      return [deleteByIndexCommand(now.index, e.dir)];
    });
    let undoNote = '';
    if (undo.length > 0) {
      const undone = await this.run(FORCE_BATCH_WORDS, signal, batchInput(undo));
      undoNote = undone.failed ? `; undoing the first half failed too: ${undone.stderr.trim()}` : '; the first half was removed';
    }
    throw new BackendError(`xfrm: ${commandText(this.ip, failedWords)} failed: ${detail}${undoNote}`);
  }

  private async run(words: readonly string[], signal: AbortSignal, input?: string): Promise<{ failed: boolean; stdout: string; stderr: string }> {
    try {
      const result = await execa(this.ip.ipPath, ipArgv(this.ip, words), {
        input: input ?? '', cancelSignal: signal, reject: false, shell: false, env: { LC_ALL: 'C' }, stripFinalNewline: false,
      });
      if (result.isCanceled) throw new BackendError(`xfrm: ${commandText(this.ip, words)} aborted`, { cause: signal.reason });
      const stderr = result.stderr || (result.failed && result.exitCode === undefined ? (result.shortMessage ?? '') : '');
      return { failed: result.failed, stdout: result.stdout, stderr };
    } catch (error) {
      if (error instanceof BackendError) throw error;
      throw new BackendError(`xfrm: ${commandText(this.ip, words)} could not run: ${errorMessage(error)}`, { cause: error });
    }
  }
}

/** Above this many selector filters, one listing of the whole SPD is cheaper. */
const MAX_FILTERED_LISTS = 8;

function indexByKey(entries: readonly OurEntry[]): Map<string, OurEntry> {
  return new Map(entries.map((e) => [entryKey(e.dir, e.selector), e]));
}
