/**
 * The user-key lab (seed 000 §4.2) that tls-ldap and tls-control-ldap stand on, all real: BIND
 * serving a signed lab where `ldap.test.` publishes its key server by `_pgpkey-ldap._tcp` SRV, with
 * the server's A and a TLSA (3 1 1) for slapd's certificate; slapd holding alice's and carol's
 * certificates. Around it, the domains that go wrong: `badtlsa.test.` points at the same slapd
 * with a TLSA naming another key, `nosrv.test.` has no SRV record, `unsigned.test.` has it
 * unsigned. The users' certificate and key files are in `dir`, one pair per name of `ldapUsers`.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ZoneSpec } from './bind-lab.js';
import { once, removeLabDir } from './lab-process.js';
import { issue, tlsaText, writePki, type Issued, type PkiFiles } from './pki.js';
import { startSignedLab, type SignedLab } from './signed-lab.js';
import { startSlapd, type Slapd } from './slapd.js';

export const LDAP_SIGN = { algorithm: 'ECDSAP256SHA256' } as const;
/** The domain whose key server holds the users. */
export const LDAP_DOMAIN = 'ldap.test';

const keyServerCert = issue({ subject: `keys.${LDAP_DOMAIN}`, dns: [`keys.${LDAP_DOMAIN}`] });
const stranger = issue({ subject: 'not the key server', dns: ['keys.badtlsa.test'] });

/** Who presents a certificate; only alice and carol have an entry on the key server. */
export const ldapUsers = {
  alice: issue({ subject: 'Alice', emails: [`alice@${LDAP_DOMAIN}`] }),
  /** Names alice, holds another key. */
  aliceOtherKey: issue({ subject: 'Alice (forged)', emails: [`alice@${LDAP_DOMAIN}`] }),
  bob: issue({ subject: 'Bob', emails: [`bob@${LDAP_DOMAIN}`] }),
  carol: issue({ subject: 'Carol', emails: [`carol@${LDAP_DOMAIN}`] }),
  dave: issue({ subject: 'Dave', emails: ['dave@nosrv.test'] }),
  eve: issue({ subject: 'Eve', emails: ['eve@badtlsa.test'] }),
  uma: issue({ subject: 'Uma', emails: ['uma@unsigned.test'] }),
} as const;
export type LdapUserName = keyof typeof ldapUsers;

export interface LdapLabOptions {
  /** More records for `ldap.test.` (relative owners), e.g. a service's A and TLSA. */
  readonly records?: readonly string[];
}

export interface LdapLab {
  readonly dir: string;
  readonly slapd: Slapd;
  readonly lab: SignedLab;
  /** Each user's certificate and key files. */
  readonly files: ReadonlyMap<LdapUserName, PkiFiles>;
  /** `--upstream` and `--trust-anchor` for an oedns command asking the lab. */
  readonly cliArgs: readonly string[];
  /** The same, as openTlsRuntime's flags. */
  readonly runtimeFlags: { readonly upstream: string[]; readonly 'trust-anchor': string[]; readonly insecure: string[]; readonly keys: false };
  /** Stops BIND and slapd (by PID) and removes the directories; may be called twice. */
  stop(): Promise<void>;
}

/** A zone that publishes `keys.<origin>` on `port` as its key server, with a TLSA record for `tlsaCert`. */
export function keyServerZone(origin: string, port: number, tlsaCert: Issued, records: readonly string[] = []): ZoneSpec {
  return {
    origin, sign: LDAP_SIGN, records: [
      `_pgpkey-ldap._tcp 300 IN SRV 0 0 ${port} keys.${origin}`,
      'keys 300 IN A 127.0.0.1',
      `_${port}._tcp.keys 300 IN TLSA ${tlsaText(tlsaCert, 3, 1, 1)}`,
      ...records,
    ],
  };
}

export async function startLdapLab(options: LdapLabOptions = {}): Promise<LdapLab> {
  const dir = await mkdtemp(join(tmpdir(), 'oedns-ldap-lab-'));
  let slapd: Slapd | undefined;
  let lab: SignedLab | undefined;
  const stop = once(async () => {
    await slapd?.stop();
    await lab?.stop();
    await removeLabDir(dir, 'ldap lab');
  });
  try {
    const files = new Map<LdapUserName, PkiFiles>();
    for (const [name, cert] of Object.entries(ldapUsers)) files.set(name as LdapUserName, await writePki(dir, name, cert));
    const entry = (uid: string, cert: Issued) => ({ uid, mail: [`${uid}@${LDAP_DOMAIN}`], certificates: [cert.der] });
    slapd = await startSlapd({ tls: keyServerCert, users: [entry('alice', ldapUsers.alice), entry('carol', ldapUsers.carol)] });
    lab = await startSignedLab({
      sign: LDAP_SIGN,
      zones: [
        keyServerZone(`${LDAP_DOMAIN}.`, slapd.port, keyServerCert, options.records),
        // The same slapd, but the TLSA record names another key: DANE must refuse it.
        keyServerZone('badtlsa.test.', slapd.port, stranger),
        { origin: 'nosrv.test.', sign: LDAP_SIGN, records: ['www 300 IN A 127.0.0.1'] },
        { origin: 'unsigned.test.', records: [`_pgpkey-ldap._tcp 300 IN SRV 0 0 ${slapd.port} keys.${LDAP_DOMAIN}.`] },
      ],
    });
    const upstream = `${lab.address}:${lab.port}`;
    return {
      dir, slapd, lab, files, stop,
      cliArgs: ['--upstream', upstream, '--trust-anchor', lab.anchorFile, '--resolv-conf', '/dev/null'],
      runtimeFlags: { upstream: [upstream], 'trust-anchor': [lab.anchorFile], insecure: [], keys: false },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
