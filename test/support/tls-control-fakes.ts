/**
 * A stand-in TlsEngine for the daemon's unit tests: real TLS (node:tls, a self-signed key, no
 * checks), with outcomes chosen by name: `mismatch.test.` fails TLSA_MISMATCH, `hang.test.`
 * waits until its signal aborts, anything else connects to `echoPort`. DNS is a fake NameLookup:
 * every name is 127.0.0.1, secure, except `insecure.test.` (insecure) and `gone.test.` (NXDOMAIN).
 */
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, TLSSocket } from 'node:tls';
import { issue } from './pki.js';
import { RRType } from '../../src/wire/index.js';
import type { NameAnswer, NameLookup } from '../../src/tls/names.js';
import { ReplyCode } from '../../src/tls/reply-codes.js';
import { TlsError, type TlsEngine, type TlsSession } from '../../src/tls/session.js';

export const cert = issue({ subject: 'localhost', dns: ['localhost'] });
const context = createSecureContext({ cert: cert.certPem, key: cert.keyPem });

export const fakeLookup: NameLookup = async (name, type) => {
  const base = { name, type, owner: name, expiresAtMs: Date.now() + 60_000 };
  if (name === 'gone.test.') return { ...base, status: 'secure', outcome: 'nxdomain', rdata: [] } satisfies NameAnswer;
  if (type !== RRType.A) return { ...base, status: 'secure', outcome: 'nodata', rdata: [] };
  return { ...base, status: name === 'insecure.test.' ? 'insecure' : 'secure', outcome: 'records', rdata: [new Uint8Array([127, 0, 0, 1])] };
};

function session(tls: TLSSocket, identity: string): TlsSession {
  return {
    socket: tls, identity, method: 'dane', dnssec: 'secure', protocol: tls.getProtocol() ?? '', cipher: tls.getCipher().name,
    dane: { usage: 3, selector: 1, matchingType: 1, tlsaOwner: `_443._tcp.${identity}` }, peerAddress: tls.remoteAddress ?? '', peerPort: tls.remotePort ?? 0,
  };
}

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function secured(tls: TLSSocket, event: 'secureConnect' | 'secure', signal: AbortSignal): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const abort = (): void => {
      tls.destroy();
      reject(signal.reason);
    };
    signal.addEventListener('abort', abort, { once: true });
    tls.once(event, () => {
      signal.removeEventListener('abort', abort);
      resolve(tls);
    });
    tls.once('error', (error) => reject(new TlsError(ReplyCode.HandshakeFailed, error.message)));
  });
}

export function fakeEngine(echoPort: () => number): TlsEngine & { readonly upgrades: string[] } {
  const upgrades: string[] = [];
  return {
    upgrades,
    async connect(target, _flags, signal) {
      if (target.name === 'mismatch.test.') throw new TlsError(ReplyCode.TlsaMismatch, `no TLSA record of _${target.port}._tcp.${target.name} matches`);
      if (target.name === 'hang.test.') return untilAborted(signal);
      const tls = tlsConnect({ host: '127.0.0.1', port: echoPort(), rejectUnauthorized: false, servername: 'localhost' });
      return session(await secured(tls, 'secureConnect', signal), target.name);
    },
    async upgradeClient(socket: Socket, target, _flags, signal) {
      upgrades.push(`client ${target.name}`);
      const tls = tlsConnect({ socket, rejectUnauthorized: false, servername: 'localhost' });
      return session(await secured(tls, 'secureConnect', signal), target.name);
    },
    async upgradeServer(socket: Socket, options, _flags, signal) {
      upgrades.push(`server require-cert=${options.requireClientCertificate}`);
      const tls = new TLSSocket(socket, { isServer: true, secureContext: context });
      return { ...session(await secured(tls, 'secure', signal), 'anonymous'), method: 'none', dane: undefined };
    },
  };
}

/** A TLS server answering each chunk upper-cased. */
export function startEchoServer(): Promise<Server> {
  return listen(createServer((raw) => {
    const tls = new TLSSocket(raw, { isServer: true, secureContext: context });
    tls.on('error', () => undefined);
    tls.on('data', (chunk: Buffer) => tls.write(chunk.toString().toUpperCase()));
    tls.on('end', () => tls.end());
  }));
}

/** A STARTTLS-style server: "220 ready", then on "STARTTLS" "220 go" and TLS, echoing upper-cased. */
export function startStartTlsServer(): Promise<Server> {
  return listen(createServer((raw) => {
    raw.on('error', () => undefined);
    raw.write('220 ready\n');
    const onData = (chunk: Buffer): void => {
      if (!chunk.toString().startsWith('STARTTLS')) {
        raw.write(`500 plaintext ${chunk.toString()}`);
        return;
      }
      raw.off('data', onData);
      raw.write('220 go\n', () => {
        const tls = new TLSSocket(raw, { isServer: true, secureContext: context });
        tls.on('error', () => undefined);
        tls.on('data', (data: Buffer) => tls.write(data.toString().toUpperCase()));
      });
    };
    raw.on('data', onData);
  }));
}

function listen(server: Server): Promise<Server> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export function portOf(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** A TLS client to a daemon listener, sending `text` once secure. */
export function tlsClientTo(port: number, text: string): Promise<{ tls: TLSSocket; received: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    tls.once('error', reject);
    tls.once('secureConnect', () => {
      tls.write(text);
      resolve({ tls, received: new Promise((done) => tls.once('data', (chunk: Buffer) => done(chunk.toString()))) });
    });
  });
}

export function rawConnect(port: number): Socket {
  return netConnect({ host: '127.0.0.1', port });
}
