import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { opensTlsRecord, Relay } from './relay.js';

/** Two connected TCP socket pairs: [app side (ours), app side (theirs)], [peer side (ours), peer side (theirs)]. */
const servers: Server[] = [];
async function pair(): Promise<[Socket, Socket]> {
  const accepted = new Promise<Socket>((resolve) => {
    const server = createServer({ allowHalfOpen: true }, resolve);
    servers.push(server);
    server.listen(0, '127.0.0.1');
  });
  await new Promise((resolve) => servers.at(-1)!.once('listening', resolve));
  const address = servers.at(-1)!.address() as { port: number };
  const client = connect({ port: address.port, host: '127.0.0.1', allowHalfOpen: true });
  return [await accepted, client];
}

afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

const next = (socket: Socket): Promise<string> => new Promise((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))));
const clientHello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]);

describe('Relay', () => {
  it('relays both ways and passes a half-close on', async () => {
    const [app, appEnd] = await pair();
    const [peer, peerEnd] = await pair();
    let closed = false;
    new Relay(app, peer, { onClosed: () => (closed = true) });
    appEnd.write('to peer');
    expect(await next(peerEnd)).toBe('to peer');
    peerEnd.write('to app');
    expect(await next(appEnd)).toBe('to app');
    appEnd.end();
    await new Promise((resolve) => peerEnd.once('end', resolve));
    peerEnd.end();
    await new Promise((resolve) => appEnd.once('close', resolve));
    while (!closed) await new Promise((resolve) => setTimeout(resolve, 5));
  });

  it('holds a TLS record from the peer for the handshake, and gives it back on detach', async () => {
    const [app, appEnd] = await pair();
    const [peer, peerEnd] = await pair();
    const relay = new Relay(app, peer, { holdTls: true, onClosed: () => undefined });
    peerEnd.write('STARTTLS\r\n');
    expect(await next(appEnd)).toBe('STARTTLS\r\n');
    let leaked = '';
    appEnd.on('data', (chunk: Buffer) => (leaked += chunk.toString('latin1')));
    peerEnd.write(clientHello);
    while (relay.heldBytes < clientHello.length) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(relay.detach().equals(clientHello)).toBe(true);
    expect(leaked).toBe('');
    for (const socket of [app, appEnd, peer, peerEnd]) socket.destroy();
  });

  it('forwards held bytes when no upgrade comes', async () => {
    const [app, appEnd] = await pair();
    const [peer, peerEnd] = await pair();
    const relay = new Relay(app, peer, { holdTls: true, onClosed: () => undefined });
    peerEnd.write(clientHello);
    while (relay.heldBytes === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const received = next(appEnd);
    relay.releaseHeld();
    expect(Buffer.from(await received, 'latin1').equals(clientHello)).toBe(true);
    for (const socket of [app, appEnd, peer, peerEnd]) socket.destroy();
  });

  it('knows a TLS handshake record from text', () => {
    expect(opensTlsRecord(clientHello)).toBe(true);
    expect(opensTlsRecord(Buffer.from('EHLO x\r\n'))).toBe(false);
    expect(opensTlsRecord(Buffer.from([0x16, 0x03, 0x05]))).toBe(false);
    expect(opensTlsRecord(Buffer.from([0x16, 0x03]))).toBe(false);
  });
});
