/**
 * Runs oedns for scenario tests: in-process (`startOedns`, with its stats and logs at hand) or as
 * the real `oedns` process from dist/ (`spawnOedns`, for flags, signals and exit codes).
 */
import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { Settings } from '../../src/config/index.js';
import { Oedns } from '../../src/main.js';
import { decodeMessage, encodeMessage, frame, FrameReader, Opcode, RRClass, type Message, type Question } from '../../src/wire/index.js';
import { freePort } from './free-port.js';

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** A pino destination that keeps every line, parsed. */
export class LogCapture {
  readonly lines: LogLine[] = [];
  write(text: string): void {
    for (const line of text.split('\n')) if (line.trim()) this.lines.push(JSON.parse(line) as LogLine);
  }
  find(msg: string): LogLine | undefined {
    return this.lines.find((l) => l.msg === msg);
  }
}

export interface Harness {
  readonly oedns: Oedns;
  readonly address: string;
  readonly port: number;
  readonly logs: LogCapture;
  stop(): Promise<void>;
}

export async function startOedns(flags: Settings, extra: { configFile?: string; resolvConfPath?: string } = {}): Promise<Harness> {
  const port = await freePort();
  const logs = new LogCapture();
  // IPsec state and the control socket go to a directory of this run's own, never /var/lib or /run.
  const own = await mkdtemp(join(tmpdir(), 'oedns-harness-'));
  let oedns: Oedns;
  try {
    oedns = await Oedns.start({
    // The lab's zones live under test.; tests of forwarding alone leave them unvalidated (a
    // negative trust anchor), tests of validation give a lab trust anchor and no NTA. The keys
    // step (IPSECKEY/CERT/TLSA lookups for A/AAAA) is off unless a test asks for it, so that
    // tests of forwarding and validation count only their own upstream queries.
    flags: {
      'log-level': 'debug', listen: [`127.0.0.1:${port}`], insecure: ['test'], keys: false,
      'state-dir': join(own, 'state'), 'control-socket': join(own, 'control.sock'), ...flags,
    },
    configFile: extra.configFile,
    resolvConfPath: extra.resolvConfPath,
    logDestination: logs,
    });
  } catch (error) {
    await rm(own, { recursive: true, force: true });
    throw error;
  }
  return {
    oedns, address: '127.0.0.1', port, logs,
    stop: async () => {
      await oedns.stop();
      await rm(own, { recursive: true, force: true });
    },
  };
}

export const DIST_CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');

/** Starts `node dist/cli.js ...args`; resolves once it logs "oedns serving" or exits. */
export async function spawnOedns(args: readonly string[]): Promise<{ process: ResultPromise; output: () => string }> {
  const child = execa('node', [DIST_CLI, ...args], { reject: false, all: true, buffer: true });
  let text = '';
  child.all?.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (text.includes('"oedns serving"') || child.exitCode !== null) {
        clearInterval(timer);
        resolve();
      }
    }, 20);
    void child.finally(() => {
      clearInterval(timer);
      resolve();
    });
  });
  return { process: child, output: () => text };
}

export function question(name: string, type: number): Question {
  return { name, type, class: RRClass.IN };
}

export function queryMessage(id: number, q: Question, options: { edns?: boolean; dnssecOk?: boolean; cd?: boolean } = {}): Message {
  return {
    id, qr: false, opcode: Opcode.Query, aa: false, tc: false, rd: true, ra: false, ad: false, cd: options.cd ?? false, rcode: 0,
    questions: [q], answers: [], authorities: [], additionals: [],
    edns: options.edns ? { udpPayloadSize: 1232, version: 0, dnssecOk: options.dnssecOk ?? false, options: [] } : undefined,
  };
}

/** Sends raw bytes over UDP and waits for one reply, or undefined after `waitMs`. */
export function udpExchange(port: number, bytes: Uint8Array, waitMs = 2000, address = '127.0.0.1'): Promise<Uint8Array | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, waitMs);
    socket.on('message', (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve(new Uint8Array(reply));
    });
    socket.send(bytes, port, address);
  });
}

export async function udpQuery(port: number, message: Message): Promise<Message> {
  const reply = await udpExchange(port, encodeMessage(message));
  if (!reply) throw new Error(`no UDP reply for ${message.questions[0]?.name}`);
  return decodeMessage(reply);
}

/** Writes frames on one TCP connection and collects `expect` replies (or what came before close). */
export function tcpExchange(port: number, payload: Uint8Array, expect: number, waitMs = 3000): Promise<{ replies: Uint8Array[]; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const frames = new FrameReader();
    const replies: Uint8Array[] = [];
    let closed = false;
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ replies, closed });
    };
    const timer = setTimeout(done, waitMs);
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (chunk) => {
      replies.push(...frames.push(chunk));
      if (replies.length >= expect) done();
    });
    socket.on('close', () => {
      closed = true;
      done();
    });
    socket.on('error', () => undefined);
  });
}

export { frame };

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
