/** The TlsSession the front ends report, read off an established and authenticated socket. */
import type { TLSSocket } from 'node:tls';
import { peerCertificates } from './peer-identity.js';
import type { AuthMethod, TlsSession } from './session.js';

export interface SessionFacts {
  readonly method: AuthMethod;
  readonly identity: string;
  readonly dane?: TlsSession['dane'];
  readonly dnssec: TlsSession['dnssec'];
  readonly serverName?: string | undefined;
}

export function makeSession(tls: TLSSocket, facts: SessionFacts): TlsSession {
  const cipher = tls.getCipher();
  return {
    socket: tls,
    identity: facts.identity,
    method: facts.method,
    dane: facts.dane,
    dnssec: facts.dnssec,
    protocol: tls.getProtocol() ?? 'unknown',
    // standardName is the IANA name (TLS_AES_256_GCM_SHA384); OpenSSL's own name where there is none.
    cipher: cipher.standardName ?? cipher.name,
    peerAddress: tls.remoteAddress ?? '',
    peerPort: tls.remotePort ?? 0,
    peerCertificate: peerCertificates(tls).leaf,
    serverName: facts.serverName,
  };
}
