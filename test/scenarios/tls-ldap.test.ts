/**
 * User certificates checked on the user's domain's key server (seed 000 §4.2, §5.3), all real:
 * the user-key lab (test/support/ldap-lab.ts: BIND serving a signed lab with `_pgpkey-ldap._tcp`
 * SRV, the key server's A and TLSA records; slapd holding the users' certificates); the TLS
 * engine from openTlsRuntime (its own validating resolver) running upgradeServer on a listener on
 * 127.0.0.1; `openssl s_client` presenting the users' certificates. The engine reaches slapd over
 * TLS that it checks by DANE.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_FLAGS, TlsError, type TlsSession } from '../../src/tls/index.js';
import { openTlsRuntime, type TlsRuntime } from '../../src/tls-runtime.js';
import { startLdapLab, type LdapLab, type LdapUserName } from '../support/ldap-lab.js';
import { sClient } from '../support/openssl-peer.js';
import { issue, writePki } from '../support/pki.js';

const gateway = issue({ subject: 'gate.ldap.test', dns: ['gate.ldap.test'] });

type Outcome = { readonly ok: true; readonly session: TlsSession } | { readonly ok: false; readonly reply: string; readonly reason: string };

let ldap: LdapLab;
let runtime: TlsRuntime;
let listener: Server;
let listenPort: number;
const logLines: string[] = [];
const accepted = new Set<Socket>();
const outcomes: Outcome[] = [];
const waiters: ((outcome: Outcome) => void)[] = [];

function deliver(outcome: Outcome): void {
  const waiter = waiters.shift();
  if (waiter) waiter(outcome);
  else outcomes.push(outcome);
}

function nextOutcome(): Promise<Outcome> {
  const ready = outcomes.shift();
  return ready ? Promise.resolve(ready) : new Promise((resolve) => waiters.push(resolve));
}

/** One client: s_client with the user's certificate; the server side's outcome, and what the client read. */
async function connectAs(name: LdapUserName): Promise<{ outcome: Outcome; stdout: string }> {
  const pki = ldap.files.get(name)!;
  const outcome = nextOutcome();
  const client = await sClient({ port: listenPort, servername: 'gate.ldap.test', cert: pki.cert, key: pki.key, input: 'hello\n', timeoutMs: 30_000 });
  return { outcome: await outcome, stdout: client.stdout };
}

beforeAll(async () => {
  ldap = await startLdapLab();
  const gatewayFiles = await writePki(ldap.dir, 'gateway', gateway);
  runtime = await openTlsRuntime({
    flags: { ...ldap.runtimeFlags, 'log-level': 'debug' },
    certFile: gatewayFiles.fullchain, keyFile: gatewayFiles.key,
    logDestination: { write: (line: string) => void logLines.push(line) },
  });
  listener = createServer((socket) => {
    accepted.add(socket);
    socket.once('close', () => accepted.delete(socket));
    runtime.engine.upgradeServer(socket, { requireClientCertificate: true }, NO_FLAGS, AbortSignal.timeout(20_000)).then(
      (session) => {
        // Read (and drop) what the client sends, so that its close reaches us and frees the socket.
        session.socket.resume();
        session.socket.end(`OK ${session.identity} ${session.method}\n`);
        deliver({ ok: true, session });
      },
      (error: unknown) => deliver(error instanceof TlsError
        ? { ok: false, reply: error.reply, reason: error.message }
        : { ok: false, reply: 'THROWN', reason: String(error) }),
    );
  });
  listenPort = await new Promise<number>((resolve) => listener.listen(0, '127.0.0.1', () => resolve((listener.address() as { port: number }).port)));
}, 120_000);

afterAll(async () => {
  for (const socket of accepted) socket.destroy();
  await new Promise((resolve) => (listener ? listener.close(resolve) : resolve(undefined)));
  await ldap?.stop();
});

describe('user certificates checked on the domain key server (seed 000 §4.2)', () => {
  it('accepts alice with the key her domain publishes, as alice@ldap.test by ldap', async () => {
    const { outcome, stdout } = await connectAs('alice');
    expect(outcome.ok ? { identity: outcome.session.identity, method: outcome.session.method, dnssec: outcome.session.dnssec } : outcome)
      .toEqual({ identity: 'alice@ldap.test', method: 'ldap', dnssec: 'secure' });
    expect(stdout).toContain('OK alice@ldap.test ldap');
    expect(await ldap.slapd.searchCount('(mail=alice@ldap.test)')).toBe(1);
  });

  it('serves alice\'s second connection from the cache: no second LDAP search', async () => {
    const { outcome } = await connectAs('alice');
    expect(outcome).toMatchObject({ ok: true, session: { identity: 'alice@ldap.test', method: 'ldap' } });
    expect(await ldap.slapd.searchCount('(mail=alice@ldap.test)')).toBe(1);
    expect(logLines.some((line) => line.includes('"msg":"user key result from cache"') && line.includes('"user":"alice@ldap.test"'))).toBe(true);
  });

  it('refuses a certificate naming alice with another key: LDAP_KEY_MISMATCH', async () => {
    const { outcome, stdout } = await connectAs('aliceOtherKey');
    expect(outcome).toMatchObject({ ok: false, reply: 'LDAP_KEY_MISMATCH' });
    expect(stdout).not.toContain('OK');
    expect(await ldap.slapd.searchCount('(mail=alice@ldap.test)')).toBe(2);
  });

  it('refuses bob, who has no entry: LDAP_NO_USER', async () => {
    expect((await connectAs('bob')).outcome).toMatchObject({ ok: false, reply: 'LDAP_NO_USER' });
  });

  it('refuses a user whose domain publishes no key server: LDAP_NO_SERVER', async () => {
    expect((await connectAs('dave')).outcome).toMatchObject({ ok: false, reply: 'LDAP_NO_SERVER', reason: expect.stringContaining('nosrv.test') });
  });

  it('refuses a user whose domain\'s SRV record is not signed: DNSSEC_INSECURE', async () => {
    expect((await connectAs('uma')).outcome).toMatchObject({ ok: false, reply: 'DNSSEC_INSECURE' });
  });

  it('does not trust a key server whose TLSA does not match it: LDAP_FAILED naming TLSA_MISMATCH', async () => {
    const { outcome } = await connectAs('eve');
    expect(outcome).toMatchObject({ ok: false, reply: 'LDAP_FAILED', reason: expect.stringContaining('TLSA_MISMATCH') });
    expect(await ldap.slapd.searchCount('(mail=eve@badtlsa.test)')).toBe(0);
  });

  it('fails LDAP_FAILED when the key server is down', async () => {
    await ldap.slapd.stop();
    const { outcome } = await connectAs('carol');
    expect(outcome).toMatchObject({ ok: false, reply: 'LDAP_FAILED', reason: expect.stringContaining('CONNECT_FAILED') });
  });
});
