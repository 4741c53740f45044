import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAppError } from '../../test/support/unit.js';
import { ConfigError } from '../core/errors.js';
import { RRType } from '../wire/constants.js';
import { decodeIpseckey, GatewayType } from './ipseckey.js';
import { ipseckeyPublicKey } from './ipseckey-key.js';
import { recordCommand } from './record-command.js';
import { parseKeyRecordLine } from './record-line.js';
import { ipseckeyLine, tlsaLine } from './record-lines.js';
import { testCertificate, testKeyPair, type TestCertificate } from './test-vectors.js';
import { decodeTlsa } from './tlsa.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex').toUpperCase();
const spkiHex = (key: { export(o: { type: 'spki'; format: 'der' }): Buffer }): string => key.export({ type: 'spki', format: 'der' }).toString('hex');

let made: TestCertificate;
let dir: string;
beforeAll(async () => {
  made = await testCertificate('www.example.test');
  dir = await mkdtemp(join(tmpdir(), 'oedns-record-command-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('oedns record ipseckey', () => {
  it.each([
    [undefined, GatewayType.None, '.'], ['192.0.2.1', GatewayType.Ipv4, '192.0.2.1'],
    ['2001:DB8::1', GatewayType.Ipv6, '2001:db8::1'], ['gw.example.test', GatewayType.Name, 'gw.example.test.'],
  ])('prints a line for gateway %s that reads back to the same key', (gateway, gatewayType, printed) => {
    const { publicKey } = testKeyPair('ed25519');
    const line = ipseckeyLine({ name: 'host.example.test', keyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string, gateway, precedence: 10, ttlSeconds: 3600 });
    expect(line).toMatch(new RegExp(`^host\\.example\\.test\\.\\t3600\\tIN\\tIPSECKEY\\t10 ${gatewayType} 4 ${printed.replace(/\./g, '\\.')} [A-Za-z0-9+/]{43}=$`));
    const read = parseKeyRecordLine(line);
    expect(read).toMatchObject({ name: 'host.example.test.', ttlSeconds: 3600, type: RRType.IPSECKEY });
    const key = ipseckeyPublicKey(decodeIpseckey(read.rdata), read.name);
    expect(key.kind === 'key' && spkiHex(key.keyObject)).toBe(spkiHex(publicKey));
  });

  it('takes a private key PEM and leaves out the TTL when none is given', () => {
    const { publicKey, privateKey } = testKeyPair('rsa');
    const line = ipseckeyLine({ name: 'host.example.test.', keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, precedence: 0 });
    expect(line).toMatch(/^host\.example\.test\.\tIN\tIPSECKEY\t0 0 2 \. AwEAA/);
    const key = ipseckeyPublicKey(decodeIpseckey(parseKeyRecordLine(line).rdata), 'host.example.test.');
    expect(key.kind === 'key' && spkiHex(key.keyObject)).toBe(spkiHex(publicKey));
  });

  it.each([
    ['a file that is not a key', { keyPem: 'hello' }, /--key: not a PEM public or private key/],
    ['a precedence over 255', { precedence: 256 }, /--precedence 256 is not an integer from 0 to 255/],
    ['a negative TTL', { ttlSeconds: -1 }, /--ttl -1 is not an integer/],
  ])('refuses %s', (_, change, pattern) => {
    const keyPem = testKeyPair('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expectAppError(() => ipseckeyLine({ name: 'h.example.', keyPem, precedence: 10, ...change }), ConfigError, pattern);
  });
});

describe('oedns record tlsa', () => {
  it.each([
    [0, 0, () => hex(made.der)],
    [0, 1, () => hex(createHash('sha256').update(made.der).digest())],
    [1, 1, () => hex(createHash('sha256').update(made.spkiDer).digest())],
    [1, 2, () => hex(createHash('sha512').update(made.spkiDer).digest())],
  ])('prints selector %i matching type %i computed from what openssl extracts', (selector, matchingType, expected) => {
    const line = tlsaLine({ name: 'www.example.test', certificate: made.pem, usage: 3, selector, matchingType, port: 443, protocol: 'tcp', ttlSeconds: 300 });
    expect(line).toBe(`_443._tcp.www.example.test.\t300\tIN\tTLSA\t3 ${selector} ${matchingType} ${expected()}`);
    const read = parseKeyRecordLine(line);
    expect(decodeTlsa(read.rdata)).toMatchObject({ usage: 3, selector, matchingType });
  });

  it('takes a DER certificate too', () => {
    const line = tlsaLine({ name: 'mail.example.test.', certificate: made.der, usage: 2, selector: 1, matchingType: 1, port: 25, protocol: 'tcp' });
    expect(line.startsWith('_25._tcp.mail.example.test.\tIN\tTLSA\t2 1 1 ')).toBe(true);
  });

  it.each([
    ['a selector it cannot compute', { selector: 255 }, /--selector: 255 cannot be computed/],
    ['a matching type it cannot compute', { matchingType: 3 }, /--matching: 3 cannot be computed/],
    ['a port over 65535', { port: 70000 }, /--port 70000 is not an integer from 0 to 65535/],
    ['a bad protocol', { protocol: '_tcp' }, /--proto "_tcp" is not a protocol name/],
    ['a file that is not a certificate', { certificate: 'nope' }, /--cert: not a PEM or DER X\.509 certificate/],
  ])('refuses %s', (_, change, pattern) => {
    expectAppError(() => tlsaLine({ name: 'www.example.test', certificate: made.pem, usage: 3, selector: 1, matchingType: 1, port: 443, protocol: 'tcp', ...change }), ConfigError, pattern);
  });
});

describe('recordCommand (yargs)', () => {
  async function run(args: string[]): Promise<{ lines: string[]; errors: string[] }> {
    const lines: string[] = [];
    const errors: string[] = [];
    await yargs(args).command(recordCommand({ write: (line) => lines.push(line), fail: (message) => errors.push(message) })).strict().exitProcess(false).parseAsync();
    return { lines, errors };
  }

  it('prints an IPSECKEY line from a key file with the defaults of the issue', async () => {
    const keyFile = join(dir, 'pub.pem');
    await writeFile(keyFile, testKeyPair('ecdsa-p256').publicKey.export({ type: 'spki', format: 'pem' }));
    const { lines, errors } = await run(['record', 'ipseckey', '--key', keyFile, '--gateway', '192.0.2.7', 'host.example.test']);
    expect(errors).toEqual([]);
    expect(lines).toEqual([expect.stringMatching(/^host\.example\.test\.\tIN\tIPSECKEY\t10 1 3 192\.0\.2\.7 \S{88}$/)]);
  });

  it('prints a TLSA line from a certificate file', async () => {
    const certFile = join(dir, 'cert.pem');
    await writeFile(certFile, made.pem);
    const { lines } = await run(['record', 'tlsa', '--cert', certFile, '--usage', '3', '--selector', '1', '--matching', '1', '--port', '853', 'dns.example.test']);
    expect(lines).toEqual([`_853._tcp.dns.example.test.\tIN\tTLSA\t3 1 1 ${hex(createHash('sha256').update(made.spkiDer).digest())}`]);
  });

  it('reports a missing file as one line, printing nothing', async () => {
    const { lines, errors } = await run(['record', 'tlsa', '--cert', join(dir, 'absent.pem'), 'x.example.test']);
    expect(lines).toEqual([]);
    expect(errors).toEqual([expect.stringMatching(/^--cert .*absent\.pem: ENOENT/)]);
  });
});
