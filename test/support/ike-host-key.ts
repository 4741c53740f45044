/**
 * A key pair for an IKE test host, with its public half taken the way oedns takes it from DNS:
 * the key written as an IPSECKEY record line, read back, decoded and exported as SPKI PEM by
 * src/records. Shared by the vici backend's tests against real charons.
 */
import { generateKeyPairSync } from 'node:crypto';
import { decodeIpseckey, ipseckeyLine, ipseckeyPublicKey, parseKeyRecordLine } from '../../src/records/index.js';

export interface IkeHostKey {
  readonly name: string;
  /** PKCS #8 PEM, for the host's own charon (load-key). */
  readonly privatePem: string;
  /** The public key as oedns gets it from DNS: IPSECKEY rdata → ipseckeyPublicKey → spkiPem. */
  readonly dnsPem: string;
}

export function ikeHostKey(name: string, type: 'ed25519' | 'rsa' = 'ed25519'): IkeHostKey {
  const { privateKey, publicKey } = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
  const line = ipseckeyLine({ name, keyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), precedence: 10, ttlSeconds: 300 });
  const read = parseKeyRecordLine(line);
  const key = ipseckeyPublicKey(decodeIpseckey(read.rdata), read.name);
  if (key.kind !== 'key') throw new Error(`no key in ${line}`);
  return { name, privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), dnsPem: key.spkiPem };
}
