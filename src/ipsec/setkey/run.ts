/**
 * Runs setkey and racoonctl: always an argv array through execa, never a shell, with the setkey
 * script on stdin (`setkey -c`).
 *
 * How setkey reports failure (ipsec-tools setkey.c, stdin mode): a statement the parser rejects
 * goes to stderr; a statement the kernel rejects is printed to stdout ("File exists.", "No
 * entry.", "Invalid argument.") and setkey carries on with the next statement and still exits 0.
 * A successful spdadd/spddelete prints nothing. So a call failed when it exited non-zero, could
 * not start, or printed anything at all; `tolerated` lists output lines that are expected (the
 * "No entry." of a spddelete for an entry that is already gone).
 */
import { execa } from 'execa';
import { BackendError } from '../../core/errors.js';

/** How long setkey or racoonctl may take before the call counts as failed. */
export const TOOL_TIMEOUT_MS = 10_000;

export interface ToolResult {
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  /** Set when the program could not be started or was killed (ENOENT, timeout, abort). */
  readonly startError: string | undefined;
}

export async function runTool(file: string, args: readonly string[], input: string | undefined, signal: AbortSignal): Promise<ToolResult> {
  const result = await execa(file, [...args], {
    ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
    reject: false,
    shell: false,
    timeout: TOOL_TIMEOUT_MS,
    cancelSignal: signal,
    stripFinalNewline: true,
    env: { LC_ALL: 'C' },
  });
  const startError = result.failed && result.exitCode === undefined ? result.shortMessage : undefined;
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr), startError };
}

/** Throws BackendError naming the call and its output unless it succeeded (see the header). */
export function assertToolSucceeded(what: string, result: ToolResult, tolerated: readonly string[] = []): void {
  const output = `${result.stdout}\n${result.stderr}`.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  const unexpected = output.filter((line) => !tolerated.includes(line));
  if (result.startError === undefined && result.exitCode === 0 && unexpected.length === 0) return;
  const reason = result.startError ?? (result.exitCode !== 0 ? `exit code ${result.exitCode}` : 'error output');
  const stderr = result.stderr.trim();
  const detail = [stderr ? `stderr: ${stderr}` : '', result.stdout.trim() ? `stdout: ${result.stdout.trim()}` : ''].filter(Boolean).join('; ');
  throw new BackendError(`${what} failed (${reason})${detail ? `: ${detail}` : ''}`);
}

/** setkey's stdout line for a spddelete whose entry is not there (ENOENT). */
export const SETKEY_NO_ENTRY = 'No entry.';

/** Feeds `script` to `setkey -c` and throws BackendError when any statement failed. */
export async function runSetkeyScript(setkeyPath: string, what: string, script: string, signal: AbortSignal, tolerated: readonly string[] = []): Promise<void> {
  const result = await runTool(setkeyPath, ['-c'], script, signal);
  assertToolSucceeded(`setkey -c (${what})`, result, tolerated);
}
