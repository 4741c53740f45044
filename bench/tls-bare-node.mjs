// A tunnel pair in bare Node (no oedns code, no DNS, no DANE), for bench/tls.mjs: the ceiling
// that Node's own TLS and streams reach on this machine, with the same relay shape as oedns
// (plaintext in, TLS out; TLS in, plaintext out; stream.pipeline both ways, TCP_NODELAY on every
// leg) and Node's default TLS settings.
//
//   node bench/tls-bare-node.mjs client LISTEN_PORT TLS_PORT SERVERNAME
//   node bench/tls-bare-node.mjs server LISTEN_PORT FORWARD_PORT CERT KEY
import { readFileSync } from 'node:fs';
import { connect as netConnect, createServer as netServer } from 'node:net';
import { pipeline } from 'node:stream';
import { connect as tlsConnect, createServer as tlsServer } from 'node:tls';

const HOST = '127.0.0.1';
const [mode, listenPort, targetPort, ...rest] = process.argv.slice(2);

function join(a, b) {
  const close = () => { a.destroy(); b.destroy(); };
  pipeline(a, b, (error) => { if (error) close(); });
  pipeline(b, a, (error) => { if (error) close(); });
}

if (mode === 'client') {
  const [servername] = rest;
  netServer({ noDelay: true }, (plain) => {
    const tls = tlsConnect({ host: HOST, port: Number(targetPort), servername, rejectUnauthorized: false });
    tls.setNoDelay(true);
    tls.once('secureConnect', () => join(plain, tls));
    tls.on('error', () => plain.destroy());
    plain.on('error', () => tls.destroy());
  }).listen(Number(listenPort), HOST);
} else if (mode === 'server') {
  const [cert, key] = rest;
  tlsServer({ cert: readFileSync(cert), key: readFileSync(key), noDelay: true }, (tls) => {
    const plain = netConnect({ host: HOST, port: Number(targetPort), noDelay: true });
    plain.once('connect', () => join(tls, plain));
    plain.on('error', () => tls.destroy());
    tls.on('error', () => plain.destroy());
  }).listen(Number(listenPort), HOST);
} else {
  process.stderr.write('usage: tls-bare-node.mjs client|server LISTEN_PORT TARGET_PORT ...\n');
  process.exit(2);
}
process.on('SIGTERM', () => process.exit(0));
