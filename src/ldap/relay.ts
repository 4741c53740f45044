/**
 * Runs ldapts over a TLS session oedns made and checked itself. ldapts opens its own socket
 * (`net.connect(port, host)` for ldap://, `tls.connect` for ldaps://) and takes no socket from
 * its caller, and its TLS options could only ask OpenSSL for a PKIX check, not for our DANE check.
 * So the DANE-checked TLSSocket is offered to it on loopback: a listener on 127.0.0.1, port 0
 * (the kernel's choice), that accepts exactly one connection, stops listening at once, and pipes
 * that connection into the TLS session; ldapts connects to `ldap://127.0.0.1:<port>`.
 *
 * What another local process could do: connect first, in the instant between listen and
 * ldapts' connect. It would then only talk to the public key server through our session (what it
 * could do directly, anonymously, from the same host), and ldapts would be refused, so the check
 * fails LDAP_FAILED: a denial of service, never a false accept. What it could not do: answer
 * ldapts, because the port is ours while it is open, and nothing of our TLS session's trust
 * decision is taken over loopback (the socket behind the relay was authenticated before the relay
 * opened). Reading loopback traffic needs root, which could read our memory anyway.
 */
import { createServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

const LOOPBACK = '127.0.0.1';

export interface LoopbackRelay {
  /** `ldap://127.0.0.1:<port>`: plaintext to here is the TLS session's plaintext. */
  readonly url: string;
  /** Stops listening and destroys both sides; idempotent. */
  close(): void;
}

/** Opens the one-connection relay in front of `upstream` (a connected, checked TLSSocket). */
export async function openLoopbackRelay(upstream: Duplex, signal: AbortSignal): Promise<LoopbackRelay> {
  signal.throwIfAborted();
  const server = createServer();
  let accepted: Socket | undefined;
  const close = (): void => {
    signal.removeEventListener('abort', close);
    server.close();
    accepted?.destroy();
    upstream.destroy();
  };
  server.on('connection', (socket) => {
    if (accepted !== undefined) {
      socket.destroy();
      return;
    }
    accepted = socket;
    // One connection only: from here nobody else can connect to this port.
    server.close();
    socket.pipe(upstream);
    upstream.pipe(socket);
    for (const side of [socket, upstream]) {
      side.on('error', close);
      side.on('close', close);
    }
  });
  signal.addEventListener('abort', close, { once: true });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => {
        const bound = server.address();
        if (bound === null || typeof bound === 'string') reject(new Error('relay listener has no port'));
        else resolve(bound.port);
      });
    });
    return { url: `ldap://${LOOPBACK}:${port}`, close };
  } catch (error) {
    close();
    throw error;
  }
}
