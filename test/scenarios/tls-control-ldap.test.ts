/**
 * User certificates through the daemon's reply line (issue 8: "a client certificate that matches
 * is accepted with `OK user@domain`, one that does not gets ERR"), all real: the user-key lab
 * (test/support/ldap-lab.ts: BIND serving the signed `_pgpkey-ldap._tcp` SRV, A and TLSA of the
 * key server, slapd holding alice's certificate), `oedns tls-daemon` as processes from dist/
 * (build first: `npx tsc -p tsconfig.json`), the client library as the application, and
 * `openssl s_client -cert -key` as the peer on the daemon's require-cert listener. Then the other
 * side: a second daemon presenting alice's certificate on start-tls, checked by the first.
 */
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OednsTlsError, recvTls, startTls } from '../../src/client/index.js';
import { freePort } from '../support/free-port.js';
import { stopChild } from '../support/lab-process.js';
import { LDAP_DOMAIN, startLdapLab, type LdapLab, type LdapUserName } from '../support/ldap-lab.js';
import { sClient, type SClientResult } from '../support/openssl-peer.js';
import { issue, tlsaText, writePki } from '../support/pki.js';
import { oednsCommand } from '../support/tls-commands.js';
import { readLine } from '../support/read-line.js';

const GATE = `gate.${LDAP_DOMAIN}`;
const LISTENER = 'gate';
const gateway = issue({ subject: GATE, dns: [GATE] });

interface DaemonProcess {
  readonly socketPath: string;
}

let ldap: LdapLab;
/** The recv-tls daemon's require-cert listener, published as gate.ldap.test with a TLSA record. */
let gatePort: number;
let gate: DaemonProcess;
const children: ResultPromise[] = [];

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** `oedns tls-daemon` on a socket in the lab's directory, asking the lab; resolves once it listens. */
async function startDaemon(name: string, args: readonly string[]): Promise<DaemonProcess> {
  const [node, ...script] = await oednsCommand(ldap.dir);
  const socketPath = join(ldap.dir, `${name}.sock`);
  const child = execa(node!, [...script, 'tls-daemon', ...ldap.cliArgs, '--socket', socketPath, '--log-level', 'info', ...args], {
    reject: false, buffer: false, stdin: 'ignore', stdout: 'ignore', forceKillAfterDelay: 3000,
  });
  children.push(child);
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  await until(() => log.includes('tls daemon listening') || child.exitCode !== null);
  if (child.exitCode !== null) throw new Error(`oedns tls-daemon ${name} exited ${child.exitCode}:\n${log}`);
  return { socketPath };
}


/** `openssl s_client` with the user's certificate, on the gate listener; sends "hello\n" and waits for the close. */
function peerAs(user: LdapUserName): Promise<SClientResult> {
  const pki = ldap.files.get(user)!;
  return sClient({ port: gatePort, servername: GATE, cert: pki.cert, key: pki.key, input: 'hello\n', timeoutMs: 30_000 });
}

/** recv-tls while `user`'s peer connects: the reply code (OK or the ERR code), its message, what the peer read. */
async function recvAs(user: LdapUserName): Promise<{ code: string; message: string; peerRead: string }> {
  const answer = recvTls({ socketPath: gate.socketPath, listener: LISTENER }).then(
    ({ stream, identity }) => {
      stream.destroy();
      return { code: 'OK', message: identity };
    },
    (error: unknown) => {
      if (error instanceof OednsTlsError) return { code: error.code, message: error.message };
      throw error;
    },
  );
  const peer = await peerAs(user);
  return { ...(await answer), peerRead: peer.stdout };
}

beforeAll(async () => {
  gatePort = await freePort();
  ldap = await startLdapLab({ records: ['gate 300 IN A 127.0.0.1', `_${gatePort}._tcp.gate 300 IN TLSA ${tlsaText(gateway, 3, 1, 1)}`] });
  const gateFiles = await writePki(ldap.dir, 'gateway', gateway);
  gate = await startDaemon('gate', ['--listener', `${LISTENER}=127.0.0.1:${gatePort},require-cert`, '--cert', gateFiles.fullchain, '--key', gateFiles.key]);
}, 120_000);

afterAll(async () => {
  for (const child of children) await stopChild(child);
  await ldap?.stop();
});

describe('recv-tls: user certificates checked on the domain key server, answered on the reply line', () => {
  it('answers OK alice@ldap.test (method=ldap, dnssec=secure) and carries a line each way', async () => {
    const answer = recvTls({ socketPath: gate.socketPath, listener: LISTENER });
    const peer = peerAs('alice');
    const { stream, identity, attributes } = await answer;
    expect({ identity, method: attributes['method'], dnssec: attributes['dnssec'] }).toEqual({ identity: `alice@${LDAP_DOMAIN}`, method: 'ldap', dnssec: 'secure' });
    expect(attributes['peer']).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await readLine(stream)).toBe('hello\n');
    stream.end('pong\n');
    expect((await peer).stdout).toBe('pong');
    expect(await ldap.slapd.searchCount(`(mail=alice@${LDAP_DOMAIN})`)).toBe(1);
  });

  it('answers ERR LDAP_KEY_MISMATCH to a certificate naming alice with another key; the peer reads nothing', async () => {
    expect(await recvAs('aliceOtherKey')).toMatchObject({ code: 'LDAP_KEY_MISMATCH', peerRead: '' });
  });

  it('answers ERR LDAP_NO_USER to a user the key server does not hold', async () => {
    expect(await recvAs('bob')).toMatchObject({ code: 'LDAP_NO_USER', peerRead: '' });
    expect(await ldap.slapd.searchCount(`(mail=bob@${LDAP_DOMAIN})`)).toBe(1);
  });

  it('answers ERR LDAP_NO_SERVER to a user whose domain publishes no _pgpkey-ldap._tcp SRV', async () => {
    expect(await recvAs('dave')).toMatchObject({ code: 'LDAP_NO_SERVER', message: expect.stringContaining('nosrv.test'), peerRead: '' });
  });
});

describe('start-tls: the daemon as a client presenting a user certificate', () => {
  it('presents alice\'s certificate; the gate daemon answers alice@ldap.test by ldap, and a line goes each way', async () => {
    const alice = ldap.files.get('alice')!;
    const client = await startDaemon('alice', ['--cert', alice.cert, '--key', alice.key]);
    const searchesBefore = await ldap.slapd.searchCount(`(mail=alice@${LDAP_DOMAIN})`);
    const serving = recvTls({ socketPath: gate.socketPath, listener: LISTENER });
    const outbound = await startTls({ socketPath: client.socketPath, name: GATE, port: gatePort });
    expect(outbound.identity).toBe(`${GATE}.`);
    expect(outbound.attributes).toMatchObject({ method: 'dane', dnssec: 'secure', dane: '3,1,1', tlsa: `_${gatePort}._tcp.${GATE}.` });
    const inbound = await serving;
    expect({ identity: inbound.identity, method: inbound.attributes['method'] }).toEqual({ identity: `alice@${LDAP_DOMAIN}`, method: 'ldap' });
    // The same key from the same address as in the first test: the gate daemon's cached result, no new search.
    expect(await ldap.slapd.searchCount(`(mail=alice@${LDAP_DOMAIN})`)).toBe(searchesBefore);
    outbound.stream.write('ping\n');
    expect(await readLine(inbound.stream)).toBe('ping\n');
    inbound.stream.write('pong\n');
    expect(await readLine(outbound.stream)).toBe('pong\n');
    outbound.stream.destroy();
    inbound.stream.destroy();
  });
});

describe('the key server down', () => {
  it('answers ERR LDAP_FAILED when slapd is stopped', async () => {
    await ldap.slapd.stop();
    expect(await recvAs('carol')).toMatchObject({ code: 'LDAP_FAILED', message: expect.stringContaining('CONNECT_FAILED'), peerRead: '' });
  });
});
