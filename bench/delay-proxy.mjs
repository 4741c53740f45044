// A UDP DNS relay that adds round-trip time: every query is passed on to the upstream server at
// once, and every reply is held for --delay-ms before it goes back to the client. A one-way delay
// on the reply adds that much to each round trip, as a resolver a network away would.
//
//   node delay-proxy.mjs --port PORT --upstream-port PORT --delay-ms MS
//                        [--address 127.0.0.1] [--upstream-address 127.0.0.1]
//
// keys.sh runs it between both oedns and named, validate.sh between oedns and Unbound and named,
// when BENCH_UPSTREAM_DELAY_MS > 0 (see README.md): on loopback named answers in about 20 µs, so
// without it nothing hides behind a round trip, and round trips waited for one after the other
// cost next to nothing.
//
// UDP only. oedns asks upstream with a 1232-byte EDNS buffer (Unbound 1.17's default is the same)
// and retries over TCP only after a truncated (TC) answer; both scripts check named's TruncatedResp
// counter, and in their labs (every algorithm keys-lab.sh and validate-lab.sh offer, RSA keys of
// 2048 bits) no answer is that large. A truncated reply is still relayed, and counted.
//
// One socket faces the clients, one (connected) faces the upstream server. oedns sends each query
// from a fresh socket, so client flows are many and short; instead of a socket per flow, each
// query gets a proxy ID (free 16-bit values, handed out in turn) in place of its own, and the
// reply's ID is put back before it is sent to the client's address and port. A query without a
// reply is forgotten after FORGET_MS.
//
// Addresses: 127/8 only (the benchmarks never leave the machine). Nothing is printed per packet;
// on SIGTERM or SIGINT it closes its sockets, prints one JSON line of counts and of the time the
// replies were actually held (at least --delay-ms; more when the event loop is late, since timers
// have millisecond granularity and the proxy shares the cores), and exits 0.
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';

const HEADER_BYTES = 12;
/** RFC 1035 §4.1.1: TC, in the second 16-bit word of the header. */
const TC_BIT = 0x0200;
const ID_SPACE = 0x10000;
const FORGET_MS = 10_000;
const SWEEP_MS = 5_000;

const { values: args } = parseArgs({
  options: {
    address: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    'upstream-address': { type: 'string', default: '127.0.0.1' },
    'upstream-port': { type: 'string' },
    'delay-ms': { type: 'string' },
  },
});
const port = Number(args.port);
const upstreamPort = Number(args['upstream-port']);
const delayMs = Number(args['delay-ms']);
const validPort = (p) => Number.isInteger(p) && p >= 1 && p <= 65535;
if (!validPort(port) || !validPort(upstreamPort) || !Number.isInteger(delayMs) || delayMs < 0) {
  throw new Error('usage: delay-proxy.mjs --port PORT --upstream-port PORT --delay-ms MS [--address 127.0.0.1] [--upstream-address 127.0.0.1]');
}
const loopback = (address) => isIP(address) === 4 && address.startsWith('127.');
for (const option of ['address', 'upstream-address']) {
  if (!loopback(args[option])) throw new Error(`--${option} must be a 127/8 address, got ${args[option]}`);
}

const counts = { queries: 0, replies: 0, truncated: 0, forgotten: 0, refused: 0, malformed: 0, stray: 0, full: 0, errors: 0 };
const hold = { count: 0, sumMs: 0, minMs: Infinity, maxMs: 0 };

/** Proxy ID → the query's client and its own ID. */
const pending = new Map();
let nextId = 0;

const front = dgram.createSocket('udp4');
const back = dgram.createSocket('udp4');
// Send errors (a client gone, a full buffer) and ICMP errors on the connected upstream socket:
// counted, never fatal; the client's own timeout deals with the lost query.
front.on('error', () => counts.errors++);
back.on('error', () => counts.errors++);

front.on('message', (query, client) => {
  if (!loopback(client.address)) {
    counts.refused++;
    return;
  }
  if (query.length < HEADER_BYTES) {
    counts.malformed++;
    return;
  }
  if (pending.size >= ID_SPACE) {
    counts.full++;
    return;
  }
  while (pending.has(nextId)) nextId = (nextId + 1) % ID_SPACE;
  const id = nextId;
  nextId = (nextId + 1) % ID_SPACE;
  pending.set(id, { address: client.address, port: client.port, id: query.readUInt16BE(0), at: Date.now() });
  query.writeUInt16BE(id, 0);
  counts.queries++;
  back.send(query);
});

back.on('message', (reply) => {
  if (reply.length < HEADER_BYTES) {
    counts.malformed++;
    return;
  }
  const proxyId = reply.readUInt16BE(0);
  const entry = pending.get(proxyId);
  if (entry === undefined) {
    counts.stray++;
    return;
  }
  pending.delete(proxyId);
  reply.writeUInt16BE(entry.id, 0);
  counts.replies++;
  if (reply.readUInt16BE(2) & TC_BIT) counts.truncated++;
  if (delayMs === 0) {
    front.send(reply, entry.port, entry.address);
    return;
  }
  const heldFrom = process.hrtime.bigint();
  // A Node timer counts from the event loop's cached millisecond clock, so it can fire up to about
  // a millisecond early; such a reply waits the rest of its delay again, so none is held less.
  const release = () => {
    const ms = Number(process.hrtime.bigint() - heldFrom) / 1e6;
    if (ms < delayMs) {
      setTimeout(release, Math.ceil(delayMs - ms));
      return;
    }
    front.send(reply, entry.port, entry.address);
    hold.count++;
    hold.sumMs += ms;
    if (ms < hold.minMs) hold.minMs = ms;
    if (ms > hold.maxMs) hold.maxMs = ms;
  };
  setTimeout(release, delayMs);
});

const sweep = setInterval(() => {
  const before = Date.now() - FORGET_MS;
  for (const [id, entry] of pending) {
    if (entry.at < before) {
      pending.delete(id);
      counts.forgotten++;
    }
  }
}, SWEEP_MS);
sweep.unref();

const bind = (socket, options) =>
  new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options, () => {
      socket.off('error', reject);
      resolve();
    });
  });
await bind(front, { address: args.address, port, exclusive: true });
await bind(back, { address: args.address, port: 0, exclusive: true });
// Connected: the kernel drops datagrams from anyone but the upstream server.
await new Promise((resolve) => back.connect(upstreamPort, args['upstream-address'], resolve));

const stop = () => {
  front.close();
  back.close();
  const round3 = (ms) => Number(ms.toFixed(3));
  const summary = {
    delayMs,
    ...counts,
    inFlight: pending.size,
    heldMeanMs: hold.count === 0 ? null : round3(hold.sumMs / hold.count),
    heldMinMs: hold.count === 0 ? null : round3(hold.minMs),
    heldMaxMs: hold.count === 0 ? null : round3(hold.maxMs),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
