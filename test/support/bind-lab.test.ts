import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BindLabError, dig, startAuthServer, type AuthServer } from './bind-lab.js';
import { freePort } from './free-port.js';

/** Eight 200-byte TXT strings: about 1.7 kB, over the 1232-byte UDP limit. */
const BIG_TXT = Array.from({ length: 8 }, (_, i) => `big 300 IN TXT "${String(i).repeat(200)}"`);

function section(stdout: string, name: 'ANSWER' | 'AUTHORITY'): string {
  const match = new RegExp(`;; ${name} SECTION:\\n([\\s\\S]*?)(\\n\\n|$)`).exec(stdout);
  return match?.[1] ?? '';
}

describe('freePort', () => {
  it('returns a loopback port that UDP and TCP can both bind', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65_536);
  });
});

describe('startAuthServer with an unsigned zone', () => {
  let server: AuthServer;
  beforeAll(async () => {
    server = await startAuthServer({
      zones: [{ origin: 'example.test.', records: ['www 300 IN A 192.0.2.1', ...BIG_TXT], soaMinimumSeconds: 60 }],
    });
  });
  afterAll(() => server.stop());

  it('answers A over UDP on 127.0.0.1', async () => {
    const { stdout, exitCode } = await dig(server, ['+norec', 'www.example.test.', 'A']);
    expect(exitCode).toBe(0);
    expect(server.address).toBe('127.0.0.1');
    expect(stdout).toMatch(/status: NOERROR/);
    expect(stdout).toMatch(/\(UDP\)/);
    expect(section(stdout, 'ANSWER')).toMatch(/www\.example\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.1/);
  });

  it('truncates an RRSet over 1232 bytes on UDP and serves it whole over TCP', async () => {
    const udp = await dig(server, ['+norec', '+notcp', '+ignore', 'big.example.test.', 'TXT']);
    expect(udp.stdout).toMatch(/flags:[^;]*\btc\b/);
    const tcp = await dig(server, ['+norec', '+tcp', 'big.example.test.', 'TXT']);
    expect(tcp.stdout).toMatch(/\(TCP\)/);
    expect(section(tcp.stdout, 'ANSWER').split('\n').filter((line) => /\sTXT\s/.test(line))).toHaveLength(8);
  });

  it('answers NXDOMAIN with the SOA in the authority section (RFC 2308 §3)', async () => {
    const { stdout } = await dig(server, ['+norec', 'nope.example.test.', 'A']);
    expect(stdout).toMatch(/status: NXDOMAIN/);
    expect(section(stdout, 'AUTHORITY')).toMatch(/^example\.test\.\s+60\s+IN\s+SOA\s+ns\.example\.test\. hostmaster/m);
  });
});

describe('startAuthServer with a signed hierarchy', () => {
  let server: AuthServer;
  beforeAll(async () => {
    server = await startAuthServer({
      zones: [
        { origin: 'example.test.', records: ['www 300 IN A 192.0.2.1'], sign: {} },
        { origin: '.', records: [], sign: {} },
        { origin: 'test.', records: [], sign: { nsec3: { iterations: 0, optOut: true } } },
      ],
    });
  });
  afterAll(() => server.stop());

  it('returns RRSIGs with +dnssec', async () => {
    const { stdout } = await dig(server, ['+norec', '+dnssec', 'www.example.test.', 'A']);
    expect(section(stdout, 'ANSWER')).toMatch(/\sRRSIG\s+A 13 3 300 \d{14} \d{14} \d+ example\.test\. /);
  });

  it('serves the DS of example.test. from test., signed by test.', async () => {
    const { stdout } = await dig(server, ['+norec', '+dnssec', '+nosplit', 'example.test.', 'DS']);
    const answer = section(stdout, 'ANSWER');
    const [ds] = server.ds.get('example.test.') ?? [];
    const digest = ds?.split(/\s+/).at(-1);
    expect(digest).toMatch(/^[0-9A-F]{64}$/);
    expect(answer).toContain(digest);
    expect(answer).toMatch(/\sRRSIG\s+DS 13 2 \d+ \d{14} \d{14} \d+ test\. /);
    expect(server.dnskeys.get('example.test.')).toHaveLength(2);
  });

  it('signs test. with NSEC3 opt-out', async () => {
    const param = await dig(server, ['+norec', 'test.', 'NSEC3PARAM']);
    expect(section(param.stdout, 'ANSWER')).toMatch(/NSEC3PARAM\s+1 0 0 -/);
    const denial = await dig(server, ['+norec', '+dnssec', 'nope.test.', 'A']);
    expect(denial.stdout).toMatch(/status: NXDOMAIN/);
    expect(section(denial.stdout, 'AUTHORITY')).toMatch(/\sNSEC3\s+1 1 0 - /);
  });

  it('forms a chain of trust that delv validates from the lab root', async () => {
    const anchors = (server.ds.get('.') ?? []).map((line) => {
      const [, , , keyTag, algorithm, digestType, digest] = line.split(/\s+/);
      return `. static-ds ${keyTag} ${algorithm} ${digestType} "${digest}";`;
    });
    const anchorFile = join(server.dir, 'anchor.conf');
    await writeFile(anchorFile, `trust-anchors { ${anchors.join(' ')} };\n`);
    const delv = await execa('delv', ['@127.0.0.1', '-p', String(server.port), '-a', anchorFile, 'www.example.test.', 'A'], { reject: false });
    expect(`${delv.stdout}\n${delv.stderr}`).toMatch(/; fully validated/);
  });
});

describe('startAuthServer options', () => {
  it('signs with the inception and expiration asked for', async () => {
    const inception = Date.UTC(2020, 0, 1) / 1000;
    const server = await startAuthServer({
      zones: [{ origin: 'old.test.', records: ['www A 192.0.2.7'], sign: { inception, expiration: inception + 86_400 } }],
    });
    try {
      const { stdout } = await dig(server, ['+norec', '+dnssec', 'www.old.test.', 'A']);
      expect(section(stdout, 'ANSWER')).toMatch(/RRSIG\s+A 13 3 300 20200102000000 20200101000000 /);
    } finally {
      await server.stop();
    }
  });

  it('follows a CNAME across its own zones with recursionAcrossOwnZones', async () => {
    const server = await startAuthServer({
      recursionAcrossOwnZones: true,
      zones: [
        { origin: '.', records: [] },
        { origin: 'a.test.', records: ['www CNAME www.b.test.'] },
        { origin: 'b.test.', records: ['www A 192.0.2.9'] },
      ],
    });
    try {
      const { stdout } = await dig(server, ['www.a.test.', 'A']);
      expect(section(stdout, 'ANSWER')).toMatch(/www\.b\.test\.\s+\d+\s+IN\s+A\s+192\.0\.2\.9/);
    } finally {
      await server.stop();
    }
  });

  it('removes its directory on stop', async () => {
    const server = await startAuthServer({ zones: [{ origin: 'gone.test.', records: [] }] });
    await server.stop();
    await expect(access(server.dir)).rejects.toThrow();
    await server.stop();
  });

  it('throws ERR_BIND_LAB with named\'s log when a zone does not load', async () => {
    const start = startAuthServer({ zones: [{ origin: 'bad.test.', records: ['www A not-an-address'] }] });
    await expect(start).rejects.toBeInstanceOf(BindLabError);
    await expect(start).rejects.toThrow(/bad\.test/);
  });

  it('refuses recursion without a lab root', async () => {
    const start = startAuthServer({ recursionAcrossOwnZones: true, zones: [{ origin: 'x.test.', records: [] }] });
    await expect(start).rejects.toMatchObject({ code: 'ERR_BIND_LAB' });
  });

  it('refuses to dig off loopback', async () => {
    await expect(dig({ address: '192.0.2.1', port: 53 }, ['x.'])).rejects.toBeInstanceOf(BindLabError);
  });
});
