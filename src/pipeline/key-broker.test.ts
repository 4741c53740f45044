import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nameWire } from '../../test/support/unit.js';
import { INSECURE, SECURE, type Security } from '../cache/index.js';
import { createRootLogger } from '../core/log.js';
import { encodeIpseckey, GatewayType, ipseckeyKeyField } from '../records/index.js';
import { nameKey, Rcode, RRClass, RRType, type Message, type Question, type ResourceRecord } from '../wire/index.js';
import { DecisionBus } from './decision-bus.js';
import { defaultDecision, type HostDecision } from './decision.js';
import type { TlsaPort, ValidatedAnswer, ValidatedLookup } from './host-keys.js';
import { isAddressQuestion, KeyBroker, type KeyBrokerDeps } from './key-broker.js';

const T0 = Date.UTC(2025, 0, 1);
const HOST = 'www.example.test.';
const ALIAS = 'alias.example.test.';
const WAIT_MS = 50;
const HTTPS: TlsaPort = { port: 443, protocol: 'tcp' };
/** Lifetimes of the fixtures: the A answer holds 300 s, the IPSECKEY 600 s. */
const ADDRESS_TTL_MS = 300_000;
const KEY_TTL_MS = 600_000;

const { publicKey: hostKey } = generateKeyPairSync('ed25519');
const hostSpkiPem = hostKey.export({ type: 'spki', format: 'pem' }) as string;

function record(name: string, type: number, rdata: Uint8Array | number[]): ResourceRecord {
  return { name, type, class: RRClass.IN, ttl: 300, rdata: Uint8Array.from(rdata) };
}

function message(answers: ResourceRecord[], rcode: number = Rcode.NoError): Message {
  return { id: 1, qr: true, opcode: 0, aa: false, tc: false, rd: true, ra: true, ad: false, cd: false, rcode, questions: [], answers, authorities: [], additionals: [] };
}

const aRecord = (name: string, last = 10): ResourceRecord => record(name, RRType.A, [192, 0, 2, last]);
const ipseckey = (owner: string): ResourceRecord =>
  record(owner, RRType.IPSECKEY, encodeIpseckey({ precedence: 10, gateway: { type: GatewayType.None }, ...ipseckeyKeyField(hostKey) }));

const question = (name: string, type: number = RRType.A): Question => ({ name, type, class: RRClass.IN });

/** Test clock: the only time the broker sees. */
let now = T0;

function addressAnswer(answers: ResourceRecord[], security: Security = SECURE, expiresAtMs = now + ADDRESS_TTL_MS): ValidatedAnswer {
  return { message: message(answers), security, expiresAtMs };
}

/**
 * The boundary: IPSECKEY of every name is a secure key for the host itself unless `table` says
 * otherwise (an answer, or an Error to throw); everything else is secure NODATA.
 */
function fakeLookup(table: Record<string, ValidatedAnswer | Error> = {}) {
  const asked: string[] = [];
  const lookup: ValidatedLookup = async (q) => {
    asked.push(`${q.name}/${q.type}`);
    const found = table[`${q.name}/${q.type}`];
    if (found instanceof Error) throw found;
    if (found) return found;
    if (q.type === RRType.IPSECKEY) return { message: message([ipseckey(q.name)]), security: SECURE, expiresAtMs: now + KEY_TTL_MS };
    return { message: message([]), security: SECURE, expiresAtMs: now + KEY_TTL_MS };
  };
  return { lookup, asked };
}

function memoryLog() {
  const lines: Array<Record<string, unknown>> = [];
  const log = createRootLogger('debug', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

/** A subscriber standing in for an IPsec backend: holds acting decisions until told. */
function backend(bus: DecisionBus) {
  const decisions: HostDecision[] = [];
  const holding: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  let called: () => void = () => undefined;
  const nextCall = (): Promise<void> => new Promise((resolve) => {
    called = resolve;
  });
  let waitingForCall = nextCall();
  bus.subscribe((decision) => {
    decisions.push(decision);
    called();
    waitingForCall = nextCall();
    if (decision.addresses.every((a) => a.action.kind === 'none')) return new Promise<void>(() => undefined);
    return new Promise<void>((resolve, reject) => holding.push({ resolve, reject }));
  });
  return {
    decisions,
    holding,
    /** Resolves once the subscriber has been handed the next decision. */
    called: () => waitingForCall,
    release: () => holding.splice(0).forEach((h) => h.resolve()),
    refuse: (error: Error) => holding.splice(0).forEach((h) => h.reject(error)),
  };
}

function broker(overrides: Partial<KeyBrokerDeps> & { onTimeout?: 'answer' | 'servfail' } = {}) {
  const { onTimeout = 'answer', ...deps } = overrides;
  const { lookup, asked } = fakeLookup();
  const bus = new DecisionBus();
  const { log, lines } = memoryLog();
  const keys = new KeyBroker({
    lookup, decide: defaultDecision({ waitMs: WAIT_MS, onTimeout }), bus, log, tlsaPorts: [HTTPS], nowMs: () => now, ...deps,
  });
  return { keys, bus, asked: deps.lookup ? [] : asked, lines, backend: backend(bus) };
}

/** Settles an acting decision and lets the backend put it in place. */
async function settleInPlace(b: ReturnType<typeof broker>, name: string, type: number = RRType.A) {
  const answers = type === RRType.A ? [aRecord(name)] : [record(name, RRType.AAAA, [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 0x10])];
  const settling = b.keys.settle(question(name, type), addressAnswer(answers), new AbortController().signal);
  await b.backend.called();
  b.backend.release();
  return settling;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => {
  now = T0;
  // Only the bus's deadline timer is faked; the broker's clock is `now`.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('KeyBroker.settle: decide, publish, wait', () => {
  it('releases the answer once the backend has the decision in place, with the decision', async () => {
    const b = broker();
    let released = false;
    const settling = b.keys.settle(question(HOST), addressAnswer([aRecord(HOST)]), new AbortController().signal).then((r) => {
      released = true;
      return r;
    });
    await b.backend.called();
    await turn();
    expect(released).toBe(false);
    b.backend.release();
    const release = await settling;
    expect(release.release).toBe(true);
    expect(release.decision).toBe(b.backend.decisions[0]);
    expect(release.decision).toMatchObject({ qname: HOST, qtype: RRType.A, name: HOST, decidedBy: 'built-in default' });
    expect(release.decision!.addresses).toEqual([expect.objectContaining({ address: '192.0.2.10', family: 4, action: expect.objectContaining({ kind: 'protect', level: 'use' }) })]);
    const action = release.decision!.addresses[0]!.action;
    expect(action.kind === 'protect' && action.key.spkiPem).toBe(hostSpkiPem);
    expect(b.keys.stats).toEqual({ decisions: 1, protected: 1, timeouts: 0, failures: 0 });
    expect(b.lines).toEqual(expect.arrayContaining([expect.objectContaining({ msg: 'decision', level: 30, name: HOST, settled: 'in-place' })]));
  });

  it('looks the keys up at the host\'s name: IPSECKEY, CERT and TLSA for each configured port', async () => {
    const b = broker();
    await settleInPlace(b, HOST);
    expect(b.asked).toEqual([`${HOST}/${RRType.IPSECKEY}`, `${HOST}/${RRType.CERT}`, `_443._tcp.${HOST}/${RRType.TLSA}`]);
  });

  it('is not covered before a decision, covered after an in-place one until its expiresAtMs, then not', async () => {
    const b = broker();
    const key = nameKey(HOST);
    expect(b.keys.isCovered(key, RRType.A, now)).toBe(false);
    const release = await settleInPlace(b, HOST);
    // min(address, IPSECKEY) lifetime: the A answer's 300 s.
    expect(release.decision!.expiresAtMs).toBe(T0 + ADDRESS_TTL_MS);
    expect(b.keys.isCovered(key, RRType.A, T0)).toBe(true);
    expect(b.keys.isCovered(nameKey('WWW.Example.TEST.'), RRType.A, T0)).toBe(true);
    expect(b.keys.isCovered(key, RRType.A, T0 + ADDRESS_TTL_MS - 1)).toBe(true);
    expect(b.keys.isCovered(key, RRType.A, T0 + ADDRESS_TTL_MS)).toBe(false);
    expect(b.keys.isCovered(key, RRType.AAAA, T0)).toBe(false);
  });

  it('covers until the IPSECKEY lapses when it lapses before the address', async () => {
    const b = broker();
    const settling = b.keys.settle(question(HOST), addressAnswer([aRecord(HOST)], SECURE, T0 + 3_600_000), new AbortController().signal);
    await b.backend.called();
    b.backend.release();
    expect((await settling).decision!.expiresAtMs).toBe(T0 + KEY_TTL_MS);
    expect(b.keys.isCovered(nameKey(HOST), RRType.A, T0 + KEY_TTL_MS - 1)).toBe(true);
    expect(b.keys.isCovered(nameKey(HOST), RRType.A, T0 + KEY_TTL_MS)).toBe(false);
  });

  it('decides AAAA on its own, reading the address in RFC 5952 form', async () => {
    const b = broker();
    const release = await settleInPlace(b, HOST, RRType.AAAA);
    expect(release.decision!.addresses).toEqual([expect.objectContaining({ address: '2001:db8::10', family: 6, action: expect.objectContaining({ kind: 'protect' }) })]);
    expect(b.keys.isCovered(nameKey(HOST), RRType.AAAA, now)).toBe(true);
    expect(b.keys.isCovered(nameKey(HOST), RRType.A, now)).toBe(false);
  });

  it.each([
    [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], '2001:db8:0:1::1'],
    [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1], '2001:db8::1:0:0:1'],
    [[0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0], '2001:db8:1:1:1:1:1:0'],
    [[...new Array<number>(15).fill(0), 1], '::1'],
    [[0xfe, 0x80, ...new Array<number>(14).fill(0)], 'fe80::'],
    [new Array<number>(16).fill(0), '::'],
  ])('reads AAAA RDATA %j as %s', async (bytes, text) => {
    const b = broker();
    const release = await b.keys.settle(question(HOST, RRType.AAAA), addressAnswer([record(HOST, RRType.AAAA, bytes)], INSECURE), new AbortController().signal);
    expect(release.decision!.addresses.map((a) => a.address)).toEqual([text]);
  });

  it('follows the CNAME chain: keys and addresses of the host, coverage for the name asked', async () => {
    const b = broker();
    const answer = addressAnswer([record(ALIAS, RRType.CNAME, nameWire(HOST)), aRecord(HOST)]);
    const settling = b.keys.settle(question(ALIAS), answer, new AbortController().signal);
    await b.backend.called();
    b.backend.release();
    const release = await settling;
    expect(release.decision).toMatchObject({ qname: ALIAS, name: HOST, addresses: [expect.objectContaining({ address: '192.0.2.10' })] });
    expect(b.asked).toEqual(expect.arrayContaining([`${HOST}/${RRType.IPSECKEY}`, `_443._tcp.${HOST}/${RRType.TLSA}`]));
    expect(b.asked.some((q) => q.startsWith(ALIAS) || q.includes(`.${ALIAS}`))).toBe(false);
    expect(b.keys.isCovered(nameKey(ALIAS), RRType.A, now)).toBe(true);
  });

  it.each<[string, ValidatedAnswer]>([
    ['NODATA', { message: message([]), security: SECURE, expiresAtMs: T0 + 60_000 }],
    ['NXDOMAIN', { message: message([], Rcode.NXDomain), security: SECURE, expiresAtMs: T0 + 60_000 }],
    ['addresses of another name only', { message: message([aRecord('other.example.test.')]), security: SECURE, expiresAtMs: T0 + 60_000 }],
    ['a CNAME whose target has no address', { message: message([record(HOST, RRType.CNAME, nameWire('gone.example.test.')), aRecord(HOST)]), security: SECURE, expiresAtMs: T0 + 60_000 }],
  ])('releases an answer with no addresses (%s) without lookups or a decision', async (_what, answer) => {
    const b = broker();
    await expect(b.keys.settle(question(HOST), answer, new AbortController().signal)).resolves.toEqual({ release: true });
    expect(b.asked).toEqual([]);
    expect(b.backend.decisions).toEqual([]);
    expect(b.keys.stats.decisions).toBe(0);
    expect(b.keys.isCovered(nameKey(HOST), RRType.A, now)).toBe(false);
  });

  it('decides once more when what the policies say changed while the decision was put in place (an on-answer IKE failed)', async () => {
    let decisions = 0;
    const base = defaultDecision({ waitMs: WAIT_MS, onTimeout: 'answer' });
    // The second decision stands for the failure shunt now in force: withhold the answer.
    const b = broker({ decide: (input) => (decisions++ === 0 ? base(input) : { ...base(input), servfail: 'IKE failed: failure shunt in force' }) });
    const settling = b.keys.settle(question(HOST), addressAnswer([aRecord(HOST)]), new AbortController().signal);
    await b.backend.called();
    // The backend's initiate failed while applying: main.ts records the shunt and invalidates.
    b.keys.invalidateAll();
    b.backend.release();
    await b.backend.called();
    b.backend.release();
    const release = await settling;
    expect(decisions).toBe(2);
    expect(release).toMatchObject({ release: false, reason: 'IKE failed: failure shunt in force' });
  });

  it('does not wait for subscribers on a decision that acts on no address, and covers it', async () => {
    const b = broker();
    // The address is insecure: the default policy takes no action; the backend's promise never settles.
    const release = await b.keys.settle(question(HOST), addressAnswer([aRecord(HOST)], INSECURE), new AbortController().signal);
    expect(release).toMatchObject({ release: true, decision: { addresses: [expect.objectContaining({ action: { kind: 'none' } })] } });
    expect(b.backend.decisions).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
    expect(b.keys.isCovered(nameKey(HOST), RRType.A, now)).toBe(true);
    expect(b.keys.stats).toEqual({ decisions: 1, protected: 0, timeouts: 0, failures: 0 });
  });

  it('answers anyway when the decision is not in place after waitMs (onTimeout answer), and does not cover it', async () => {
    const b = broker({ onTimeout: 'answer' });
    const settling = b.keys.settle(question(HOST), addressAnswer([aRecord(HOST)]), new AbortController().signal);
    await b.backend.called();
    await vi.advanceTimersByTimeAsync(WAIT_MS);
    const release = await settling;
    expect(release.release).toBe(true);
    expect(release.decision?.name).toBe(HOST);
    expect(b.keys.isCovered(nameKey(HOST), RRType.A, now)).toBe(false);
    expect(b.keys.stats).toMatchObject({ timeouts: 1, failures: 0 });
    expect(b.lines).toEqual(expect.arrayContaining([expect.objectContaining({ msg: 'decision not in place in time', level: 40, settled: 'timeout' })]));
  });

  it('withholds the answer when the decision is not in place after waitMs (onTimeout servfail), naming the host', async () => {
    const b = broker({ onTimeout: 'servfail' });
    const settling = b.keys.settle(question(ALIAS), addressAnswer([record(ALIAS, RRType.CNAME, nameWire(HOST)), aRecord(HOST)]), new AbortController().signal);
    await b.backend.called();
    await vi.advanceTimersByTimeAsync(WAIT_MS);
    const release = await settling;
    expect(release).toEqual({ release: false, reason: `policy for ${HOST} not in place after ${WAIT_MS} ms`, decision: b.backend.decisions[0] });
    expect(b.keys.isCovered(nameKey(ALIAS), RRType.A, now)).toBe(false);
  });

  it('withholds the answer when the backend fails (onTimeout servfail), with its error', async () => {
    const b = broker({ onTimeout: 'servfail' });
    const settling = b.keys.settle(question(HOST), addressAnswer([aRecord(HOST)]), new AbortController().signal);
    await b.backend.called();
    b.backend.refuse(new Error('charon refused the policy'));
    const release = await settling;
    expect(release).toMatchObject({ release: false, reason: `policy for ${HOST} failed: charon refused the policy` });
    expect(b.keys.stats).toMatchObject({ timeouts: 0, failures: 1 });
    expect(b.keys.isCovered(nameKey(HOST), RRType.A, now)).toBe(false);
  });

  it('answers anyway when the backend fails (onTimeout answer), without covering', async () => {
    const b = broker({ onTimeout: 'answer' });
    const settling = b.keys.settle(question(HOST), addressAnswer([aRecord(HOST)]), new AbortController().signal);
    await b.backend.called();
    b.backend.refuse(new Error('charon refused the policy'));
    await expect(settling).resolves.toMatchObject({ release: true });
    expect(b.keys.isCovered(nameKey(HOST), RRType.A, now)).toBe(false);
  });

  it('does not cover a decision that holds no time (the IPSECKEY lookup failed)', async () => {
    const { lookup } = fakeLookup({ [`${HOST}/${RRType.IPSECKEY}`]: new Error('no upstream answered') });
    const b = broker({ lookup });
    const release = await b.keys.settle(question(HOST), addressAnswer([aRecord(HOST)]), new AbortController().signal);
    expect(release).toMatchObject({ release: true, decision: { expiresAtMs: now, addresses: [expect.objectContaining({ reason: 'IPSECKEY is indeterminate: no upstream answered' })] } });
    expect(b.keys.isCovered(nameKey(HOST), RRType.A, now)).toBe(false);
  });

  it('remembers at most maxCovered names, dropping the oldest decision first', async () => {
    const b = broker({ maxCovered: 2 });
    const covered = (name: string): boolean => b.keys.isCovered(nameKey(name), RRType.A, now);
    await settleInPlace(b, 'a.example.test.');
    await settleInPlace(b, 'b.example.test.');
    expect([covered('a.example.test.'), covered('b.example.test.')]).toEqual([true, true]);
    await settleInPlace(b, 'c.example.test.');
    expect([covered('a.example.test.'), covered('b.example.test.'), covered('c.example.test.')]).toEqual([false, true, true]);
    // A new decision for b makes it the newest: d pushes out c.
    await settleInPlace(b, 'b.example.test.');
    await settleInPlace(b, 'd.example.test.');
    expect([covered('b.example.test.'), covered('c.example.test.'), covered('d.example.test.')]).toEqual([true, false, true]);
  });
});

describe('KeyBroker.prefetch', () => {
  it('starts IPSECKEY, CERT and TLSA lookups for the name asked, without waiting', () => {
    const b = broker();
    expect(b.keys.prefetch(question(ALIAS), new AbortController().signal)).toBeUndefined();
    expect(b.asked).toEqual([`${ALIAS}/${RRType.IPSECKEY}`, `${ALIAS}/${RRType.CERT}`, `_443._tcp.${ALIAS}/${RRType.TLSA}`]);
  });

  it.each<[string, ValidatedLookup]>([
    ['rejects', () => Promise.reject(new Error('no upstream answered'))],
    ['throws synchronously', () => {
      throw new Error('pool closed');
    }],
  ])('never rejects, even when the lookup %s', async (_what, lookup) => {
    const reasons: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void reasons.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const b = broker({ lookup });
      expect(() => b.keys.prefetch(question(HOST), new AbortController().signal)).not.toThrow();
      await turn();
      await turn();
      expect(reasons).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('KeyBroker.reconfigure', () => {
  it('uses the new TLSA ports for later lookups, and keeps decisions already made', async () => {
    const b = broker();
    await settleInPlace(b, 'a.example.test.');
    b.keys.reconfigure({ tlsaPorts: [{ port: 25, protocol: 'tcp' }, { port: 853, protocol: 'udp' }], decide: defaultDecision({ waitMs: WAIT_MS, onTimeout: 'servfail' }) });
    expect(b.keys.isCovered(nameKey('a.example.test.'), RRType.A, now)).toBe(true);
    b.asked.length = 0;
    b.keys.prefetch(question('p.example.test.'), new AbortController().signal);
    expect(b.asked.filter((q) => q.endsWith(`/${RRType.TLSA}`))).toEqual([`_25._tcp.p.example.test./${RRType.TLSA}`, `_853._udp.p.example.test./${RRType.TLSA}`]);
    const release = await settleInPlace(b, 'b.example.test.');
    expect([...release.decision!.keys.tlsa.keys()]).toEqual(['25/tcp', '853/udp']);
    expect(release.decision!.onTimeout).toBe('servfail');
    expect(b.asked).not.toContain(`_443._tcp.b.example.test./${RRType.TLSA}`);
  });
});

describe('isAddressQuestion', () => {
  it.each([[RRType.A, true], [RRType.AAAA, true], [RRType.IPSECKEY, false], [RRType.CNAME, false]])('type %i: %s', (type, expected) => {
    expect(isAddressQuestion(question(HOST, type))).toBe(expected);
  });
});
