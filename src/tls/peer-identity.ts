/**
 * What a peer's certificate says it is. Seed 000 §4.1: "the certificate received from the peer is
 * validated based on the uid of the certificate": an e-mail address makes it a user certificate
 * (checked on the user's domain's key server), anything else a domain certificate (DANE).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';

/** RFC 5280 §4.2.1.6 entries as Node prints subjectAltName: `DNS:a.example, email:u@example`; values with separators come JSON-quoted. */
export function subjectAltNames(cert: X509Certificate): readonly { readonly kind: string; readonly value: string }[] {
  const text = cert.subjectAltName;
  if (!text) return [];
  const entries: { kind: string; value: string }[] = [];
  const pattern = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:,\s*|$)/g;
  for (const match of text.matchAll(pattern)) {
    const raw = match[2] ?? '';
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch {
        continue;
      }
    }
    entries.push({ kind: match[1]!.trim(), value });
  }
  return entries;
}

/** Subject attributes, `emailAddress=u@example` lines as Node prints them. */
function subjectValues(cert: X509Certificate, attribute: string): string[] {
  return cert.subject.split('\n').filter((line) => line.startsWith(`${attribute}=`)).map((line) => line.slice(attribute.length + 1));
}

/** The certificate's e-mail address (rfc822Name, else the legacy emailAddress attribute, RFC 5280 §4.1.2.6), lowercased domain. */
export function certificateEmail(cert: X509Certificate): string | undefined {
  const email = subjectAltNames(cert).find((entry) => entry.kind === 'email')?.value ?? subjectValues(cert, 'emailAddress')[0];
  if (email === undefined) return undefined;
  const at = email.lastIndexOf('@');
  return at <= 0 ? undefined : `${email.slice(0, at)}@${email.slice(at + 1).toLowerCase()}`;
}

/** The first dNSName: the client's domain for DANE client authentication (draft-ietf-dance-client-auth §4). */
export function certificateDomain(cert: X509Certificate): string | undefined {
  const name = subjectAltNames(cert).find((entry) => entry.kind === 'DNS')?.value;
  return name === undefined || name.startsWith('*') ? undefined : `${name.toLowerCase().replace(/\.$/, '')}.`;
}

/** SHA-256 of the SubjectPublicKeyInfo, hex: what a pin holds (the key, not the certificate, RFC 7469 §2.4 style). */
export function spkiSha256(cert: X509Certificate): string {
  return createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** A host name as the engine reports it: lowercase, absolute; an address literal as it is. */
export function hostIdentity(name: string): string {
  return isIP(name) !== 0 ? name : `${name.toLowerCase().replace(/\.$/, '')}.`;
}

/** A DNS name as certificates carry it (no final dot), for X509Certificate.checkHost. */
export function certificateName(name: string): string {
  return name.replace(/\.$/, '');
}

export interface PeerCertificates {
  /** Node's linked chain (leaf first, completed from the CA store), for chainFromPeerCertificate. */
  readonly detailed?: DetailedPeerCertificate | undefined;
  readonly leaf?: X509Certificate | undefined;
}

const peerCache = new WeakMap<TLSSocket, PeerCertificates>();

/**
 * The peer's certificates, read once per socket. In Node 20 getPeerX509Certificate() hands its
 * certificate out only once: a second call, and getPeerCertificate() after it, return nothing.
 * So the engine never calls it, and builds the leaf from getPeerCertificate(true).raw instead.
 */
export function peerCertificates(tls: TLSSocket): PeerCertificates {
  let found = peerCache.get(tls);
  if (found === undefined) {
    const detailed = tls.getPeerCertificate(true) as DetailedPeerCertificate | undefined;
    found = detailed?.raw === undefined ? {} : { detailed, leaf: new X509Certificate(detailed.raw) };
    peerCache.set(tls, found);
  }
  return found;
}
