/**
 * The signed lab hierarchy the DNSSEC tests stand on: BIND (bind-lab.ts) serving a signed lab root
 * '.' and TLD 'test.' above each test's own zones, and the root's DS as the only trust anchor, so
 * every chain of trust ends in the lab and nothing is asked of the real root.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startAuthServer, type AuthServer, type AuthServerOptions, type PreparedZones, type SignSpec, type ZoneSpec } from './bind-lab.js';
import { startOedns, type Harness } from './oedns-harness.js';

export interface SignedLabOptions extends Omit<AuthServerOptions, 'zones'> {
  /** How '.' and 'test.' are signed. */
  readonly sign: SignSpec;
  /** Records of 'test.' itself (its delegations and their DS are added as usual). */
  readonly tldRecords?: readonly string[];
  /** The test's own zones; each gets its delegation and DS in its parent, as in startAuthServer. */
  readonly zones: readonly ZoneSpec[];
}

export interface SignedLab extends AuthServer {
  /** The root's DS lines, in the lab's directory: for --trust-anchor and Unbound's trust-anchor-file. */
  readonly anchorFile: string;
}

/** Starts named on '.', 'test.' and the test's zones, and writes the root's trust anchor. */
export async function startSignedLab(options: SignedLabOptions): Promise<SignedLab> {
  const { sign, tldRecords = [], zones, ...serve } = options;
  const server = await startAuthServer({
    ...serve,
    zones: [{ origin: '.', records: [], sign }, { origin: 'test.', records: tldRecords, sign }, ...zones],
  });
  try {
    return { ...server, anchorFile: await writeRootAnchor(server) };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** Writes the lab root's DS lines to lab-root.ds in the lab's directory (gone when it stops). */
async function writeRootAnchor(server: AuthServer): Promise<string> {
  const file = join(server.dir, 'lab-root.ds');
  await writeFile(file, `${rootAnchorText(server)}\n`);
  return file;
}

/** The lab root's DS lines (SHA-256 of its KSK) as zone-file text. */
export function rootAnchorText(zones: Pick<PreparedZones, 'ds'>): string {
  return (zones.ds.get('.') ?? []).join('\n');
}

/** oedns in-process, forwarding to the lab, trusting only its root, with no negative trust anchor. */
export function startValidatingOedns(lab: SignedLab): Promise<Harness> {
  return startOedns({ upstream: [`${lab.address}:${lab.port}`], 'trust-anchor': [lab.anchorFile], insecure: [] });
}
