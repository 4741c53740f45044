/** This host's IKE key for the vici backend: its type as VICI names it, PKCS#8 PEM, and the public half. */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { ConfigError, errorMessage } from '../../core/errors.js';
import type { ViciKeyType } from './vici-commands.js';

const KEY_TYPES: Readonly<Record<string, ViciKeyType>> = { rsa: 'rsa', ec: 'ecdsa', ed25519: 'ed25519', ed448: 'ed448' };

/** Parses the configured private key (throws ConfigError); charon finds it through the public half in the conn's local `pubkeys`. */
export function localKey(privateKeyPem: string): { type: ViciKeyType; pkcs8Pem: string; publicKeyPem: string } {
  let key;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch (error) {
    throw new ConfigError(`vici: the IKE private key is not a PEM private key: ${errorMessage(error)}`, { cause: error });
  }
  const type = KEY_TYPES[key.asymmetricKeyType ?? ''];
  if (!type) throw new ConfigError(`vici: IKE private keys of type ${key.asymmetricKeyType ?? 'unknown'} are not supported (RSA, ECDSA, Ed25519, Ed448)`);
  return {
    type,
    pkcs8Pem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString(),
  };
}
