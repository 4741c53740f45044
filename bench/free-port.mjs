// Prints N distinct ports on 127.0.0.1 that are free for both UDP and TCP (DNS uses both on one
// port), like test/support/free-port.ts. All sockets stay bound until every port is chosen, so
// the ports differ; another process may still take one before the server binds it.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const ADDRESS = '127.0.0.1';
const MAX_ATTEMPTS = 50;
const wanted = Number(process.argv[2] ?? '1');

const listenTcp = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: ADDRESS, port: 0, exclusive: true }, () => resolve(server));
  });

const bindUdp = (port) =>
  new Promise((resolve) => {
    const socket = createSocket({ type: 'udp4', reuseAddr: false });
    socket.once('error', () => resolve(undefined));
    socket.bind({ address: ADDRESS, port, exclusive: true }, () => resolve(socket));
  });

const held = [];
const ports = [];
for (let attempt = 0; ports.length < wanted; attempt++) {
  if (attempt >= MAX_ATTEMPTS) throw new Error(`only ${ports.length} of ${wanted} ports free on ${ADDRESS}`);
  const tcp = await listenTcp();
  held.push(tcp);
  const port = tcp.address().port;
  const udp = await bindUdp(port);
  if (udp === undefined) continue;
  held.push(udp);
  ports.push(port);
}
for (const socket of held) socket.close();
process.stdout.write(`${ports.join(' ')}\n`);
