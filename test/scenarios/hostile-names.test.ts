/**
 * CVE-2019-18934, end to end: Unbound's ipsecmod handed the DNS name of an answer to a shell
 * hook, so a signed zone could run commands on the resolver's host. Here a real BIND serves a
 * signed zone whose owner names carry shell metacharacters, quotes and a newline, each with a
 * secure A and IPSECKEY; oedns answers them through the racoon backend (the one backend that
 * writes the peer's name into files) with stand-in setkey and racoonctl that record every call.
 * No hostile byte may reach a command line, a script or a file, nothing may run, and oedns keeps
 * serving; the harmless name in the same zone shows the path is live.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeStandIns, type StandIns } from '../../src/ipsec/setkey/testdata/stand-in.js';
import { Rcode, RRType } from '../../src/wire/index.js';
import { question, queryMessage, startOedns, udpQuery, type Harness } from '../support/oedns-harness.js';
import { startSignedLab, type SignedLab } from '../support/signed-lab.js';

const ZONE = 'hostile.test.';
const PWNED = join(tmpdir(), `oedns-pwned-${process.pid}`);
/** Owner labels in zone-file syntax; what they decode to is what an attacker controls. */
const HOSTILE_LABELS = [
  `\\$\\(touch\\032${PWNED}\\)`,
  `a\\;touch\\032${PWNED}`,
  `evil\\010spdflush\\;`,
  `q\\"\\032include\\032\\"/etc/shadow`,
  `\\096touch\\032${PWNED}\\096`,
  'x}\\010remote\\032anonymous\\032{',
] as const;
/** Bytes none of which may appear in anything the backend writes or runs. */
const HOSTILE_MARKERS = ['touch', 'spdflush', 'shadow', 'anonymous', '$(', '`'];

let lab: SignedLab;
let standIns: StandIns;
let peerDir: string;
let policies: string;
let oedns: Harness;

function rsaIpseckeyRdata(): string {
  const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
  const e = Buffer.from(jwk.e ?? '', 'base64url');
  const n = Buffer.from(jwk.n ?? '', 'base64url');
  // RFC 4025: precedence 10, no gateway, algorithm 2 (RSA, RFC 3110 key).
  return `10 0 2 . ${Buffer.concat([Buffer.from([e.length]), e, n]).toString('base64')}`;
}

beforeAll(async () => {
  const key = rsaIpseckeyRdata();
  const records = [...HOSTILE_LABELS, 'ok'].flatMap((label, i) => [
    `${label}.${ZONE} 300 IN A 192.0.2.${100 + i}`,
    `${label}.${ZONE} 300 IN IPSECKEY ${key}`,
  ]);
  lab = await startSignedLab({ sign: { algorithm: 'ECDSAP256SHA256' }, zones: [{ origin: ZONE, sign: { algorithm: 'ECDSAP256SHA256' }, records }] });
  standIns = makeStandIns();
  peerDir = join(standIns.dir, 'peers');
  policies = await mkdtemp(join(tmpdir(), 'oedns-hostile-policies-'));
  await writeFile(join(policies, '10-hostile.yaml'), [
    'version: 1',
    'rules:',
    // By network, not domain: a domain pattern never matches a name that is not a hostname, and
    // the point is what the backend does when such a name reaches it.
    '  - networks: [192.0.2.0/24]',
    '    action: require',
    '    dnssec: secure',
    '    keys: [ipseckey]',
    '',
  ].join('\n'));
  const state = await mkdtemp(join(tmpdir(), 'oedns-hostile-state-'));
  oedns = await startOedns({
    upstream: [`${lab.address}:${lab.port}`], 'trust-anchor': [lab.anchorFile], insecure: [], keys: true, policies,
    'ipsec-backend': 'racoon', 'setkey-path': standIns.setkeyPath, 'racoonctl-path': standIns.racoonctlPath,
    'racoon-peer-dir': peerDir, 'ike-identity': 'resolver.hostile.test', 'ike-key': join(standIns.dir, 'privatekey.rsa'),
    'state-dir': state, 'control-socket': join(state, 'control.sock'),
  });
}, 60_000);

afterAll(async () => {
  await oedns?.stop();
  await lab?.stop();
  await rm(policies, { recursive: true, force: true });
  await rm(PWNED, { force: true });
});

/** Everything the backend produced: argv and stdin of every stand-in call, and every peer file. */
function everythingWritten(): string {
  const calls = standIns.calls().map((c) => `${c.args.join(' ')}\n${c.stdin}`);
  const files = existsSync(peerDir) ? readdirSync(peerDir).map((f) => `${f}\n${readFileSync(join(peerDir, f), 'utf8')}`) : [];
  return [...calls, ...files].join('\n');
}

describe('names from a signed zone never reach a command or a file (CVE-2019-18934)', () => {
  it.each(HOSTILE_LABELS.map((label, i) => [label, i] as const))('%s: refused, nothing written or run, the client gets SERVFAIL', async (label, i) => {
    const name = `${label}.${ZONE}`;
    const reply = await udpQuery(oedns.port, queryMessage(0x4000 + i, question(name, RRType.A), { edns: true, dnssecOk: true }));
    // require, and the backend refused the peer's identity: no policy, so no answer to use.
    expect(reply.rcode).toBe(Rcode.ServFail);
    expect(existsSync(PWNED)).toBe(false);
    const written = everythingWritten();
    for (const marker of HOSTILE_MARKERS) expect(written).not.toContain(marker);
    expect(oedns.logs.lines.some((l) => /not a hostname, refused as an IKE identity/.test(JSON.stringify(l)) && l.level >= 40)).toBe(true);
    // Fail closed: the address is blocked, its traffic never goes in clear.
    expect(standIns.spd().filter((e) => e.selector.includes(`192.0.2.${100 + i}`)).map((e) => e.policy)).toEqual(expect.arrayContaining([expect.stringMatching(/discard/)]));
  });

  it('the harmless name in the same zone gets its policy and peer file, and oedns is still serving', async () => {
    const reply = await udpQuery(oedns.port, queryMessage(0x4100, question(`ok.${ZONE}`, RRType.A), { edns: true, dnssecOk: true }));
    expect(reply.rcode).toBe(Rcode.NoError);
    expect(standIns.spd().some((e) => e.selector.includes('192.0.2.106'))).toBe(true);
    expect(readdirSync(peerDir).some((f) => f.startsWith('ok.hostile.test'))).toBe(true);
    expect(existsSync(PWNED)).toBe(false);
  });
});
