import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number] & LevelWithSilent;

/**
 * The one pino root. Each folder takes a child: `root.child({ mod: 'upstream' })`; a part of a
 * folder takes a grandchild under another key, `log.child({ part: 'tunnel' })` (pino would write
 * a second `mod` key, not replace the first).
 */
export function createRootLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  const options = { level, base: { app: 'oedns' }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * Logs at most `perInterval` events in each `intervalMs`, then counts the rest and reports the
 * count with the next event that gets through. Hostile clients must not be able to flood the log.
 */
export class RateLimitedLog {
  private windowStartMs = 0;
  private inWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly perInterval = 20,
    private readonly intervalMs = 1000,
    private readonly nowMs: () => number = Date.now,
  ) {}

  debug(fields: Record<string, unknown>, message: string): void {
    if (!this.log.isLevelEnabled('debug')) return;
    const now = this.nowMs();
    if (now - this.windowStartMs >= this.intervalMs) {
      this.windowStartMs = now;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.perInterval) {
      this.suppressed += 1;
      return;
    }
    this.inWindow += 1;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    this.log.debug(suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }
}
