/**
 * The client side of SMTP up to STARTTLS (RFC 3207 §4, RFC 5321 §4.2): read the 220 greeting
 * (possibly multi-line), EHLO, look for STARTTLS among the extensions, send STARTTLS, read 220.
 * The socket is then left with nothing unread, ready for the TLS handshake: bytes the server sent
 * after its 220 would be an injection (RFC 3207 §4: the client MUST discard knowledge obtained
 * before TLS; a server sends nothing until the handshake), and fail the dialogue. Replies are
 * bounded in line length and count, and the whole dialogue by the caller's signal.
 */
import type { Socket } from 'node:net';
import { ReplyCode } from './reply-codes.js';
import { TlsError } from './session.js';

/** RFC 5321 §4.5.3.1.5 allows 512 octets a reply line; servers that exceed it a little still work. */
export const MAX_REPLY_LINE_BYTES = 1000;
/** An EHLO reply lists a handful of extensions; more than this is not a mail server talking. */
export const MAX_REPLY_LINES = 64;

export interface SmtpReply {
  readonly code: number;
  readonly lines: readonly string[];
}

export interface StartTlsDialogue {
  readonly greeting: SmtpReply;
  readonly ehlo: SmtpReply;
}

/** The text of a reply for messages: code and first line, printable, short. */
export function replySummary(reply: SmtpReply): string {
  return `${reply.code} ${(reply.lines[0] ?? '').replace(/[^\x20-\x7e]/g, '?').slice(0, 120)}`.trim();
}

/** Whether an EHLO reply announces STARTTLS (RFC 3207 §4: the keyword on a line of its own). */
export function offersStartTls(ehlo: SmtpReply): boolean {
  return ehlo.lines.slice(1).some((line) => /^STARTTLS(?:\s|$)/i.test(line));
}

/** Reads SMTP replies from a socket, one at a time. */
class ReplyReader {
  private buffer: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private ended = false;

  constructor(private readonly socket: Socket) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    this.waiter?.();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.waiter?.();
  };

  /** Stops reading; returns bytes received and not yet consumed. */
  detach(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.pause();
    const unread: Buffer[] = [this.buffer];
    for (let chunk = this.socket.read() as Buffer | null; chunk !== null; chunk = this.socket.read() as Buffer | null) unread.push(chunk);
    return Buffer.concat(unread);
  }

  async next(signal: AbortSignal): Promise<SmtpReply> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.line(signal);
      const match = /^([2-5][0-9]{2})(?:([ -])(.*))?$/.exec(line);
      if (!match) throw new TlsError(ReplyCode.StartTlsRefused, `not an SMTP reply line: ${JSON.stringify(line.slice(0, 80))}`);
      const code = Number(match[1]);
      if (lines.length > 0 && code !== Number(/^[0-9]{3}/.exec(lines[0] ?? '')?.[0] ?? code)) {
        throw new TlsError(ReplyCode.StartTlsRefused, 'an SMTP multi-line reply changed its code');
      }
      lines.push(line);
      if (lines.length > MAX_REPLY_LINES) throw new TlsError(ReplyCode.StartTlsRefused, `SMTP reply longer than ${MAX_REPLY_LINES} lines`);
      if (match[2] !== '-') return { code, lines: lines.map((text) => text.slice(4)) };
    }
  }

  private async line(signal: AbortSignal): Promise<string> {
    for (;;) {
      signal.throwIfAborted();
      const lf = this.buffer.indexOf(0x0a);
      if (lf !== -1) {
        const line = this.buffer.subarray(0, lf).toString('latin1').replace(/\r$/, '');
        this.buffer = this.buffer.subarray(lf + 1);
        if (line.length > MAX_REPLY_LINE_BYTES) throw new TlsError(ReplyCode.StartTlsRefused, `SMTP reply line longer than ${MAX_REPLY_LINE_BYTES} bytes`);
        return line;
      }
      if (this.buffer.length > MAX_REPLY_LINE_BYTES) throw new TlsError(ReplyCode.StartTlsRefused, `SMTP reply line longer than ${MAX_REPLY_LINE_BYTES} bytes`);
      if (this.ended) throw new TlsError(ReplyCode.ConnectFailed, 'the SMTP server closed the connection');
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.waiter = undefined;
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.waiter = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }
}

/**
 * Greeting, EHLO `helo`, STARTTLS. Refusals are TlsErrors: a greeting other than 220 is
 * CONNECT_FAILED (the server does not take mail from us now), no STARTTLS in the EHLO reply or
 * no 220 to it is STARTTLS_REFUSED, an aborted signal is its reason.
 */
export async function smtpStartTls(socket: Socket, helo: string, signal: AbortSignal): Promise<StartTlsDialogue> {
  const reader = new ReplyReader(socket);
  socket.resume();
  try {
    const greeting = await reader.next(signal);
    if (greeting.code !== 220) throw new TlsError(ReplyCode.ConnectFailed, `SMTP greeting ${replySummary(greeting)}`);
    socket.write(`EHLO ${helo}\r\n`);
    const ehlo = await reader.next(signal);
    if (ehlo.code !== 250) throw new TlsError(ReplyCode.StartTlsRefused, `EHLO refused: ${replySummary(ehlo)}`);
    if (!offersStartTls(ehlo)) throw new TlsError(ReplyCode.StartTlsRefused, 'the SMTP server does not offer STARTTLS');
    socket.write('STARTTLS\r\n');
    const ready = await reader.next(signal);
    if (ready.code !== 220) throw new TlsError(ReplyCode.StartTlsRefused, `STARTTLS refused: ${replySummary(ready)}`);
    const unread = reader.detach();
    if (unread.length > 0) throw new TlsError(ReplyCode.HandshakeFailed, `the SMTP server sent ${unread.length} bytes after its 220 to STARTTLS (RFC 3207 §4)`);
    return { greeting, ehlo };
  } catch (error) {
    reader.detach();
    socket.destroy();
    throw error;
  }
}

/** An EHLO argument for our side of `socket`: an address literal (RFC 5321 §4.1.3), always valid. */
export function addressLiteral(socket: Socket): string {
  const address = socket.localAddress ?? '127.0.0.1';
  return address.includes(':') ? `[IPv6:${address}]` : `[${address}]`;
}
