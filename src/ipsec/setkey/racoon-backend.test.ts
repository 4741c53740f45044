import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PolicySpec } from '../backend.js';
import { rfc3110PublicKey } from './plain-rsa.js';
import { peerFiles, type RacoonSettings } from './racoon-files.js';
import { RacoonBackend } from './racoon-backend.js';
import { makeStandIns } from './testdata/stand-in.js';

/** Seed 004: the RFC 3110 RSA key MC published in ipsec1.hack.org's IPSECKEY (exponent 3, 4096 bits). */
const MC_IPSECKEY_B64 = 'AQOqVjnhO/eQdETVCH7r2am7yUixEcWUgyffNhdmTigiLS7VZODtxC2ii3ySKEOD6ADxykvgn6KVotSYmSq2kNAdmbElkMl3stAHE+E327vSkX3vKR3/l23Wrrv0iUlJFm+5WK1TJC6jTkjH8Fc0j77mdATGfmWYC4MdONuPUDMeEaMu9/XJm+X0ZWfGG/q1158smfkwsRvKh1KZCJLuGYv+Y85kRnMwnejtQRpDMZbjNr8dtS90MR7kGgQIJ/ctgc//MRjpTo8NTWncDp9KKvuNcBxsPPL08YTF/BkcG60SeeKD1jqjdnY+VRFkrv3BO0WyFEib/fuxeA2FJLYMYOuGG3n1KKSLckD7B5AfNOKKME94f+glY65M8njVVAIKahufUzp+DIW9AgURxuAwNoCiRpS3i+sh7lY/dT5AzbZ8Ewl2jgsdX/neAXCiOWrSMUZGyARNcvAsOleRk93pb0y43FEU8f8OcS027p+ZbBHVbHYbLFEX6eg3NbJso3LTL6Gx8SxWX8W6KvBjFf7sWO4ehEcXPJXJ+lsY/UQfAbeFlUTicQd83+rVuuHfJvbxYWx0Sia6bERlKRSYTWT4FBwH3AwMTLQRskWasyBTbLbk1KHkUBZv4Ts5J+pGzAVsbPLINLnb5/lifjZdPGca6yn+5mbkKdjPSyV0ZHYfqiO4qQ==';

/** The seed's key as the SPKI PEM the pipeline would hand over (built from its modulus and exponent). */
function pemOfRfc3110(b64: string): string {
  const bytes = Buffer.from(b64, 'base64');
  const eLen = bytes[0] ?? 0;
  const jwk = { kty: 'RSA', e: bytes.subarray(1, 1 + eLen).toString('base64url'), n: bytes.subarray(1 + eLen).toString('base64url') };
  return createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
}

const MC_PEM = pemOfRfc3110(MC_IPSECKEY_B64);
const signal = (): AbortSignal => AbortSignal.timeout(20_000);
const settings = (peerDir: string): RacoonSettings => ({ peerDir, localIdentity: 'ipsec2.hack.org.', privateKeyPath: '/usr/local/etc/racoon/certs/privatekey.rsa' });
const protect = (identity: string, remote = '2001:16d8:ffff:1::3'): PolicySpec => ({
  family: 6, local: '2001:16d8:ffff:1::4', remote, selector: {},
  action: { kind: 'protect', level: 'use', mode: 'transport' }, peer: { identity, publicKeyPem: MC_PEM },
});

describe('racoon plain RSA key (plainrsa-gen(8) format)', () => {
  it('turns the PEM of seed 004\'s IPSECKEY key back into exactly the key MC published', () => {
    expect(Buffer.from(rfc3110PublicKey(MC_PEM)).toString('base64')).toBe(MC_IPSECKEY_B64);
  });

  it('refuses keys racoon cannot use', () => {
    const ed = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.alloc(32, 7).toString('base64url') }, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
    expect(() => rfc3110PublicKey(ed)).toThrow(/RSA keys only/);
    expect(() => rfc3110PublicKey('not a pem')).toThrow(expect.objectContaining({ code: 'ERR_IPSEC_BACKEND' }));
  });
});

describe('racoon peer files (golden, racoon.conf(5))', () => {
  it('writes a remote section and a : PUB key file for an initiator', async () => {
    const files = peerFiles(protect('ipsec1.hack.org.'), settings('/var/lib/oedns/racoon'));
    await expect(files?.confText).toMatchFileSnapshot('./golden/racoon-initiator.conf');
    await expect(files?.keyText).toMatchFileSnapshot('./golden/racoon-ipsec1.hack.org.pub');
    expect(files?.keyText).toContain(`: PUB 0s${MC_IPSECKEY_B64}\n`);
  });

  it('writes passive on and generate_policy on for a responder, with the gateway as IKE peer in tunnel mode', async () => {
    const responder: PolicySpec = { ...protect('ipsec1.hack.org'), action: { kind: 'responder' } };
    const tunnel: PolicySpec = { ...protect('ipsec1.hack.org'), family: 4, local: '192.0.2.1', remote: '198.51.100.7', action: { kind: 'protect', level: 'require', mode: 'tunnel', gateway: '203.0.113.9' } };
    const text = (spec: PolicySpec): string => peerFiles(spec, settings('/var/lib/oedns/racoon/'))?.confText ?? '';
    await expect(text(responder) + text(tunnel)).toMatchFileSnapshot('./golden/racoon-responder-tunnel.conf');
  });

  it('needs no peer file for block and pass', () => {
    expect(peerFiles({ family: 4, remote: '192.0.2.1', selector: {}, action: { kind: 'block' } }, settings('/x'))).toBeUndefined();
  });
});

describe('racoon: names and addresses from DNS never reach a file or a command unchecked (cf. CVE-2019-18934)', () => {
  const hostile = [
    'evil.example.\n}\nremote anonymous {',
    'evil"; include "/etc/shadow',
    '$(touch /tmp/pwned).example.',
    'a;rm -rf /.example.',
    'under_score.example.',
    'back\\slash.example.',
    'sp ace.example.',
    '-lead.example.',
    '',
  ];
  it.each(hostile)('refuses identity %j before writing or running anything', async (identity) => {
    const s = makeStandIns();
    const peerDir = join(s.dir, 'peers');
    const backend = new RacoonBackend({ ...settings(peerDir), setkeyPath: s.setkeyPath, racoonctlPath: s.racoonctlPath });
    await expect(backend.apply([{ op: 'add', policy: protect(identity) }], signal())).rejects.toMatchObject({ code: 'ERR_IPSEC_BACKEND' });
    expect(s.calls()).toEqual([]);
    expect(existsSync(peerDir) ? readdirSync(peerDir) : []).toEqual([]);
  });

  it.each(['2001:db8::1\nspdflush', '2001:db8::1; spdflush', 'fe80::1%eth0', '2001:db8::1/64', ' 2001:db8::1'])('refuses address %j', async (remote) => {
    const s = makeStandIns();
    const backend = new RacoonBackend({ ...settings(join(s.dir, 'peers')), setkeyPath: s.setkeyPath, racoonctlPath: s.racoonctlPath });
    await expect(backend.apply([{ op: 'add', policy: protect('ipsec1.hack.org', remote) }], signal())).rejects.toMatchObject({ code: 'ERR_IPSEC_BACKEND' });
    expect(s.calls()).toEqual([]);
  });

  it('refuses a peer directory or socket path racoon could not quote', () => {
    expect(() => new RacoonBackend({ ...settings('/tmp/a"b'), racoonctlPath: 'x' })).toThrow(/path refused/);
    expect(() => new RacoonBackend({ ...settings('/tmp/ok'), racoonctlSocket: '/run/racoon.sock\n' })).toThrow(/path refused/);
  });
});

describe('RacoonBackend against stand-in setkey and racoonctl', () => {
  function setup(): { s: ReturnType<typeof makeStandIns>; peerDir: string; backend: RacoonBackend } {
    const s = makeStandIns();
    const peerDir = join(mkdtempSync(join(tmpdir(), 'oedns-racoon-')), 'peers');
    s.control([], peerDir);
    const backend = new RacoonBackend({ ...settings(peerDir), setkeyPath: s.setkeyPath, racoonctlPath: s.racoonctlPath, racoonctlSocket: '/run/racoon/racoon.sock' });
    return { s, peerDir, backend };
  }

  it('writes the peer files, reloads racoon, then installs the SPD pair', async () => {
    const { s, peerDir, backend } = setup();
    await backend.apply([{ op: 'add', policy: protect('ipsec1.hack.org.') }], signal());
    const stem = 'ipsec1.hack.org_2001-16d8-ffff-1--3';
    expect(s.calls().map((c) => [c.tool, c.args, c.files])).toEqual([
      ['racoonctl', ['-s', '/run/racoon/racoon.sock', 'reload-config'], [`${stem}.conf`, `${stem}.pub`]],
      ['setkey', ['-c'], undefined],
    ]);
    expect(readFileSync(join(peerDir, `${stem}.conf`), 'utf8')).toContain(`peers_certfile plain_rsa "${peerDir}/${stem}.pub";`);
    expect(s.spd().map((e) => e.policy)).toEqual(['ipsec esp/transport//use', 'ipsec esp/transport//use']);
    expect(await backend.list(signal())).toEqual([expect.objectContaining({ backend: 'racoon', handle: `oedns_${stem}` })]);
  });

  it('a responder gets a peer file and no SPD entry; removal deletes the files and reloads', async () => {
    const { s, peerDir, backend } = setup();
    const responder: PolicySpec = { ...protect('ipsec1.hack.org'), action: { kind: 'responder' } };
    await backend.apply([{ op: 'add', policy: responder }], signal());
    expect(s.calls().map((c) => c.tool)).toEqual(['racoonctl']);
    await backend.removeAll(signal());
    expect(readdirSync(peerDir)).toEqual([]);
    expect(s.calls().map((c) => c.tool)).toEqual(['racoonctl', 'racoonctl']);
    expect(await backend.list(signal())).toEqual([]);
  });

  it('when setkey fails, rolls back the SPD, removes the peer files and reloads racoon', async () => {
    const { s, peerDir, backend } = setup();
    s.control([{ tool: 'setkey', match: '^spdadd .* -P in ', stderr: 'setkey: Operation not permitted', exitCode: 1 }], peerDir);
    await expect(backend.apply([{ op: 'add', policy: protect('ipsec1.hack.org') }], signal())).rejects.toThrow(/Operation not permitted/);
    expect(s.spd()).toEqual([]);
    expect(readdirSync(peerDir)).toEqual([]);
    expect(s.calls().map((c) => c.tool)).toEqual(['racoonctl', 'setkey', 'setkey', 'racoonctl']);
    expect(await backend.list(signal())).toEqual([]);
  });

  it('when racoonctl fails, throws BackendError with its stderr, installs no SPD entry and leaves no file', async () => {
    const { s, peerDir, backend } = setup();
    s.control([{ tool: 'racoonctl', match: 'reload-config', stderr: 'racoonctl: connect: No such file or directory', exitCode: 1 }], peerDir);
    await expect(backend.apply([{ op: 'add', policy: protect('ipsec1.hack.org') }], signal())).rejects.toMatchObject({
      code: 'ERR_IPSEC_BACKEND', message: expect.stringContaining('connect: No such file or directory'),
    });
    expect(s.calls().map((c) => c.tool)).toEqual(['racoonctl', 'racoonctl']);
    expect(readdirSync(peerDir)).toEqual([]);
  });

  it('keeps a peer file while another entry for the same peer uses it', async () => {
    const { peerDir, backend } = setup();
    const broad = protect('ipsec1.hack.org');
    const https: PolicySpec = { ...broad, selector: { protocol: 6, ports: [{ first: 443, last: 443 }] } };
    await backend.apply([{ op: 'add', policy: https }, { op: 'add', policy: broad }], signal());
    await backend.apply([{ op: 'remove', policy: https }], signal());
    expect(readdirSync(peerDir)).toHaveLength(2);
    await backend.apply([{ op: 'remove', policy: broad }], signal());
    expect(readdirSync(peerDir)).toEqual([]);
  });
});
