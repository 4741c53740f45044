/**
 * The TLS lab: the signed lab hierarchy (signed-lab.ts) with a zone of TLS hosts whose TLSA
 * records cover every case the engine decides, real `openssl s_server` peers behind them, and the
 * TLS runtime (src/tls-runtime.ts) over it all, as `oedns tunnel` builds it. Certificates and keys
 * are made at test time (pki.ts); nothing is checked in. Ports are picked first, since the TLSA
 * owner names carry them.
 *
 * PKI: lab root CA → lab intermediate CA → leaves. The CA file (--ca-file) holds the root; servers
 * send leaf + intermediate.
 *   good      s_server; one leaf naming every tls.test host below
 *   expired   s_server; leaf expired yesterday (expired.tls.test)
 *   wrong     s_server; leaf for other.example only
 *   hang      a TCP server that accepts and never says a word
 *   closed    a port nobody listens on
 *   tunnel    a free port for the test's own TLS server (the good leaf, files.good)
 *
 * tls.test. (ECDSAP256SHA256; every host A 127.0.0.1, TTL 300):
 *   uUsSmM            _GOOD._tcp TLSA U S M: U 1/3 the leaf, U 0/2 the intermediate (all 24 combinations)
 *   alias             CNAME u3s1m1 (RFC 7671 §7: TLSA at the expanded name)
 *   pin               _GOOD TLSA 2 0 1 of the intermediate (for the pinning test alone)
 *   tunnel            _TUNNEL TLSA 3 1 1 of the good leaf (a tunnel server the test starts there)
 *   mismatch          _GOOD TLSA 3 1 1 of a stranger's key
 *   bogus             _GOOD TLSA 3 1 1 of the leaf, its RRSIG altered after signing
 *   unusable          _GOOD TLSA 4 1 1 (an unassigned usage: unusable, so as if absent)
 *   notlsa            no TLSA
 *   expired           _EXPIRED TLSA 3 1 1 of the expired leaf
 *   wrong-ee          _WRONG TLSA 1 1 1 of the wrong-name leaf (PKIX-EE: name checked)
 *   wrong-ta          _WRONG TLSA 2 0 1 of the intermediate (DANE-TA: name checked)
 *   refused           _CLOSED TLSA 3 1 1 of the good leaf
 *   hang              _HANG TLSA 3 1 1 of the good leaf
 *   lame              _GOOD TLSA under _tcp.lame, delegated to 127.0.0.9 where no server is (SERVFAIL)
 *   client            TLSA 3 1 1 of the client leaf at the name itself (draft-ietf-dance-client-auth §2.3)
 * insecure.test. (unsigned; test. proves it has no DS):
 *   host              A; _GOOD._tcp TLSA 3 1 1 of the good leaf
 *
 * Set OEDNS_KEEP_LAB=1 to keep the directories.
 */
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AppError } from '../../src/core/errors.js';
import { openTlsRuntime, type TlsRuntime } from '../../src/tls-runtime.js';
import { tamperRrsig } from './bind-lab.js';
import { freePort } from './free-port.js';
import { removeLabDir } from './lab-process.js';
import { startSServer, type SServer } from './openssl-peer.js';
import { issue, tlsaText, writeCaFile, writePki, type Issued, type PkiFiles } from './pki.js';
import { startSignedLab, type SignedLab } from './signed-lab.js';

export class TlsLabError extends AppError {
  readonly code = 'ERR_TLS_LAB';
}

export const TLS_ZONE = 'tls.test.';
export const TLS_INSECURE_ZONE = 'insecure.test.';
const TTL = 300;
const SIGN = { algorithm: 'ECDSAP256SHA256' } as const;
const DAY_MS = 86_400_000;
/** Where the lame delegation points: loopback, where nothing serves DNS. */
const LAME_ADDRESS = '127.0.0.9';

export const USAGES = [0, 1, 2, 3] as const;
export const SELECTORS = [0, 1] as const;
export const MATCHING_TYPES = [0, 1, 2] as const;

/** `u3s1m1.tls.test.` */
export const comboHost = (usage: number, selector: number, matching: number): string => `u${usage}s${selector}m${matching}.${TLS_ZONE}`;
export const host = (label: string): string => `${label}.${TLS_ZONE}`;

export interface TlsLabPki {
  readonly root: Issued;
  readonly intermediate: Issued;
  readonly good: Issued;
  readonly expired: Issued;
  readonly wrong: Issued;
  readonly client: Issued;
  readonly stranger: Issued;
}

/** The TCP peer that accepts and never answers: what it saw. */
export interface HangPeer {
  readonly port: number;
  accepted(): number;
  /** Resolves once every accepted socket was closed by the other side. */
  allClosed(): Promise<void>;
}

export interface TlsLab {
  readonly lab: SignedLab;
  readonly dir: string;
  readonly pki: TlsLabPki;
  readonly caFile: string;
  readonly files: { readonly good: PkiFiles; readonly expired: PkiFiles; readonly wrong: PkiFiles; readonly client: PkiFiles };
  readonly servers: { readonly good: SServer; readonly expired: SServer; readonly wrong: SServer };
  readonly ports: { readonly good: number; readonly expired: number; readonly wrong: number; readonly closed: number; readonly hang: number; readonly tunnel: number };
  readonly hang: HangPeer;
  /** The runtime's log lines (JSON) so far. */
  readonly logs: string[];
  /** The TLS runtime over the lab: --upstream lab, --trust-anchor lab, --insecure none, --ca-file lab root. */
  runtime(options?: { readonly handshakeTimeoutMs?: number; readonly certFile?: string; readonly keyFile?: string }): Promise<TlsRuntime>;
  /** The runtime's flags as CLI arguments (for `oedns tunnel …` child processes). */
  readonly cliArgs: readonly string[];
  stop(): Promise<void>;
}

function makePki(): TlsLabPki {
  const root = issue({ subject: 'oedns TLS lab root', ca: true });
  const intermediate = issue({ subject: 'oedns TLS lab intermediate', ca: true, issuer: root });
  const names = [
    ...USAGES.flatMap((u) => SELECTORS.flatMap((s) => MATCHING_TYPES.map((m) => comboHost(u, s, m)))),
    ...['alias', 'pin', 'tunnel', 'mismatch', 'bogus', 'unusable', 'notlsa', 'refused', 'hang', 'lame'].map(host), `host.${TLS_INSECURE_ZONE}`,
  ].map((name) => name.slice(0, -1));
  return {
    root, intermediate,
    good: issue({ subject: 'good.tls.test', dns: names, issuer: intermediate }),
    expired: issue({ subject: 'expired.tls.test', dns: ['expired.tls.test'], issuer: intermediate, notBefore: new Date(Date.now() - 30 * DAY_MS), notAfter: new Date(Date.now() - DAY_MS) }),
    wrong: issue({ subject: 'other.example', dns: ['other.example'], issuer: intermediate }),
    client: issue({ subject: 'client.tls.test', dns: ['client.tls.test'], issuer: intermediate }),
    stranger: issue({ subject: 'stranger' }),
  };
}

function tlsaLine(owner: string, rdata: string): string {
  return `${owner} ${TTL} IN TLSA ${rdata}`;
}

function zoneRecords(pki: TlsLabPki, ports: TlsLab['ports']): string[] {
  const a = (name: string): string => `${name} ${TTL} IN A 127.0.0.1`;
  const at = (port: number, name: string): string => `_${port}._tcp.${name}`;
  const combos = USAGES.flatMap((u) => SELECTORS.flatMap((s) => MATCHING_TYPES.flatMap((m) => {
    const name = comboHost(u, s, m);
    const cert = u === 1 || u === 3 ? pki.good : pki.intermediate;
    return [a(name), tlsaLine(at(ports.good, name), tlsaText(cert, u, s, m))];
  })));
  const lame = host('lame');
  return [
    ...combos,
    `${host('alias')} ${TTL} IN CNAME ${comboHost(3, 1, 1)}`,
    a(host('pin')), tlsaLine(at(ports.good, host('pin')), tlsaText(pki.intermediate, 2, 0, 1)),
    a(host('tunnel')), tlsaLine(at(ports.tunnel, host('tunnel')), tlsaText(pki.good, 3, 1, 1)),
    a(host('mismatch')), tlsaLine(at(ports.good, host('mismatch')), tlsaText(pki.stranger, 3, 1, 1)),
    a(host('bogus')), tlsaLine(at(ports.good, host('bogus')), tlsaText(pki.good, 3, 1, 1)),
    a(host('unusable')), tlsaLine(at(ports.good, host('unusable')), `4 ${tlsaText(pki.good, 3, 1, 1).slice(2)}`),
    a(host('notlsa')),
    a(host('expired')), tlsaLine(at(ports.expired, host('expired')), tlsaText(pki.expired, 3, 1, 1)),
    a(host('wrong-ee')), tlsaLine(at(ports.wrong, host('wrong-ee')), tlsaText(pki.wrong, 1, 1, 1)),
    a(host('wrong-ta')), tlsaLine(at(ports.wrong, host('wrong-ta')), tlsaText(pki.intermediate, 2, 0, 1)),
    a(host('refused')), tlsaLine(at(ports.closed, host('refused')), tlsaText(pki.good, 3, 1, 1)),
    a(host('hang')), tlsaLine(at(ports.hang, host('hang')), tlsaText(pki.good, 3, 1, 1)),
    a(lame), `_tcp.${lame} ${TTL} IN NS ns._tcp.${lame}`, `ns._tcp.${lame} ${TTL} IN A ${LAME_ADDRESS}`,
    a(host('client')), tlsaLine(host('client'), tlsaText(pki.client, 3, 1, 1)),
  ];
}

function startHangPeer(): Promise<{ server: Server; peer: HangPeer }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  let waiters: Array<() => void> = [];
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    // Read and drop what the client sends (its ClientHello): a socket that is never read never sees the client's FIN.
    socket.resume();
    socket.on('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0) {
        for (const wake of waiters) wake();
        waiters = [];
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new TlsLabError('hang peer has no port'));
      resolve({
        server,
        peer: {
          port: address.port,
          accepted: () => accepted,
          allClosed: () => (sockets.size === 0 ? Promise.resolve() : new Promise<void>((wake) => waiters.push(wake))),
        },
      });
    });
  });
}

export async function startTlsLab(): Promise<TlsLab> {
  const dir = await mkdtemp(join(tmpdir(), 'oedns-tls-lab-'));
  const cleanups: Array<() => Promise<void>> = [() => removeLabDir(dir, 'tls-lab')];
  const stop = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const pki = makePki();
    const caFile = await writeCaFile(join(dir, 'ca.pem'), [pki.root]);
    const files = {
      good: await writePki(dir, 'good', pki.good), expired: await writePki(dir, 'expired', pki.expired),
      wrong: await writePki(dir, 'wrong', pki.wrong), client: await writePki(dir, 'client', pki.client),
    };
    const hang = await startHangPeer();
    cleanups.push(() => new Promise((resolve) => hang.server.close(() => resolve())));
    const ports = { good: await freePort(), expired: await freePort(), wrong: await freePort(), closed: await freePort(), hang: hang.peer.port, tunnel: await freePort() };
    const start = async (which: 'good' | 'expired' | 'wrong'): Promise<SServer> => {
      const server = await startSServer({ cert: files[which].cert, key: files[which].key, chain: files[which].chain, port: ports[which] });
      cleanups.push(() => server.stop());
      return server;
    };
    const servers = { good: await start('good'), expired: await start('expired'), wrong: await start('wrong') };
    const lab = await startSignedLab({
      recursionAcrossOwnZones: true, sign: SIGN,
      zones: [
        { origin: TLS_ZONE, sign: SIGN, records: zoneRecords(pki, ports) },
        { origin: TLS_INSECURE_ZONE, records: [`host 300 IN A 127.0.0.1`, tlsaLine(`_${ports.good}._tcp.host`, tlsaText(pki.good, 3, 1, 1))] },
      ],
      editZones: (prepared) => tamperRrsig(prepared, TLS_ZONE, `_${ports.good}._tcp.${host('bogus')}`, 'TLSA'),
    });
    cleanups.push(() => lab.stop());
    const logs: string[] = [];
    const cliArgs = ['--upstream', `${lab.address}:${lab.port}`, '--trust-anchor', lab.anchorFile, '--ca-file', caFile, '--resolv-conf', '/dev/null'];
    const runtime: TlsLab['runtime'] = (options = {}) => openTlsRuntime({
      flags: { upstream: [`${lab.address}:${lab.port}`], 'trust-anchor': [lab.anchorFile], insecure: [], keys: false, 'log-level': 'debug', 'upstream-timeout-ms': 1000, 'query-timeout-ms': 3000 },
      resolvConfPath: '/dev/null', caFile, certFile: options.certFile, keyFile: options.keyFile, handshakeTimeoutMs: options.handshakeTimeoutMs,
      logDestination: new Writable({ write: (chunk: Buffer, _encoding, done) => { logs.push(String(chunk)); done(); } }),
    });
    return { lab, dir, pki, caFile, files, servers, ports, hang: hang.peer, logs, runtime, cliArgs, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

