import { AppError } from '../core/errors.js';

/** Where something is in a policy file; line and column count from 1 (0: the file as a whole). */
export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** One thing wrong in a policy file, at a place. */
export interface PolicyIssue {
  readonly position: SourcePosition;
  readonly message: string;
}

export function formatPosition(position: SourcePosition): string {
  return position.line === 0 ? position.file : `${position.file}:${position.line}:${position.column}`;
}

/** The position of a file (or directory) as a whole, for errors that have no line. */
export function wholeFile(file: string): SourcePosition {
  return { file, line: 0, column: 0 };
}

export function formatIssue(issue: PolicyIssue): string {
  return `${formatPosition(issue.position)}: ${issue.message}`;
}

/**
 * A policy file that cannot be used. The whole set it belongs to is rejected: fatal at startup,
 * and a reload that fails keeps the previous set. The message lists every issue, one per line.
 */
export class PolicyError extends AppError {
  readonly code = 'ERR_POLICY';
  readonly issues: readonly PolicyIssue[];

  constructor(issues: readonly PolicyIssue[], options?: ErrorOptions) {
    super(issues.map(formatIssue).join('\n'), options);
    this.issues = issues;
  }
}
