/**
 * A port on loopback that is free for both UDP and TCP, for servers the tests start (DNS uses
 * both transports on one port). The kernel picks a free TCP port; we keep it bound while we try
 * the same number over UDP, then release both. Another process may still take it before our
 * server binds it, so callers that can retry on "address in use" should.
 */
import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';

/** TCP ports tried before giving up; a clash on UDP is rare, many in a row means something is wrong. */
const MAX_ATTEMPTS = 20;

export async function freePort(address = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const tcp = await listenTcp(address);
    const port = tcpPort(tcp);
    const udpFree = await udpBindable(address, port);
    await closeTcp(tcp);
    if (udpFree) return port;
  }
  throw new Error(`no port on ${address} was free for both UDP and TCP after ${MAX_ATTEMPTS} attempts`);
}

function listenTcp(address: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: address, port: 0, exclusive: true }, () => resolve(server));
  });
}

function tcpPort(server: Server): number {
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('TCP server has no port');
  return bound.port;
}

function closeTcp(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

function udpBindable(address: string, port: number): Promise<boolean> {
  const type = address.includes(':') ? 'udp6' : 'udp4';
  return new Promise((resolve) => {
    const socket = createSocket({ type, reuseAddr: false });
    socket.once('error', () => {
      // A socket whose bind failed may already be closed; close() then throws, which is fine.
      try {
        socket.close();
      } catch {
        // nothing left to release
      }
      resolve(false);
    });
    socket.bind({ address, port, exclusive: true }, () => socket.close(() => resolve(true)));
  });
}
