import { describe, expect, it } from 'vitest';
import type { PolicySpec } from './backend.js';
import type { IpsecState, StateEntry } from './state-file.js';
import { decodeJournal, encodeGroup, replayJournal, type JournalGroup } from './state-journal.js';

const NOW = 1_700_000_000_000;
const protect = (remote: string): PolicySpec => ({
  family: 4, remote, selector: {}, action: { kind: 'protect', level: 'require', mode: 'transport' },
  peer: { identity: 'alice.example.', publicKeyPem: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' },
});
const a = protect('192.0.2.10');
const b = protect('192.0.2.20');
const held = (spec: PolicySpec, owner: string, untilMs: number): StateEntry => ({ spec, owners: [[owner, untilMs]] });
const group = (atMs: number, change: Partial<Omit<JournalGroup, 'atMs'>>): JournalGroup => ({ atMs, begin: [], end: [], set: [], gone: [], ...change });
const snapshot: IpsecState = { backend: 'xfrm', pid: 1, writtenAtMs: NOW, entries: [held(a, 'a./A', NOW + 60_000)], inFlight: [] };
const journal = (...groups: JournalGroup[]): string => `{"journal":"j1"}\n${groups.map(encodeGroup).join('')}`;

describe('the IPsec state journal', () => {
  it('replays groups in order: a batch begins, the entry it added, the batch ends', () => {
    const lines = [
      group(NOW + 1, { begin: [{ id: 1, owner: 'b./A', specs: [b] }] }),
      group(NOW + 2, { end: [1], set: [held(b, 'b./A', NOW + 30_000)] }),
      group(NOW + 3, { begin: [{ id: 2, specs: [a] }] }),
    ];
    const { groups } = decodeJournal(journal(...lines), 'j1');
    expect(groups).toEqual(lines.map((g) => JSON.parse(JSON.stringify(g))));
    expect(replayJournal(snapshot, groups)).toEqual({
      ...snapshot, writtenAtMs: NOW + 3, entries: [held(a, 'a./A', NOW + 60_000), held(b, 'b./A', NOW + 30_000)], inFlight: [{ id: 2, specs: [a] }],
    });
  });

  it('applies a later line over an earlier one: renewed, then gone, then back', () => {
    const renewed = held(a, 'a./A', NOW + 120_000);
    const steps = [group(NOW + 1, { set: [renewed] }), group(NOW + 2, { gone: [a] }), group(NOW + 3, { set: [held(a, 'c./A', NOW + 5)] })];
    expect(replayJournal(snapshot, steps.slice(0, 1)).entries).toEqual([renewed]);
    expect(replayJournal(snapshot, steps.slice(0, 2)).entries).toEqual([]);
    expect(replayJournal(snapshot, steps).entries).toEqual([held(a, 'c./A', NOW + 5)]);
  });

  it('ends a batch the snapshot recorded in flight by its number; one without a number stays in flight', () => {
    const base = { ...snapshot, inFlight: [{ id: 4, specs: [a] }, { specs: [b] }] };
    expect(replayJournal(base, [group(NOW + 1, { end: [4] })]).inFlight).toEqual([{ specs: [b] }]);
  });

  it('ignores a last line cut short (the process died appending it), never failing', () => {
    const whole = group(NOW + 1, { set: [held(b, 'b./A', NOW + 30_000)] });
    const torn = encodeGroup(group(NOW + 2, { gone: [a, b] })).slice(0, 25);
    expect(decodeJournal(`${journal(whole)}${torn}`, 'j1')).toEqual({ groups: [JSON.parse(JSON.stringify(whole))], tornLine: true, stale: false });
    // What an OS crash may leave: a tail of zeros where the page cache never reached the disk.
    expect(decodeJournal(`${journal(whole)}\0\0\0\0`, 'j1')).toMatchObject({ groups: [expect.anything()], tornLine: true });
  });

  it('treats an empty journal, or one whose header is missing or names another snapshot, as nothing to replay', () => {
    expect(decodeJournal('', 'j1')).toEqual({ groups: [], tornLine: false, stale: false });
    expect(decodeJournal('{"journ', 'j1')).toEqual({ groups: [], tornLine: false, stale: true });
    expect(decodeJournal(journal(group(NOW, { gone: [a] })), 'j2')).toEqual({ groups: [], tornLine: false, stale: true });
  });

  it.each([
    ['a line before the last that is no JSON', `${journal()}{"atMs":\n${encodeGroup(group(NOW, {}))}`, /^journal line 2 is not JSON$/],
    ['a bad address', journal(group(NOW, { set: [held({ ...a, remote: '192.0.2.1; reboot' }, 'a./A', NOW)] })), /journal line 2\.set\[0\]\.spec\.remote is not an IPv4 address/],
    ['a begun batch without its number', journal(group(NOW, { begin: [{ specs: [a] }] })), /journal line 2\.begin\[0\]\.id is missing/],
    ['a time that is none', `${journal()}{"atMs":"soon"}\n`, /journal line 2\.atMs is not a time/],
  ])('refuses a journal with %s (ERR_IPSEC_STATE)', (_what, text, message) => {
    expect(() => decodeJournal(text, 'j1')).toThrow(message);
  });
});
