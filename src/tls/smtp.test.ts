import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TlsError } from './session.js';
import { addressLiteral, offersStartTls, smtpStartTls } from './smtp.js';

/** A scripted server: `script(socket, line)` answers each line the client sends; `greeting` first. */
const servers: Server[] = [];
async function server(greeting: string, answer: (line: string) => string): Promise<Socket> {
  const srv = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.write(greeting);
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (let lf = pending.indexOf('\n'); lf !== -1; lf = pending.indexOf('\n')) {
        const line = pending.slice(0, lf).replace(/\r$/, '');
        pending = pending.slice(lf + 1);
        socket.write(answer(line));
      }
    });
  });
  servers.push(srv);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  const client = connect(port, '127.0.0.1');
  await new Promise((resolve) => client.once('connect', resolve));
  return client;
}

afterEach(() => {
  for (const srv of servers.splice(0)) srv.close();
});

const EHLO_TLS = '250-mx.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n';
const ok = (line: string): string => (line.startsWith('EHLO') ? EHLO_TLS : line === 'STARTTLS' ? '220 2.0.0 go ahead\r\n' : '500 what\r\n');
const signal = (): AbortSignal => AbortSignal.timeout(5000);

async function replyOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TlsError) return `${error.reply} ${error.message}`;
    throw error;
  }
  return 'OK';
}

describe('SMTP up to STARTTLS (RFC 3207 §4)', () => {
  it('reads a multi-line greeting, sends EHLO and STARTTLS, and leaves nothing unread', async () => {
    const socket = await server('220-mx.example ESMTP\r\n220 welcome\r\n', ok);
    const dialogue = await smtpStartTls(socket, '[127.0.0.1]', signal());
    expect(dialogue.greeting).toEqual({ code: 220, lines: ['mx.example ESMTP', 'welcome'] });
    expect(offersStartTls(dialogue.ehlo)).toBe(true);
    expect(socket.readableLength).toBe(0);
    socket.destroy();
  });

  it('refuses a server that does not offer STARTTLS, or answers it with anything but 220: STARTTLS_REFUSED', async () => {
    const noTls = await server('220 mx\r\n', (line) => (line.startsWith('EHLO') ? '250-mx\r\n250 STARTTLSX\r\n' : '500 no\r\n'));
    expect(await replyOf(smtpStartTls(noTls, 'client', signal()))).toBe('STARTTLS_REFUSED the SMTP server does not offer STARTTLS');
    const refuses = await server('220 mx\r\n', (line) => (line.startsWith('EHLO') ? EHLO_TLS : '454 4.7.0 TLS not available\r\n'));
    expect(await replyOf(smtpStartTls(refuses, 'client', signal()))).toBe('STARTTLS_REFUSED STARTTLS refused: 454 4.7.0 TLS not available');
    const noEhlo = await server('220 mx\r\n', () => '502 5.5.1 EHLO not implemented\r\n');
    expect(await replyOf(smtpStartTls(noEhlo, 'client', signal()))).toMatch(/^STARTTLS_REFUSED EHLO refused: 502/);
  });

  it('refuses plaintext the server sends after its 220 to STARTTLS (an injection): HANDSHAKE_FAILED', async () => {
    const socket = await server('220 mx\r\n', (line) => (line === 'STARTTLS' ? '220 go\r\n250 injected\r\n' : ok(line)));
    expect(await replyOf(smtpStartTls(socket, 'client', signal()))).toMatch(/^HANDSHAKE_FAILED the SMTP server sent \d+ bytes after its 220/);
  });

  it('takes a greeting other than 220 as CONNECT_FAILED, and bounds what a server sends', async () => {
    expect(await replyOf(smtpStartTls(await server('554 5.3.2 go away\r\n', ok), 'client', signal()))).toBe('CONNECT_FAILED SMTP greeting 554 5.3.2 go away');
    expect(await replyOf(smtpStartTls(await server(`220 ${'x'.repeat(2000)}\r\n`, ok), 'client', signal()))).toMatch(/^STARTTLS_REFUSED SMTP reply line longer/);
    expect(await replyOf(smtpStartTls(await server('220-a\r\n'.repeat(100), ok), 'client', signal()))).toMatch(/^STARTTLS_REFUSED SMTP reply longer than 64 lines/);
    expect(await replyOf(smtpStartTls(await server('HTTP/1.1 400 Bad Request\r\n', ok), 'client', signal()))).toMatch(/^STARTTLS_REFUSED not an SMTP reply line/);
    expect(await replyOf(smtpStartTls(await server('220-a\r\n250 b\r\n', ok), 'client', signal()))).toMatch(/changed its code/);
  });

  it('gives up when the deadline passes', async () => {
    const silent = await server('', ok);
    await expect(smtpStartTls(silent, 'client', AbortSignal.timeout(50))).rejects.toThrow(/timeout|aborted/i);
  });

  it('names our side by an address literal (RFC 5321 §4.1.3)', () => {
    expect(addressLiteral({ localAddress: '192.0.2.1' } as Socket)).toBe('[192.0.2.1]');
    expect(addressLiteral({ localAddress: '2001:db8::1' } as Socket)).toBe('[IPv6:2001:db8::1]');
  });
});
