/**
 * SMTP with DANE, client side (RFC 7672), against real aiosmtpd servers (test/support/smtp-server.ts)
 * behind MX, A and TLSA records in a BIND-signed lab zone, validated by oedns' own resolver:
 * DANE-EE and DANE-TA authenticate and a mail goes through; a mismatch fails and never falls back
 * to plaintext; no TLSA gives opportunistic TLS; unusable records give TLS without
 * authentication; a server without STARTTLS under TLSA is refused; a TLSA lookup that fails
 * skips that MX (§2.2); an insecure MX RRset means no DANE; a null MX means no mail. The
 * control socket's connect + start-tls @TOKEN does the same dialogue for an application.
 * Needs dist/ (npx tsc -p tsconfig.json) for the process run.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { execa } from 'execa';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPlain, startTlsOn } from '../../src/client/index.js';
import { TlsDaemon } from '../../src/tls/control/index.js';
import { runTlsExec } from '../../src/tls/exec.js';
import { NO_FLAGS, TlsError } from '../../src/tls/index.js';
import { connectSmtp, type SmtpConnection } from '../../src/tls/smtp-dane.js';
import { openTlsRuntime, type TlsRuntime } from '../../src/tls-runtime.js';
import { issue, tlsaText, writePki } from '../support/pki.js';
import { startSignedLab, type SignedLab } from '../support/signed-lab.js';
import { startSmtpServer, type SmtpServer } from '../support/smtp-server.js';
import { oednsCommand } from '../support/tls-commands.js';

const SIGN = { algorithm: 'ECDSAP256SHA256' } as const;
let dir: string;
let lab: SignedLab;
let runtime: TlsRuntime;
let starttls: SmtpServer;
let plain: SmtpServer;
let oedns: readonly string[];
let cliArgs: string[];

/** One CA, one leaf for every MX host; the servers send leaf and CA (DANE-TA wants the anchor in the chain, RFC 7671 §5.2.2). */
const root = issue({ subject: 'oedns mail lab CA', ca: true });
const leaf = issue({ subject: 'mx.mail.test', dns: ['mx1.mail.test', 'mx2.mail.test', 'mx3.mail.test', 'mx4.mail.test', 'mx5.mail.test', 'mx7.mail.test'], issuer: root });
const stranger = issue({ subject: 'stranger' });

function zone(p1: number, p2: number): string[] {
  const a = (name: string): string => `${name} 300 IN A 127.0.0.1`;
  const tlsa = (port: number, name: string, rdata: string): string => `_${port}._tcp.${name} 300 IN TLSA ${rdata}`;
  return [
    'dane 300 IN MX 10 mx1', a('mx1'), tlsa(p1, 'mx1', tlsaText(leaf, 3, 1, 1)),
    'mismatch 300 IN MX 10 mx2', a('mx2'), tlsa(p1, 'mx2', tlsaText(stranger, 3, 1, 1)),
    'notlsa 300 IN MX 10 mx3', a('mx3'),
    'plain 300 IN MX 10 mx4', a('mx4'), tlsa(p2, 'mx4', tlsaText(leaf, 3, 1, 1)),
    'ta 300 IN MX 10 mx5', a('mx5'), tlsa(p1, 'mx5', tlsaText(root, 2, 0, 1)),
    'unusable 300 IN MX 10 mx7', a('mx7'), tlsa(p1, 'mx7', tlsaText(leaf, 1, 1, 1)),
    'fallback 300 IN MX 10 mxlame', 'fallback 300 IN MX 20 mx1', 'lameonly 300 IN MX 10 mxlame', a('mxlame'),
    '_tcp.mxlame 300 IN NS ns._tcp.mxlame', 'ns._tcp.mxlame 300 IN A 127.0.0.9',
    'nullmx 300 IN MX 0 .',
  ];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oedns-smtp-test-'));
  const files = await writePki(dir, 'mx', leaf, { includeRoot: true });
  starttls = await startSmtpServer({ certFile: files.fullchain, keyFile: files.key });
  plain = await startSmtpServer();
  lab = await startSignedLab({
    recursionAcrossOwnZones: true, sign: SIGN,
    zones: [
      { origin: 'mail.test.', sign: SIGN, records: zone(starttls.port, plain.port) },
      { origin: 'open.test.', records: ['insecure 300 IN MX 10 mx1.mail.test.'] },
    ],
  });
  const flags = { upstream: [`${lab.address}:${lab.port}`], 'trust-anchor': [lab.anchorFile], insecure: [], keys: false, 'upstream-timeout-ms': 1000, 'query-timeout-ms': 3000 };
  runtime = await openTlsRuntime({ flags: { ...flags, 'log-level': 'warn' }, resolvConfPath: '/dev/null', logDestination: new Writable({ write: (_c, _e, done) => done() }) });
  cliArgs = ['--upstream', `${lab.address}:${lab.port}`, '--trust-anchor', lab.anchorFile, '--resolv-conf', '/dev/null', '--log-level', 'warn'];
  oedns = await oednsCommand(dir);
}, 120_000);

afterAll(async () => {
  await starttls?.stop();
  await plain?.stop();
  await lab?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const deps = () => ({ lookup: runtime.lookup, engine: runtime.engine, log: runtime.log });
const smtp = (domain: string, port = starttls.port): Promise<SmtpConnection> => connectSmtp(deps(), { domain, port, flags: NO_FLAGS }, AbortSignal.timeout(20_000));

async function refusal(domain: string, port = starttls.port): Promise<string> {
  try {
    (await smtp(domain, port)).session.socket.destroy();
  } catch (error) {
    if (error instanceof TlsError) return error.reply;
    throw error;
  }
  return 'connected';
}

/** A mail client on fds 6 and 7: EHLO again (RFC 3207 §4.2), one message, QUIT; replies and environment into a file. */
const MAILER = `
const fs = require('node:fs');
let pending = '';
function reply() {
  for (;;) {
    const lines = pending.split('\\r\\n');
    const end = lines.findIndex((line, i) => i < lines.length - 1 && /^[0-9]{3} /.test(line));
    if (end !== -1) {
      pending = lines.slice(end + 1).join('\\r\\n');
      return lines[end];
    }
    const buffer = Buffer.alloc(4096);
    const n = fs.readSync(6, buffer);
    if (n === 0) throw new Error('connection closed: ' + pending);
    pending += buffer.toString('latin1', 0, n);
  }
}
const send = (line) => { fs.writeSync(7, line + '\\r\\n'); return reply(); };
const replies = ['EHLO client.example', 'MAIL FROM:<alice@client.example>', 'RCPT TO:<bob@' + process.argv[2] + '>', 'DATA',
  'Subject: over DANE\\r\\n\\r\\nhello\\r\\n.', 'QUIT'].map(send);
fs.writeFileSync(process.argv[1], JSON.stringify({ replies, env: process.env }));
`;

describe('RFC 7672 through tls-exec --starttls smtp', () => {
  it('delivers a mail over TLS authenticated by DANE-EE, the program speaking after STARTTLS', async () => {
    const before = (await starttls.messages()).length;
    const out = join(dir, 'mailer.json');
    const status = await runTlsExec({
      name: 'dane.mail.test', port: starttls.port, starttls: 'smtp', flags: NO_FLAGS, program: process.execPath,
      args: ['-e', MAILER, out, 'dane.mail.test'], engine: runtime.engine, lookup: runtime.lookup, log: runtime.log,
    });
    expect(status).toBe(0);
    const { replies, env } = JSON.parse(await readFile(out, 'utf8')) as { replies: string[]; env: Record<string, string> };
    expect(replies.map((r) => r.slice(0, 3))).toEqual(['250', '250', '250', '354', '250', '221']);
    expect(env).toMatchObject({
      OEDNS_AUTH: 'dane', OEDNS_DANE: '3 1 1', OEDNS_DNSSEC: 'secure', OEDNS_IDENTITY: 'mx1.mail.test.', OEDNS_SMTP_POLICY: 'dane',
      OEDNS_SMTP_DOMAIN: 'dane.mail.test', OEDNS_TLSA_OWNER: `_${starttls.port}._tcp.mx1.mail.test.`, SSLREMOTEHOST: 'mx1.mail.test', PROTO: 'SSL',
    });
    const messages = await starttls.messages();
    expect(messages).toHaveLength(before + 1);
    expect(messages.at(-1)).toMatchObject({ mailFrom: 'alice@client.example', rcptTos: ['bob@dane.mail.test'], tls: true });
    expect(messages.at(-1)!.content).toMatch(/hello/);
  });

  it('refuses a TLSA mismatch with exit 111 and never speaks plaintext to the server', async () => {
    const before = (await starttls.messages()).length;
    const marker = join(dir, 'ran');
    const result = await execa(oedns[0]!, [...oedns.slice(1), 'tls-exec', ...cliArgs, '--starttls', 'smtp', 'mismatch.mail.test', String(starttls.port), '--', 'touch', marker], { reject: false, timeout: 30_000 });
    expect(result.exitCode).toBe(111);
    expect(result.stderr).toMatch(/^oedns: ERR TLSA_MISMATCH mx2\.mail\.test\. /m);
    await expect(readFile(marker)).rejects.toThrow(/ENOENT/);
    expect(await starttls.messages()).toHaveLength(before);
  });
});

describe('RFC 7672 rules per MX host', () => {
  it('authenticates DANE-TA with the MX host name as reference identifier (§3.1.2, §3.2.2)', async () => {
    const { session, policy, mxHost } = await smtp('ta.mail.test');
    session.socket.destroy();
    expect({ policy, mxHost, method: session.method, usage: session.dane?.usage }).toEqual({ policy: 'dane', mxHost: 'mx5.mail.test.', method: 'dane', usage: 2 });
  });

  it('uses opportunistic TLS without TLSA (a secure denial) and without a secure MX RRset (§2.2.1)', async () => {
    const none = await smtp('notlsa.mail.test');
    none.session.socket.destroy();
    expect({ policy: none.policy, method: none.session.method, dnssec: none.session.dnssec }).toEqual({ policy: 'opportunistic', method: 'none', dnssec: 'secure' });
    const insecure = await smtp('insecure.open.test');
    insecure.session.socket.destroy();
    expect({ policy: insecure.policy, method: insecure.session.method, dnssec: insecure.session.dnssec }).toEqual({ policy: 'opportunistic', method: 'none', dnssec: 'insecure' });
  });

  it('requires TLS but cannot authenticate when no TLSA record is usable for SMTP (§2.2, §3.1.3)', async () => {
    const { session, policy } = await smtp('unusable.mail.test');
    session.socket.destroy();
    expect({ policy, method: session.method }).toEqual({ policy: 'mandatory', method: 'none' });
  });

  it('refuses a server without STARTTLS when TLSA exists (STARTTLS_REFUSED), and a mismatch (TLSA_MISMATCH)', async () => {
    expect(await refusal('plain.mail.test', plain.port)).toBe('STARTTLS_REFUSED');
    expect(await refusal('mismatch.mail.test')).toBe('TLSA_MISMATCH');
  });

  it('skips an MX whose TLSA lookup fails, never taking it as "no TLSA" (§2.2)', async () => {
    expect(await refusal('lameonly.mail.test')).toBe('DNS_FAILED');
    const { session, mxHost } = await smtp('fallback.mail.test');
    session.socket.destroy();
    expect({ mxHost, method: session.method }).toEqual({ mxHost: 'mx1.mail.test.', method: 'dane' });
  });

  it('knows a null MX (RFC 7505) and a domain that does not exist', async () => {
    expect(await refusal('nullmx.mail.test')).toBe('NOT_FOUND');
    expect(await refusal('nothing.mail.test')).toBe('NOT_FOUND');
  });
});

describe('STARTTLS through the control socket (connect, then start-tls @TOKEN)', () => {
  it('lets the application speak SMTP up to STARTTLS, then upgrades its stream with DANE', async () => {
    const socketPath = join(dir, 'tls.sock');
    const daemon = await TlsDaemon.start({ socketPath, engine: runtime.engine, lookup: runtime.lookup, log: pino({ level: 'silent' }) });
    try {
      const { stream, token } = await connectPlain({ socketPath, name: 'mx1.mail.test', port: starttls.port });
      const lines = reader(stream);
      expect(await lines.reply()).toMatch(/^220 /);
      stream.write('EHLO app.example\r\n');
      expect(await lines.reply()).toMatch(/^250 /);
      stream.write('STARTTLS\r\n');
      expect(await lines.reply()).toMatch(/^220 /);
      const { identity, attributes } = await startTlsOn(token, { socketPath });
      expect(identity).toBe('mx1.mail.test.');
      expect(attributes).toMatchObject({ method: 'dane', dane: '3,1,1', dnssec: 'secure' });
      stream.write('EHLO app.example\r\n');
      expect(await lines.reply()).toMatch(/^250 /);
      stream.destroy();
    } finally {
      await daemon.stop();
    }
  });
});

/** SMTP replies (their final line) from a stream. */
function reader(stream: NodeJS.ReadableStream): { reply(): Promise<string> } {
  let pending = '';
  const waiting: Array<() => void> = [];
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString('latin1');
    for (const wake of waiting.splice(0)) wake();
  });
  return {
    async reply() {
      for (;;) {
        const lines = pending.split('\r\n');
        const end = lines.findIndex((line, i) => i < lines.length - 1 && /^[0-9]{3} /.test(line));
        if (end !== -1) {
          pending = lines.slice(end + 1).join('\r\n');
          return lines[end]!;
        }
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
    },
  };
}
