import { describe, expect, it } from 'vitest';
import { createRootLogger, RateLimitedLog, type LogLevel } from './log.js';

interface Captured {
  readonly lines: Record<string, unknown>[];
  readonly log: ReturnType<typeof createRootLogger>;
}

/** A pino root writing JSON lines into memory. */
function capture(level: LogLevel = 'debug'): Captured {
  const lines: Record<string, unknown>[] = [];
  const log = createRootLogger(level, { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>); } });
  return { lines, log };
}

/** A clock the test moves by hand. */
function fakeClock(startMs = 0): { now: () => number; advance: (ms: number) => void } {
  let current = startMs;
  return { now: () => current, advance: (ms) => { current += ms; } };
}

describe('createRootLogger', () => {
  it('writes JSON lines with the app name and the given fields', () => {
    const { lines, log } = capture('info');
    log.child({ mod: 'test' }).info({ qname: 'www.example.' }, 'answered');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ app: 'oedns', mod: 'test', qname: 'www.example.', msg: 'answered', level: 30 });
  });
});

describe('RateLimitedLog', () => {
  it('passes events through up to the limit of an interval', () => {
    const { lines, log } = capture();
    const clock = fakeClock(1_000_000);
    const limited = new RateLimitedLog(log, 3, 1000, clock.now);
    for (let i = 0; i < 3; i++) limited.debug({ i }, 'event');
    expect(lines.map((l) => l['i'])).toEqual([0, 1, 2]);
    expect(lines.every((l) => !('suppressed' in l))).toBe(true);
  });

  it('drops events over the limit and reports their count with the next event that gets through', () => {
    const { lines, log } = capture();
    const clock = fakeClock(1_000_000);
    const limited = new RateLimitedLog(log, 2, 1000, clock.now);
    for (let i = 0; i < 5; i++) limited.debug({ i }, 'event');
    expect(lines.map((l) => l['i'])).toEqual([0, 1]);
    clock.advance(999);
    limited.debug({ i: 5 }, 'event');
    expect(lines).toHaveLength(2);
    clock.advance(1);
    limited.debug({ i: 6 }, 'event');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ i: 6, suppressed: 4, msg: 'event' });
    limited.debug({ i: 7 }, 'event');
    expect(lines[3]).toMatchObject({ i: 7 });
    expect(lines[3]).not.toHaveProperty('suppressed');
  });

  it('starts a new window after the interval, also when the clock starts at 0', () => {
    const { lines, log } = capture();
    const clock = fakeClock(0);
    const limited = new RateLimitedLog(log, 1, 1000, clock.now);
    limited.debug({ i: 0 }, 'event');
    limited.debug({ i: 1 }, 'event');
    clock.advance(1000);
    limited.debug({ i: 2 }, 'event');
    clock.advance(5000);
    limited.debug({ i: 3 }, 'event');
    expect(lines.map((l) => [l['i'], l['suppressed']])).toEqual([[0, undefined], [2, 1], [3, undefined]]);
  });

  it('does nothing and counts nothing when debug is disabled', () => {
    const { lines, log } = capture('info');
    const clock = fakeClock(1_000_000);
    const limited = new RateLimitedLog(log, 1, 1000, clock.now);
    for (let i = 0; i < 5; i++) limited.debug({ i }, 'event');
    expect(lines).toEqual([]);
    log.level = 'debug';
    limited.debug({ i: 9 }, 'event');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toHaveProperty('suppressed');
  });

  it('logs at debug level with the caller\'s fields and message', () => {
    const { lines, log } = capture();
    const limited = new RateLimitedLog(log, 5, 1000, fakeClock(1_000_000).now);
    limited.debug({ qname: 'x.example.' }, 'bad query');
    expect(lines[0]).toMatchObject({ qname: 'x.example.', msg: 'bad query', level: 20 });
  });
});
