/**
 * The client side's lookups when its caller gives up: the caller is released at once, but the
 * lookup is not cancelled, since the resolver merges identical questions in flight and a cancelled
 * lookup would fail every other caller merged into it.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { fakeNameLookup } from '../../test/support/tls-fake-lookup.js';
import { createRootLogger } from '../core/log.js';
import { createTlsEngine } from './engine.js';
import type { NameLookup } from './names.js';
import { NO_FLAGS, TlsError } from './session.js';

const log = createRootLogger('silent', new Writable({ write: (_chunk, _encoding, done) => done() }));

describe('client side: a caller that gives up during the lookups', () => {
  it('rejects with the caller\'s reason at once and leaves the lookup running for the callers merged into it', async () => {
    const fake = fakeNameLookup({ 'www.example.test./A': { records: ['127.0.0.1'] } });
    const signals: AbortSignal[] = [];
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => { release = resolve; });
    const lookup: NameLookup = async (name, type, signal, options) => {
      signals.push(signal);
      await held;
      return fake.lookup(name, type, signal, options);
    };
    const engine = createTlsEngine({ lookup, log, caPem: '' });
    const caller = new AbortController();
    const connecting = engine.connect({ name: 'www.example.test.', port: 1 }, NO_FLAGS, caller.signal);
    const reason = new Error('the plaintext client left');
    caller.abort(reason);
    await expect(connecting).rejects.toBe(reason);
    expect(signals.length).toBeGreaterThan(0);
    expect(signals.every((signal) => !signal.aborted)).toBe(true);
    release();
  });

  it('still reports a refusal as a TlsError when nobody gave up', async () => {
    const engine = createTlsEngine({ lookup: fakeNameLookup().lookup, log, caPem: '' });
    await expect(engine.connect({ name: 'absent.example.test.', port: 1 }, NO_FLAGS, new AbortController().signal)).rejects.toBeInstanceOf(TlsError);
  });
});
