/**
 * A real SMTP server for the STARTTLS tests: aiosmtpd (Debian's python3-aiosmtpd) on 127.0.0.1,
 * with STARTTLS when given a certificate (and then requiring it before MAIL, aiosmtpd's default),
 * without it otherwise. A small handler stores each message it accepts as JSON in the server's
 * directory, with whether the session was under TLS. Stopped by its PID.
 */
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { AppError } from '../../src/core/errors.js';
import { freePort } from './free-port.js';
import { once, removeLabDir, stopChild } from './lab-process.js';

export class SmtpServerError extends AppError {
  readonly code = 'ERR_SMTP_SERVER';
}

/** Debian's interpreter: the one python3-aiosmtpd is installed for (a pyenv python3 on PATH may lack it). */
const PYTHON = '/usr/bin/python3';
const START_TIMEOUT_MS = 10_000;

const HANDLER = `
import json, os

class Store:
    """Stores each accepted message as msg-N.json in the given directory."""

    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    @classmethod
    def from_cli(cls, parser, directory):
        return cls(directory)

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        path = os.path.join(self.directory, 'msg-%d.json' % self.count)
        with open(path + '.tmp', 'w') as out:
            json.dump({
                'mailFrom': envelope.mail_from,
                'rcptTos': envelope.rcpt_tos,
                'content': envelope.content.decode('utf-8', 'replace'),
                'tls': session.ssl is not None,
            }, out)
        os.rename(path + '.tmp', path)
        return '250 OK stored'
`;

export interface SmtpMessage {
  readonly mailFrom: string;
  readonly rcptTos: readonly string[];
  readonly content: string;
  /** The message came over a session upgraded by STARTTLS. */
  readonly tls: boolean;
}

export interface SmtpServer {
  readonly port: number;
  readonly pid: number;
  messages(): Promise<SmtpMessage[]>;
  stop(): Promise<void>;
}

export interface SmtpServerOptions {
  /** Certificate (with its chain) and key for STARTTLS; without them the server offers no STARTTLS. */
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
}

export async function startSmtpServer(options: SmtpServerOptions = {}): Promise<SmtpServer> {
  const dir = await mkdtemp(join(tmpdir(), 'oedns-smtp-'));
  await writeFile(join(dir, 'oedns_smtp_store.py'), HANDLER);
  const port = await freePort();
  const tls = options.certFile && options.keyFile ? ['--tlscert', options.certFile, '--tlskey', options.keyFile] : [];
  // -n: no setuid to nobody; -d: log "Server is listening" (the readiness signal) to stderr.
  const child = execa(PYTHON, ['-m', 'aiosmtpd', '-n', '-d', '-l', `127.0.0.1:${port}`, '-c', 'oedns_smtp_store.Store', ...tls, dir], {
    env: { PYTHONPATH: dir }, reject: false, buffer: false, stdin: 'ignore', forceKillAfterDelay: 3000,
  });
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { err += chunk; });
  child.stdout?.resume();
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!/Server is listening/.test(err)) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stopChild(child);
      await removeLabDir(dir, 'smtp-server');
      throw new SmtpServerError(`aiosmtpd on 127.0.0.1:${port} did not start:\n${err.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (child.pid === undefined) throw new SmtpServerError('aiosmtpd has no PID');
  return {
    port, pid: child.pid,
    messages: async () => {
      const names = (await readdir(dir)).filter((name) => /^msg-\d+\.json$/.test(name)).sort();
      return Promise.all(names.map(async (name) => JSON.parse(await readFile(join(dir, name), 'utf8')) as SmtpMessage));
    },
    stop: once(async () => {
      await stopChild(child);
      await removeLabDir(dir, 'smtp-server');
    }),
  };
}
