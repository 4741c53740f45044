/**
 * The `xfrm` backend: the Linux kernel SPD through iproute2 (`ip xfrm policy`), never a shell.
 * Changes go through one long-lived `ip -batch -` (ip-session.ts): a command there costs ~0.1 ms
 * where starting `ip` from Node costs ~4 ms, so one install (an out and an in entry) takes well
 * under a millisecond. Listings (`list`, `removeAll`, bulk removals) start one `ip` each.
 *
 * Each spec becomes an out and an in entry. No `fwd` entry: oedns protects this host's own
 * traffic; the kernel checks `fwd` only for packets it routes on to another host, and transport
 * mode (and tunnel mode with this host as endpoint) never does that.
 *
 * How oedns recognises its own entries: a priority band (PRIORITY_BAND in xfrm-spec.ts), and
 * no mark. A mark was tried: an entry marked `mark 0 mask M` (the only kind that still matches
 * unmarked traffic) cannot be deleted through iproute2 6.1, which leaves out XFRMA_MARK when the
 * value is 0, while the kernel compares value and mask on delete. So oedns' entries are those in
 * the band and without anything oedns never writes; deletions go by the kernel index a lookup
 * found in the band (`delete index N dir D`), never by selector, so another program's entry with
 * the same selector is never hit. Without a mark, an entry with the same selector and direction as
 * another program's cannot coexist with it: the add fails (EEXIST) and apply() reports it.
 *
 * Why not choose the index on add (`index N`), to delete later without a lookup: when N is taken
 * the kernel silently gives the entry another index, so a remembered index could name another
 * program's entry; a lookup in the session costs ~0.1 ms.
 *
 * Privileges: CAP_NET_ADMIN in the network namespace (`ip -n NS` also needs to open
 * /run/netns/NS).
 */
import { execa } from 'execa';
import { BackendError, errorMessage } from '../../core/errors.js';
import type { BackendName, InstalledPolicy, IpsecBackend, PolicyChange } from '../backend.js';
import { IpSession, type CommandOutcome } from './ip-session.js';
import {
  addCommand, batchInput, checkIpOptions, commandText, deleteByIndexCommand, FORCE_BATCH_WORDS, getCommand, ipArgv, LIST_WORDS,
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

/** One command of an apply: which change it belongs to and which entry it adds or deletes. */
interface Step {
  readonly change: number;
  readonly entry: XfrmEntry;
  readonly words: readonly string[];
}

export class XfrmBackend implements IpsecBackend {
  readonly name: BackendName = 'xfrm';
  private readonly ip: IpCommandOptions;
  private readonly session: IpSession;

  constructor(options: XfrmBackendOptions = {}) {
    this.ip = checkIpOptions({ ipPath: options.ipPath ?? 'ip', netns: options.netns });
    this.session = new IpSession(this.ip);
  }

  /**
   * Adds need no lookup: `add` is exclusive, so the kernel refuses (EEXIST) an entry whose
   * direction and selector are taken, by oedns or anyone (priority plays no part), and an add
   * that succeeded created its entry. Removals look their entries up first (by selector, a
   * kernel lookup per entry; one listing for many) and delete by the index found in oedns' band.
   */
  async apply(changes: readonly PolicyChange[], signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    // Everything is validated before any process runs.
    const plan: PlannedChange[] = changes.map((change) => ({
      change, entries: specToPairs(change.policy).flatMap((pair) => [pair.out, pair.in]),
    }));
    const removals = plan.flatMap(({ change, entries }) => change.op === 'remove' ? entries : []);
    const found = removals.length === 0 ? new Map<string, OurEntry>() : await this.lookUp(removals, signal);
    const steps = plan.flatMap(({ change, entries }, i): Step[] => change.op === 'add'
      ? entries.map((entry) => ({ change: i, entry, words: addCommand(entry) }))
      : entries.flatMap((entry) => {
        const ours = found.get(entryKey(entry.dir, entry.selector));
        return ours ? [{ change: i, entry, words: deleteByIndexCommand(ours.index, entry.dir) }] : [];
      }));
    if (steps.length === 0) return;
    const { outcomes } = await this.session.run(steps.map((s) => s.words), signal);
    const failedAt = outcomes.findIndex((o) => o.status !== 'ok');
    if (failedAt >= 0) await this.recover(plan, steps, outcomes, failedAt, signal);
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

  /** Ends the long-lived `ip` (it also ends by itself when this process exits). */
  close(): void {
    this.session.close();
  }

  /** oedns' entries in the SPD now (one `ip -s xfrm policy show`). */
  private async ours(signal: AbortSignal): Promise<readonly OurEntry[]> {
    const result = await this.run(LIST_WORDS, signal);
    if (result.failed) throw new BackendError(`xfrm: ${commandText(this.ip, LIST_WORDS)} failed: ${result.stderr.trim()}`);
    return oursOnly(parseXfrmPolicies(result.stdout));
  }

  /**
   * oedns' entries among `entries`, by key. A few are looked up one by one in the session
   * (`get`; one that is absent ends the process with ENOENT, and the lookups after it run in a
   * new one); many, with one listing. An entry found with a priority outside the band or with
   * anything oedns never writes is another program's and is left out.
   */
  private async lookUp(entries: readonly XfrmEntry[], signal: AbortSignal): Promise<Map<string, OurEntry>> {
    if (entries.length > MAX_LOOKUPS) return indexByKey(await this.ours(signal));
    const found = new Map<string, OurEntry>();
    let rest = entries;
    while (rest.length > 0) {
      const { outcomes, stdout } = await this.session.run(rest.map(getCommand), signal, true);
      const printed = indexByKey(oursOnly(parseXfrmPolicies(stdout)));
      let i = 0;
      for (; i < rest.length && outcomes[i]?.status === 'ok'; i++) {
        const key = entryKey(rest[i]!.dir, rest[i]!.selector);
        const ours = printed.get(key);
        if (ours) found.set(key, ours);
      }
      const failed = outcomes[i];
      if (failed && !ENOENT.test(failed.stderr)) {
        throw new BackendError(`xfrm: ${commandText(this.ip, getCommand(rest[i]!))} failed: ${failed.stderr.trim() || 'no error text'}`);
      }
      rest = rest.slice(i + 1);
    }
    return found;
  }

  /**
   * After a failed command: the session stops at the first failure, so the changes before it are
   * done and the ones after it untouched. The change it belongs to is undone half by half: its
   * entries added before the failure (and the failing add itself if the process ended without
   * saying whether it took effect) are looked up and deleted by index; a half-removed pair is
   * finished, not restored. Then the error names the failing command and its stderr.
   */
  private async recover(plan: readonly PlannedChange[], steps: readonly Step[], outcomes: readonly CommandOutcome[], failedAt: number, signal: AbortSignal): Promise<never> {
    const failed = steps[failedAt]!;
    const outcome = outcomes[failedAt]!;
    const op = plan[failed.change]!.change.op;
    const detail = outcome.stderr.trim() || 'no error text';
    // Steps after the failure ran only if `ip` went on after an error (iproute2 does not).
    const ran = steps.filter((s, i) => s.change >= failed.change && (outcomes[i]?.status === 'ok' || outcomes[i]?.status === 'lost'));
    let undoNote = '';
    try {
      let undo: readonly (readonly string[])[];
      if (op === 'add') {
        const added = ran.filter((s) => plan[s.change]!.change.op === 'add');
        const now = added.length === 0 ? new Map<string, OurEntry>() : await this.lookUp(added.map((s) => s.entry), signal);
        undo = [...now.values()].map((e) => deleteByIndexCommand(e.index, e.dir));
      } else {
        undo = steps.filter((s, i) => s.change === failed.change && i > failedAt && outcomes[i]?.status === 'not-run').map((s) => s.words);
      }
      if (undo.length > 0) {
        const undone = (await this.session.run(undo, signal)).outcomes.find((o) => o.status !== 'ok');
        undoNote = undone ? `; undoing the first half failed too: ${undone.stderr.trim() || 'no error text'}` : '; the first half was removed';
      }
    } catch (error) {
      undoNote = `; undoing the first half failed too: ${errorMessage(error)}`;
    }
    throw new BackendError(`xfrm: ${commandText(this.ip, failed.words)} failed: ${detail}${undoNote}`);
  }

  /** One `ip` process (listings, removeAll). */
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

/**
 * Above this many entries to look up, one listing of the whole SPD: a lookup is ~0.1 ms in the
 * session, a listing a process start (~4 ms) plus ~1 µs per entry present.
 */
const MAX_LOOKUPS = 64;
/** How iproute2 (LC_ALL=C) reports a lookup that found nothing. */
const ENOENT = /No such file or directory/;

function indexByKey(entries: readonly OurEntry[]): Map<string, OurEntry> {
  return new Map(entries.map((e) => [entryKey(e.dir, e.selector), e]));
}
