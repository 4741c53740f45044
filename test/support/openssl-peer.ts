/**
 * Real OpenSSL peers for the TLS tests: `openssl s_server` as a TLS server on 127.0.0.1 with a
 * chosen certificate, chain and key, and `openssl s_client` as a client, both as oracles (its DANE
 * verdict for a TLSA RRset, RFC 6698 as OpenSSL 3.0 implements it) and as a plain TLS client.
 *
 * s_server runs in -rev mode: it answers each line a client sends with the line reversed
 * ("hello" → "olleh"), so a test can see that plaintext got through the TLS layer, and a line
 * starting with "CLOSE" makes it end that connection. It serves connections ONE AFTER ANOTHER
 * (a single-threaded accept loop): a second client waits until the first one has closed, so
 * tests that hold a connection open must close it before the next one can get an answer.
 *
 * Files (certificates, keys, CA bundles) come from test/support/pki.ts `writePki`/`writeCaFile`.
 */
import { execa, type ResultPromise } from 'execa';
import { AppError } from '../../src/core/errors.js';
import { freePort } from './free-port.js';
import { once, stopChild } from './lab-process.js';

export class OpensslPeerError extends AppError {
  readonly code = 'ERR_OPENSSL_PEER';
}

const OPENSSL = 'openssl';
const ADDRESS = '127.0.0.1';
const DEFAULT_START_TIMEOUT_MS = 10_000;
const DEFAULT_CLIENT_TIMEOUT_MS = 10_000;
/** Ports tried when another process grabs ours between freePort() and s_server's bind. */
const MAX_PORT_ATTEMPTS = 3;
const STOP_GRACE_MS = 3_000;

export interface SServerOptions {
  /** PEM file of the server certificate (the leaf alone). */
  readonly cert: string;
  readonly key: string;
  /** PEM file of the certificates sent above the leaf (-cert_chain), nearest first. */
  readonly chain?: string | undefined;
  /** Trust anchors for client certificates (-CAfile); also used to build the chain it sends. */
  readonly caFile?: string | undefined;
  /** Ask for a client certificate (-verify 1); a client without one is still served. */
  readonly requestClientCert?: boolean | undefined;
  /** Demand a client certificate (-Verify 1): a client without one fails the handshake. */
  readonly requireClientCert?: boolean | undefined;
  /**
   * Fail the handshake when the client certificate does not verify against caFile
   * (-verify_return_error). Without it s_server logs the error and serves the client anyway.
   */
  readonly rejectUnverifiedClient?: boolean | undefined;
  /** More s_server arguments (e.g. ['-tls1_2'], ['-no_tls1_3']). */
  readonly extraArgs?: readonly string[] | undefined;
  /** A fixed port; a free one otherwise. */
  readonly port?: number | undefined;
  readonly startTimeoutMs?: number | undefined;
}

export interface SServer {
  readonly address: string;
  readonly port: number;
  readonly pid: number;
  /** What s_server printed so far: per connection "Protocol version", "Ciphersuite", "Peer certificate: …" or "No peer certificate". */
  output(): string;
  /** Kills s_server by its PID (SIGTERM, SIGKILL after 3 s) and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
}

/** Starts `openssl s_server -rev` on 127.0.0.1 and resolves once it prints ACCEPT (it is listening). */
export async function startSServer(options: SServerOptions): Promise<SServer> {
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort(ADDRESS));
    const child = execa(OPENSSL, sServerArgs(options, port), {
      reject: false, stdin: 'ignore', buffer: false, forceKillAfterDelay: STOP_GRACE_MS,
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { out += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { err += chunk; });
    try {
      await waitForAccept(child, () => out, options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    } catch (error) {
      await stopChild(child);
      const retry = options.port === undefined && attempt < MAX_PORT_ATTEMPTS && /in use/i.test(err);
      if (retry) continue;
      throw new OpensslPeerError(`openssl s_server on ${ADDRESS}:${port} did not start: ${String(error)}\n${err.trim()}`);
    }
    if (child.pid === undefined) throw new OpensslPeerError('openssl s_server has no PID');
    return { address: ADDRESS, port, pid: child.pid, output: () => out, stop: once(() => stopChild(child)) };
  }
}

function sServerArgs(options: SServerOptions, port: number): string[] {
  const args = ['s_server', '-accept', `${ADDRESS}:${port}`, '-cert', options.cert, '-key', options.key];
  if (options.chain !== undefined) args.push('-cert_chain', options.chain);
  if (options.caFile !== undefined) args.push('-CAfile', options.caFile);
  if (options.requireClientCert === true) args.push('-Verify', '1');
  else if (options.requestClientCert === true) args.push('-verify', '1');
  if (options.rejectUnverifiedClient === true) args.push('-verify_return_error');
  // -rev: the line-reversing echo described above; without -quiet it prints ACCEPT when listening.
  args.push('-rev', ...(options.extraArgs ?? []));
  return args;
}

async function waitForAccept(child: ResultPromise, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!/^ACCEPT$/m.test(output())) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`s_server exited (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    if (Date.now() > deadline) throw new Error(`no ACCEPT within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface SClientDaneOptions {
  readonly port: number;
  /** SNI sent (-servername). */
  readonly servername: string;
  /**
   * The TLSA base domain (-dane_tlsa_domain). OpenSSL checks the certificate's names against it
   * for PKIX-TA, PKIX-EE and DANE-TA, not for DANE-EE.
   */
  readonly tlsaDomain: string;
  /** TLSA RDATA in presentation form, `3 1 1 AB…`, one per record (-dane_tlsa_rrdata, repeated). */
  readonly tlsaRrdata: readonly string[];
  /** Trust anchors for the PKIX usages (-CAfile). Without it s_client uses the system store. */
  readonly caFile?: string | undefined;
  /**
   * Check names under DANE-EE too. OpenSSL does by default; RFC 7671 §5.1 says a DANE-EE match
   * authenticates the server whatever names its certificate carries, so by default this passes
   * -dane_ee_no_namechecks (DANE_FLAG_NO_DANE_EE_NAMECHECKS, what Postfix sets).
   */
  readonly eeNameChecks?: boolean | undefined;
  readonly timeoutMs?: number | undefined;
}

export interface SClientDaneResult {
  /** The handshake completed with the chain verified by a TLSA record. */
  readonly verified: boolean;
  /**
   * What matched, e.g. "DANE TLSA 3 1 1 ...c3fd5 matched EE certificate at depth 0", or for a
   * "2 1 0" bare key "DANE TLSA 2 1 0 ...0001 signed the certificate at depth 1".
   */
  readonly matched?: string | undefined;
  /** "Verification error: …" or "Verify return code: 65 (…)", when verification failed. */
  readonly error?: string | undefined;
  readonly exitCode: number | undefined;
  /** stdout and stderr together (s_client -brief writes its summary to stderr). */
  readonly output: string;
}

/**
 * OpenSSL's DANE verdict for a TLSA RRset: `openssl s_client -dane_tlsa_domain D
 * -dane_tlsa_rrdata R… [-dane_ee_no_namechecks] -verify_return_error -brief` with empty stdin.
 * With -verify_return_error a failed verification aborts the handshake (exit code 1). OpenSSL
 * 3.0 prints, on success, "Verification: OK", "Verified peername: …" (when a name was checked)
 * and "DANE TLSA … matched …" (or "… signed the certificate …" for a "2 1 0" bare key);
 * on failure "verify error:num=65:no matching DANE TLSA records" or similar. Records OpenSSL
 * cannot use are skipped with "unusable TLSA rrdata"; when none is left it fails with
 * "Failed to import any TLSA records" before connecting.
 */
export async function sClientDane(options: SClientDaneOptions): Promise<SClientDaneResult> {
  const args = ['s_client', '-connect', `${ADDRESS}:${options.port}`, '-servername', options.servername,
    '-dane_tlsa_domain', options.tlsaDomain,
    ...options.tlsaRrdata.flatMap((rrdata) => ['-dane_tlsa_rrdata', rrdata]),
    ...(options.caFile !== undefined ? ['-CAfile', options.caFile] : []),
    ...(options.eeNameChecks === true ? [] : ['-dane_ee_no_namechecks']),
    '-verify_return_error', '-brief'];
  const result = await execa(OPENSSL, args, {
    input: '', reject: false, all: true, timeout: options.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS,
  });
  const output = result.all ?? '';
  const matched = /^(DANE TLSA .* (?:matched|signed) .*)$/m.exec(output)?.[1];
  const error = /^(Verification error: .*|Verify return code: .*)$/m.exec(output)?.[1]
    ?? /^(verify error:.*)$/m.exec(output)?.[1];
  const verified = result.exitCode === 0 && /^Verification: OK$/m.test(output) && matched !== undefined;
  return { verified, matched, error, exitCode: result.exitCode, output };
}

export interface SClientOptions {
  readonly port: number;
  readonly servername?: string | undefined;
  /** Trust anchors (-CAfile); with it s_client reports "Verification: OK" or the error. */
  readonly caFile?: string | undefined;
  /** A client certificate and key to present. */
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  /** Sent after the handshake; s_client then waits for the server to close (-ign_eof). */
  readonly input?: string | undefined;
  readonly extraArgs?: readonly string[] | undefined;
  readonly timeoutMs?: number | undefined;
}

export interface SClientResult {
  readonly exitCode: number | undefined;
  readonly timedOut: boolean;
  /** What the server sent back (the plaintext). */
  readonly stdout: string;
  /** The -brief summary: "Protocol version", "Peer certificate", "Verification: …". */
  readonly stderr: string;
}

/**
 * A plain TLS client: `openssl s_client -brief`, optionally with a client certificate. With
 * `input` it sends it and waits for the server to close (against s_server -rev, end the input
 * with "CLOSE\n"); without, stdin is empty and s_client closes after the handshake.
 */
export async function sClient(options: SClientOptions): Promise<SClientResult> {
  const args = ['s_client', '-connect', `${ADDRESS}:${options.port}`, '-brief',
    ...(options.servername !== undefined ? ['-servername', options.servername] : []),
    ...(options.caFile !== undefined ? ['-CAfile', options.caFile] : []),
    ...(options.cert !== undefined ? ['-cert', options.cert] : []),
    ...(options.key !== undefined ? ['-key', options.key] : []),
    ...(options.input !== undefined ? ['-ign_eof'] : []),
    ...(options.extraArgs ?? [])];
  const result = await execa(OPENSSL, args, {
    input: options.input ?? '', reject: false, timeout: options.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS,
  });
  return { exitCode: result.exitCode, timedOut: result.timedOut, stdout: result.stdout, stderr: result.stderr };
}
