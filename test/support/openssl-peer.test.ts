import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issue, tlsaText, writeCaFile, writePki, type Issued } from './pki.js';
import { sClient, sClientDane, startSServer, type SServer } from './openssl-peer.js';

describe('openssl peers', () => {
  let dir: string;
  let ca: Issued;
  let leaf: Issued;
  let server: SServer;
  let caFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oedns-openssl-peer-'));
    ca = issue({ subject: 'Peer Test CA', ca: true });
    leaf = issue({ subject: 'www.example.test', dns: ['www.example.test'], issuer: ca });
    const files = await writePki(dir, 'www', leaf, { includeRoot: true });
    caFile = await writeCaFile(join(dir, 'ca.pem'), [ca]);
    server = await startSServer({ cert: files.cert, key: files.key, chain: files.chain });
  });

  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reverses each line a client sends through TLS', async () => {
    const result = await sClient({ port: server.port, servername: 'www.example.test', caFile, input: 'hello\nCLOSE\n' });
    expect(result.stdout).toContain('olleh');
    expect(result.stderr).toContain('Verification: OK');
  });

  it('reports OpenSSL\'s DANE verdict: a matching 3 1 1 verifies, a wrong one does not', async () => {
    const good = await sClientDane({
      port: server.port, servername: 'www.example.test', tlsaDomain: 'www.example.test', tlsaRrdata: [tlsaText(leaf, 3, 1, 1)],
    });
    expect(good).toMatchObject({ verified: true, exitCode: 0 });
    expect(good.matched).toMatch(/^DANE TLSA 3 1 1 .* matched EE certificate at depth 0$/);
    const bad = await sClientDane({
      port: server.port, servername: 'www.example.test', tlsaDomain: 'www.example.test', tlsaRrdata: [tlsaText(ca, 3, 1, 1)],
    });
    expect(bad.verified).toBe(false);
    expect(bad.error).toMatch(/no matching DANE TLSA records/);
  });

  it('checks names against the TLSA domain for DANE-TA', async () => {
    const dane = (tlsaDomain: string) => sClientDane({
      port: server.port, servername: 'www.example.test', tlsaDomain, tlsaRrdata: [tlsaText(ca, 2, 0, 1)],
    });
    const good = await dane('www.example.test');
    expect(good.verified).toBe(true);
    expect(good.matched).toMatch(/matched TA certificate at depth 1/);
    expect(good.output).toContain('Verified peername: www.example.test');
    expect((await dane('other.example.test')).verified).toBe(false);
  });

  it('stops s_server by PID: the port no longer answers', async () => {
    const other = await startSServer({ cert: join(dir, 'www.crt'), key: join(dir, 'www.key') });
    expect(other.pid).toBeGreaterThan(0);
    await other.stop();
    await other.stop();
    const result = await sClient({ port: other.port, timeoutMs: 5_000 });
    expect(result.exitCode).not.toBe(0);
  });
});
