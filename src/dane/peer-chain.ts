/**
 * The peer's chain as DANE wants it (leaf first, each certificate followed by its issuer) from
 * Node's `socket.getPeerCertificate(true)`: the certificates the peer sent, which Node links
 * through `issuerCertificate` and completes from the local CA store up to the root, whose
 * `issuerCertificate` points back at itself.
 */
import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate } from 'node:tls';

/** Certificates walked past at most; a longer chain is hostile or broken (OpenSSL's default depth is 100). */
const MAX_CHAIN_LENGTH = 32;

export function chainFromPeerCertificate(detailed: DetailedPeerCertificate): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const seen: Buffer[] = [];
  // getPeerCertificate() returns {} when the peer sent no certificate: no raw, no chain.
  let current: DetailedPeerCertificate | undefined = detailed;
  while (current?.raw !== undefined && chain.length < MAX_CHAIN_LENGTH) {
    const raw: Buffer = current.raw;
    // A self-signed root is its own issuerCertificate; any repeat ends the walk without a duplicate.
    if (seen.some((earlier) => earlier.equals(raw))) break;
    seen.push(raw);
    chain.push(new X509Certificate(raw));
    const issuer: DetailedPeerCertificate | undefined = current.issuerCertificate;
    current = issuer === current ? undefined : issuer;
  }
  return chain;
}
