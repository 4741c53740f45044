import { describe, expect, it } from 'vitest';
import type { PolicySpec } from '../backend.js';
import { SetkeyBackend } from './setkey-backend.js';
import { makeStandIns } from './testdata/stand-in.js';

const signal = (): AbortSignal => AbortSignal.timeout(20_000);
const PAIR: PolicySpec = { family: 4, local: '10.0.0.22', remote: '10.0.0.23', selector: {}, action: { kind: 'protect', level: 'require', mode: 'transport' } };
const OUT = '10.0.0.22/32 10.0.0.23/32 any -P out';
const IN = '10.0.0.23/32 10.0.0.22/32 any -P in';

describe('SetkeyBackend against a stand-in setkey', () => {
  it('feeds one pair to `setkey -c` on stdin as one call and records it', async () => {
    const s = makeStandIns();
    const backend = new SetkeyBackend({ setkeyPath: s.setkeyPath });
    await backend.apply([{ op: 'add', policy: PAIR }], signal());
    expect(s.calls()).toEqual([{
      tool: 'setkey', args: ['-c'], exitCode: 0,
      stdin: 'spdadd 10.0.0.22/32 10.0.0.23/32 any -P out ipsec esp/transport//require;\nspdadd 10.0.0.23/32 10.0.0.22/32 any -P in ipsec esp/transport//require;\n',
    }]);
    expect(s.spd().map((e) => e.selector)).toEqual([OUT, IN]);
    expect(await backend.list(signal())).toEqual([expect.objectContaining({ backend: 'setkey', remote: '10.0.0.23', handle: expect.any(String) })]);
  });

  it('removes a pair with spddelete and forgets it', async () => {
    const s = makeStandIns();
    const backend = new SetkeyBackend({ setkeyPath: s.setkeyPath });
    await backend.apply([{ op: 'add', policy: PAIR }, { op: 'remove', policy: PAIR }], signal());
    expect(s.calls()[1]?.stdin).toBe(`spddelete ${OUT};\nspddelete ${IN};\n`);
    expect(s.spd()).toEqual([]);
    expect(await backend.list(signal())).toEqual([]);
  });

  it('throws BackendError with setkey\'s stderr when it exits non-zero, and removes the out direction it had added', async () => {
    const s = makeStandIns();
    s.control([{ tool: 'setkey', match: '^spdadd .* -P in ', stderr: 'setkey: pfkey_open: Operation not permitted', exitCode: 1 }]);
    const backend = new SetkeyBackend({ setkeyPath: s.setkeyPath });
    const failure = backend.apply([{ op: 'add', policy: PAIR }], signal());
    await expect(failure).rejects.toMatchObject({ code: 'ERR_IPSEC_BACKEND', message: expect.stringContaining('pfkey_open: Operation not permitted') });
    await expect(failure).rejects.toThrow(/exit code 1/);
    const calls = s.calls();
    expect(calls.map((c) => c.exitCode)).toEqual([1, 0]);
    expect(calls[1]?.stdin).toBe(`spddelete ${OUT};\nspddelete ${IN};\n`);
    expect(s.spd()).toEqual([]);
    expect(await backend.list(signal())).toEqual([]);
  });

  it('treats a kernel refusal printed with exit code 0 (setkey -c carries on) as a failure, and leaves nothing', async () => {
    const s = makeStandIns();
    s.control([{ tool: 'setkey', match: '^spdadd .* -P in ', stdout: 'Invalid argument.' }]);
    const backend = new SetkeyBackend({ setkeyPath: s.setkeyPath });
    await expect(backend.apply([{ op: 'add', policy: PAIR }], signal())).rejects.toThrow(/stdout: Invalid argument\./);
    expect(s.calls().map((c) => c.exitCode)).toEqual([0, 0]);
    expect(s.spd()).toEqual([]);
  });

  it('says so when the rollback fails too', async () => {
    const s = makeStandIns();
    s.control([
      { tool: 'setkey', match: '^spdadd .* -P in ', stderr: 'in refused', exitCode: 1 },
      { tool: 'setkey', match: '^spddelete .* -P out', stderr: 'delete refused', exitCode: 1 },
    ]);
    const backend = new SetkeyBackend({ setkeyPath: s.setkeyPath });
    await expect(backend.apply([{ op: 'add', policy: PAIR }], signal())).rejects.toThrow(/in refused.*rolling back also failed.*delete refused/);
  });

  it('throws BackendError when the executable does not exist', async () => {
    const backend = new SetkeyBackend({ setkeyPath: '/nonexistent/setkey' });
    await expect(backend.apply([{ op: 'add', policy: PAIR }], signal())).rejects.toMatchObject({ code: 'ERR_IPSEC_BACKEND' });
    expect(await backend.list(signal())).toEqual([]);
  });

  it('tolerates "No entry." when removing an entry that is already gone', async () => {
    const s = makeStandIns();
    const backend = new SetkeyBackend({ setkeyPath: s.setkeyPath });
    await backend.apply([{ op: 'remove', policy: PAIR }], signal());
    expect(s.calls()[0]?.exitCode).toBe(0);
  });

  it('removeAll removes everything it installed', async () => {
    const s = makeStandIns();
    const backend = new SetkeyBackend({ setkeyPath: s.setkeyPath });
    const v6: PolicySpec = { family: 6, remote: '2001:db8::10', selector: {}, action: { kind: 'block' } };
    await backend.apply([{ op: 'add', policy: PAIR }, { op: 'add', policy: v6 }], signal());
    expect(s.spd()).toHaveLength(4);
    await backend.removeAll(signal());
    expect(s.spd()).toEqual([]);
    expect(await backend.list(signal())).toEqual([]);
  });

  it('runs nothing for a spec it cannot express', async () => {
    const s = makeStandIns();
    const backend = new SetkeyBackend({ setkeyPath: s.setkeyPath });
    await expect(backend.apply([{ op: 'add', policy: { ...PAIR, action: { kind: 'responder' } } }], signal())).rejects.toMatchObject({ code: 'ERR_IPSEC_BACKEND' });
    expect(s.calls()).toEqual([]);
  });

  it.each([
    ['remote', { remote: '10.0.0.23\nspdflush' }],
    ['remote', { remote: '10.0.0.23; spdflush' }],
    ['local', { local: '10.0.0.22 any -P out none;\nspdflush' }],
    ['gateway', { action: { kind: 'protect' as const, level: 'require' as const, mode: 'tunnel' as const, gateway: '10.0.0.1/require;spdflush' } }],
  ])('never writes a script from a %s that is not a parsed address', async (_field, override: Partial<PolicySpec>) => {
    const s = makeStandIns();
    const backend = new SetkeyBackend({ setkeyPath: s.setkeyPath });
    await expect(backend.apply([{ op: 'add', policy: { ...PAIR, ...override } }], signal())).rejects.toMatchObject({ code: 'ERR_IPSEC_BACKEND' });
    expect(s.calls()).toEqual([]);
  });
});
