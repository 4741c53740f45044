/**
 * The files the racoon backend writes per peer (racoon.conf(5), seed 004): a `remote` section and
 * the peer's public key in plain RSA format, both under the configured peer directory, which the
 * administrator's racoon.conf includes (`include "/var/lib/oedns/racoon/*.conf";`, racoon globs
 * it) and names as `path certificate` (under privilege separation racoon refuses key files
 * outside that directory). Phase 2 parameters stay in the administrator's `sainfo anonymous`.
 *
 * Every value in these files is validated or re-serialised (text.ts): the identity must be a
 * hostname, addresses are parsed and written out again, paths are plain absolute paths. racoon's
 * quoted strings have no escapes, so this is what keeps a hostile name out of its configuration.
 */
import type { PolicySpec } from '../backend.js';
import { plainRsaPublicKeyFile } from './plain-rsa.js';
import { canonicalAddress, hostnameOf, safePath } from './text.js';

export interface RacoonSettings {
  /** Absolute directory for the peer files (`--racoon-peer-dir`). */
  readonly peerDir: string;
  /** This host's FQDN identity (`my_identifier fqdn`). */
  readonly localIdentity: string;
  /** This host's plainrsa-gen(8) private key file (`certificate_type plain_rsa`). */
  readonly privateKeyPath: string;
}

/** The phase 1 proposal: seed 004's (AES, SHA-256, RSA signatures) with a 2048-bit MODP group instead of group 2. */
const PHASE1_PROPOSAL = ['encryption_algorithm aes', 'hash_algorithm sha256', 'authentication_method rsasig', 'dh_group 14'] as const;
/** Seed 004: `lifetime time 24 hour` for the ISAKMP SA. */
const PHASE1_LIFETIME = 'lifetime time 24 hour';

export interface PeerFiles {
  /** File name stem and racoon remote name suffix: `alice.lab.example_192.0.2.10`. */
  readonly stem: string;
  readonly confPath: string;
  readonly confText: string;
  readonly keyPath: string;
  readonly keyText: string;
}

/** The IKE peer's address: the gateway in tunnel mode, else the remote address itself. */
function ikePeerAddress(spec: PolicySpec): string {
  const gateway = spec.action.kind === 'protect' && spec.action.mode === 'tunnel' ? spec.action.gateway : undefined;
  return canonicalAddress(gateway ?? spec.remote, spec.family);
}

/**
 * The peer files for a spec, or undefined when it needs none (block, pass, or no peer). Throws
 * BackendError for an identity, address or path that cannot be written safely; nothing is written
 * here, so a refused spec leaves no trace.
 */
export function peerFiles(spec: PolicySpec, settings: RacoonSettings): PeerFiles | undefined {
  if ((spec.action.kind !== 'protect' && spec.action.kind !== 'responder') || spec.peer === undefined) return undefined;
  const identity = hostnameOf(spec.peer.identity);
  const localIdentity = hostnameOf(settings.localIdentity);
  const address = ikePeerAddress(spec);
  const dir = safePath(settings.peerDir.replace(/\/+$/, ''));
  const stem = `${identity}_${address.replaceAll(':', '-')}`;
  const keyPath = safePath(`${dir}/${stem}.pub`);
  const confPath = safePath(`${dir}/${stem}.conf`);
  const responder = spec.action.kind === 'responder';
  const lines = [
    `# Written by oedns for ${identity} at ${address} (key from a DNSSEC-secure IPSECKEY).`,
    '# Do not edit: oedns rewrites and removes this file.',
    `remote "oedns_${stem}" {`,
    `\tremote_address ${address};`,
    '\texchange_mode main;',
    `\tmy_identifier fqdn "${localIdentity}";`,
    `\tpeers_identifier fqdn "${identity}";`,
    '\tverify_identifier on;',
    `\tcertificate_type plain_rsa "${safePath(settings.privateKeyPath)}";`,
    `\tpeers_certfile plain_rsa "${keyPath}";`,
    ...(responder ? ['\tpassive on;', '\tgenerate_policy on;'] : []),
    `\t${PHASE1_LIFETIME};`,
    '\tproposal {',
    ...PHASE1_PROPOSAL.map((line) => `\t\t${line};`),
    '\t}',
    '}',
  ];
  return { stem, confPath, confText: `${lines.join('\n')}\n`, keyPath, keyText: plainRsaPublicKeyFile(spec.peer.publicKeyPem, `${identity} at ${address}, from DNS; written by oedns`) };
}
