import { describe, expect, it } from 'vitest';
import type { ManagedPolicy } from '../policy-manager.js';
import { formatStatus } from './status-format.js';
import { parseResponseLine, parseStatusReport } from './status-parse.js';
import { statusReport, type StatusInput } from './status-report.js';
import { ControlResponseError, ControlSocketError } from './control-protocol.js';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);
const pem = '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n';

const alice: ManagedPolicy = {
  spec: {
    family: 4, local: '192.0.2.1', remote: '192.0.2.10', selector: {},
    action: { kind: 'protect', level: 'require', mode: 'transport' }, peer: { identity: 'alice.lab.example.', publicKeyPem: pem },
  },
  owners: ['www.lab.example./A', 'alice.lab.example./A'],
  expiresAtMs: NOW + 299_500,
};
const bob: ManagedPolicy = {
  spec: {
    family: 6, remote: '2001:db8::20', selector: { protocol: 6, ports: [{ first: 443, last: 443 }, { first: 8000, last: 8080 }] },
    action: { kind: 'protect', level: 'use', mode: 'tunnel', gateway: '2001:db8::1' },
  },
  owners: ['bob.lab.example./AAAA'],
  expiresAtMs: NOW - 1_000,
};
const nd: ManagedPolicy = {
  spec: { family: 6, remote: '2001:db8::20', selector: { protocol: 58, ports: [{ first: 133, last: 136 }] }, action: { kind: 'pass' } },
  owners: ['bob.lab.example./AAAA'],
  expiresAtMs: NOW + 90_000,
};

const input = (policies: readonly ManagedPolicy[], extra: Partial<StatusInput> = {}): StatusInput => ({
  backend: 'xfrm', policies, nowMs: NOW, startedAtMs: NOW - 7_384_000, pid: 4242, version: '0.1.0',
  listen: ['127.0.0.1:53', '[::1]:53'], ...extra,
});

describe('statusReport (what oedns status shows)', () => {
  it('describes each held entry with its owners, addresses, selector, action and expiry', () => {
    const report = statusReport(input([alice]));
    expect(report).toEqual({
      format: 1, pid: 4242, version: '0.1.0', startedAt: '2025-01-01T09:56:56.000Z', generatedAt: '2025-01-01T12:00:00.000Z',
      uptimeSeconds: 7384, listen: ['127.0.0.1:53', '[::1]:53'], backend: 'xfrm', counters: {},
      policies: [{
        names: ['alice.lab.example./A', 'www.lab.example./A'], local: '192.0.2.1', remote: '192.0.2.10', family: 4,
        selector: { protocol: null, ports: [] }, action: 'protect', level: 'require', mode: 'transport', gateway: null,
        peer: 'alice.lab.example.', backend: 'xfrm', expiresAt: '2025-01-01T12:04:59.500Z', secondsLeft: 299,
      }],
    });
  });

  it('sorts by first name, gives non-protect actions no level, and shows 0 seconds left once past expiry', () => {
    const report = statusReport(input([nd, alice, bob], { counters: { queries: 12 } }));
    expect(report.policies.map((p) => [p.names[0], p.action, p.level, p.secondsLeft])).toEqual([
      ['alice.lab.example./A', 'protect', 'require', 299],
      ['bob.lab.example./AAAA', 'protect', 'use', 0],
      ['bob.lab.example./AAAA', 'pass', null, 90],
    ]);
    expect(report.policies[1]).toMatchObject({ local: null, mode: 'tunnel', gateway: '2001:db8::1', peer: null });
    expect(report.counters).toEqual({ queries: 12 });
  });

  it('survives an entry without owners (no expiry date) instead of throwing RangeError', () => {
    const report = statusReport(input([{ ...alice, owners: [], expiresAtMs: -Infinity }]));
    expect(report.policies[0]).toMatchObject({ names: [], expiresAt: '2025-01-01T12:00:00.000Z', secondsLeft: 0 });
  });

  it('round-trips through JSON and parseStatusReport unchanged', () => {
    const report = statusReport(input([alice, bob, nd], { counters: { queries: 3 } }));
    expect(parseStatusReport(JSON.parse(JSON.stringify(report)))).toEqual(report);
  });
});

describe('parseStatusReport / parseResponseLine (the client edge)', () => {
  it('names the first field that is wrong', () => {
    const report = JSON.parse(JSON.stringify(statusReport(input([alice])))) as Record<string, unknown>;
    (report['policies'] as Record<string, unknown>[])[0]!['family'] = 5;
    expect(() => parseStatusReport(report)).toThrow(/field policies\[0\]\.family/);
    expect(() => parseStatusReport({ ...report, pid: '1' })).toThrow(ControlSocketError);
    expect(() => parseStatusReport([])).toThrow(/field status/);
  });

  it('throws ControlResponseError (ERR_CONTROL_RESPONSE) carrying the server code for an error line', () => {
    const error = (() => {
      try {
        parseResponseLine('{"ok":false,"error":{"code":"ERR_CONTROL_BUSY","message":"try again"}}');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ControlResponseError);
    expect(error).toMatchObject({ code: 'ERR_CONTROL_RESPONSE', responseCode: 'ERR_CONTROL_BUSY', message: 'oedns refused the request: try again' });
  });

  it('throws ControlSocketError (ERR_CONTROL_SOCKET) for a line that is not JSON or not a response', () => {
    expect(() => parseResponseLine('SSH-2.0-OpenSSH')).toThrow(expect.objectContaining({ code: 'ERR_CONTROL_SOCKET' }));
    expect(() => parseResponseLine('{"ok":"yes"}')).toThrow(/field ok/);
  });
});

describe('formatStatus (the table)', () => {
  it('prints a header and one row per entry with name, local, remote, traffic, level, backend and expiry', () => {
    const lines = formatStatus(statusReport(input([alice, bob, nd], { counters: { queries: 12, cacheHits: 3 } })));
    expect(lines).toEqual([
      'oedns 0.1.0 (pid 4242), up 2h 03m, listening on 127.0.0.1:53, [::1]:53',
      'counters: queries=12 cacheHits=3',
      'IPsec backend xfrm: 3 policies',
      '',
      'NAME                   LOCAL      REMOTE        TRAFFIC                 LEVEL                       BACKEND  EXPIRES',
      'alice.lab.example./A   192.0.2.1  192.0.2.10    any                     require                     xfrm     2025-01-01T12:04:59Z (in 4m 59s)',
      'www.lab.example./A',
      'bob.lab.example./AAAA  *          2001:db8::20  tcp/443,8000-8080       use tunnel via 2001:db8::1  xfrm     2025-01-01T11:59:59Z (expired)',
      'bob.lab.example./AAAA  *          2001:db8::20  ipv6-icmp type 133-136  pass                        xfrm     2025-01-01T12:01:30Z (in 1m 30s)',
    ]);
  });

  it('says so when no policies are held', () => {
    expect(formatStatus(statusReport(input([], { backend: 'none', listen: [] })))).toEqual([
      'oedns 0.1.0 (pid 4242), up 2h 03m, listening on nothing',
      'IPsec backend none: no policies held',
    ]);
  });

  it('never prints a control character from a name (terminal escape injection)', () => {
    const hostile = { ...alice, owners: ['evil\x1b]0;pwned\x07.example./A', 'caf\u00e9.example./A'] };
    const text = formatStatus(statusReport(input([hostile]))).join('\n');
    expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\uffff]/u);
    expect(text).toContain('evil\\x1b]0;pwned\\x07.example./A');
    expect(text).toContain('caf\\xe9.example./A');
  });
});
