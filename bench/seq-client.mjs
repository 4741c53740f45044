// Asks a DNS server the names of a query file one at a time (one query in flight) over UDP and
// prints per-query latency figures as one JSON object, with the fields parse-dnsperf.mjs prints.
//
//   node seq-client.mjs --port PORT --queries FILE [--server 127.0.0.1] [--raw FILE]
//                       [--timeout-ms 5000] [--no-do] [--warm-up 'test. SOA']
//
// Why not `dnsperf -q 1`: dnsperf 2.10 with one query outstanding sometimes paces itself to about
// 20 queries/s when answers take more than about a millisecond, and the idle gaps between queries
// change what is measured (timers, caches and CPU frequency go cold between lookups). Here the next
// query leaves as soon as the previous answer (or its timeout) is in.
//
// Each query is what `dnsperf -D` sends: RD, and an EDNS OPT record with a 4096-byte UDP payload
// and DO set (--no-do leaves out the OPT record, as plain dnsperf does). With DO, a validating
// resolver sets AD on a secure answer (RFC 6840 §5.8), so every measured answer is also a check.
// Latency is process.hrtime.bigint() from just before send() to the first line of the 'message'
// handler. A query without an answer within --timeout-ms counts as lost and has no latency.
// --warm-up asks one name 20 times before measuring, unrecorded, so that this client's own first
// sends and receives (lazy compilation, first socket use) do not land in the figures; ask a name the
// server already has (the benchmark uses test. SOA, its readiness probe), or the lookups it
// measures stop being the first of their zone.
//
// --raw writes one line per query, like dnsperf -v: "> NOERROR www.z0001.test. A 0.000339 ad"
// (latency in seconds, then the flags that matter here), or "> LOST www.z0001.test. A".
import dgram from 'node:dgram';
import { readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';

/** RFC 1035 §3.2.2, RFC 3596, RFC 4034: the query types a benchmark query file uses. */
const QType = { A: 1, NS: 2, SOA: 6, MX: 15, TXT: 16, AAAA: 28, DS: 43, DNSKEY: 48 };
/** RFC 1035 §4.1.1, RFC 2136 §2.2: header RCODE names, as dnsperf prints them. */
const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
/** RFC 1035 §4.1.1 header flag bits (second 16-bit word). */
const Flag = { QR: 0x8000, TC: 0x0200, RD: 0x0100, AD: 0x0020 };
/** RFC 6891 §6.1.2: OPT pseudo-record type, and the DO bit in its TTL field (RFC 3225 §3). */
const OPT_TYPE = 41;
const DO_BIT = 0x8000;
/** What dnsperf -D advertises. */
const EDNS_UDP_PAYLOAD_BYTES = 4096;
const HEADER_BYTES = 12;
const CLIENT_WARM_UP_QUERIES = 20;

const { values: args } = parseArgs({
  options: {
    server: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    queries: { type: 'string' },
    raw: { type: 'string' },
    'timeout-ms': { type: 'string', default: '5000' },
    'no-do': { type: 'boolean', default: false },
    'warm-up': { type: 'string' },
  },
});
const port = Number(args.port);
const timeoutMs = Number(args['timeout-ms']);
const dnssecOk = !args['no-do'];
if (args.queries === undefined || !Number.isInteger(port) || port < 1 || port > 65535 || !(timeoutMs > 0)) {
  throw new Error('usage: seq-client.mjs --port PORT --queries FILE [--server ADDR] [--raw FILE] [--timeout-ms MS] [--no-do] [--warm-up "NAME TYPE"]');
}
// The benchmarks never leave the machine; refuse anything but IPv4 loopback.
if (isIP(args.server) !== 4 || !args.server.startsWith('127.')) throw new Error(`--server must be a 127/8 address, got ${args.server}`);

const questions = (await readFile(args.queries, 'utf8'))
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith(';'))
  .map(parseQuestion);

const socket = dgram.createSocket('udp4');
await new Promise((resolve, reject) => {
  socket.once('error', reject);
  socket.connect(port, args.server, resolve);
});
// An error on the socket (ECONNREFUSED: nothing listens on the port) means the server is gone;
// waiting out every query's timeout would only hide that.
socket.on('error', (err) => {
  process.stderr.write(`seq-client: ${err.message}\n`);
  process.exit(1);
});
// A connected UDP socket only receives datagrams from the server it is connected to.
let pending = null;
socket.on('message', (message) => {
  const receivedNs = process.hrtime.bigint();
  if (pending === null || !isAnswerTo(message, pending.id, pending.question)) return; // late answer to a lost query, or junk
  const done = pending;
  pending = null;
  clearTimeout(done.timer);
  done.resolve({ latencyNs: receivedNs - done.sentNs, message });
});

let nextId = Math.floor(Math.random() * 0x10000);

if (args['warm-up'] !== undefined) {
  const question = parseQuestion(args['warm-up']);
  for (let i = 0; i < CLIENT_WARM_UP_QUERIES; i++) await ask(question);
}

const latenciesNs = [];
const rcodes = {};
const rawLines = [];
let answersWithAd = 0;
let answersTruncated = 0;
let lost = 0;
const startNs = process.hrtime.bigint();
for (const question of questions) {
  const answer = await ask(question);
  if (answer === null) {
    lost++;
    rawLines.push(`> LOST ${question.text}`);
    continue;
  }
  const flags = answer.message.readUInt16BE(2);
  const rcode = RCODE_NAMES[flags & 0x000f] ?? `RCODE${flags & 0x000f}`;
  rcodes[rcode] = (rcodes[rcode] ?? 0) + 1;
  latenciesNs.push(answer.latencyNs);
  if (flags & Flag.AD) answersWithAd++;
  if (flags & Flag.TC) answersTruncated++;
  const flagText = [flags & Flag.AD ? 'ad' : '', flags & Flag.TC ? 'tc' : ''].filter(Boolean).join(' ');
  rawLines.push(`> ${rcode} ${question.text} ${(Number(answer.latencyNs) / 1e9).toFixed(6)}${flagText ? ` ${flagText}` : ''}`);
}
const runSeconds = Number(process.hrtime.bigint() - startNs) / 1e9;
socket.close();

if (args.raw !== undefined) await writeFile(args.raw, `${rawLines.join('\n')}\n`);
process.stdout.write(`${JSON.stringify(summarize(runSeconds))}\n`);

/** "www.z0001.test. A" → the wire question (RFC 1035 §4.1.2) and the text, for the raw lines. */
function parseQuestion(line) {
  const [name, type = 'A'] = line.split(/\s+/);
  const qtype = QType[type.toUpperCase()];
  if (qtype === undefined) throw new Error(`unsupported query type in "${line}"`);
  const labels = name.replace(/\.$/, '').split('.').filter((label) => label !== '');
  const parts = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'ascii');
    if (bytes.length > 63) throw new Error(`label longer than 63 bytes in "${line}"`);
    parts.push(Buffer.of(bytes.length), bytes);
  }
  parts.push(Buffer.of(0), Buffer.of(qtype >> 8, qtype & 0xff, 0, 1)); // QCLASS IN
  return { text: `${name} ${type.toUpperCase()}`, wire: Buffer.concat(parts) };
}

/** Header (RD, one question, one additional record with DO), question, and the OPT record. */
function encodeQuery(id, question) {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(Flag.RD, 2);
  header.writeUInt16BE(1, 4); // QDCOUNT
  if (!dnssecOk) return Buffer.concat([header, question.wire]);
  header.writeUInt16BE(1, 10); // ARCOUNT
  const opt = Buffer.alloc(11); // root owner name (0), type, class = payload size, TTL, RDLENGTH 0
  opt.writeUInt16BE(OPT_TYPE, 1);
  opt.writeUInt16BE(EDNS_UDP_PAYLOAD_BYTES, 3);
  opt.writeUInt16BE(DO_BIT, 7); // extended RCODE 0, version 0, then the flags: DO
  return Buffer.concat([header, question.wire, opt]);
}

/** Same ID, QR set, one question, and the question asked (RFC 1035 §4.1.1; names without case, §2.3.3). */
function isAnswerTo(message, id, question) {
  const asked = question.wire;
  if (message.length < HEADER_BYTES + asked.length) return false;
  if (message.readUInt16BE(0) !== id || !(message.readUInt16BE(2) & Flag.QR) || message.readUInt16BE(4) !== 1) return false;
  const typeAndClassAt = asked.length - 4;
  for (let i = 0; i < asked.length; i++) {
    const got = message[HEADER_BYTES + i];
    // Label length bytes are at most 63, below 'A', so folding the name part leaves them alone.
    if (i < typeAndClassAt ? foldAscii(got) !== foldAscii(asked[i]) : got !== asked[i]) return false;
  }
  return true;
}

function foldAscii(byte) {
  return byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
}

/** Sends one query; resolves with the latency and the answer, or null after timeoutMs. */
function ask(question) {
  const id = nextId;
  nextId = (nextId + 1) & 0xffff;
  const query = encodeQuery(id, question);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      pending = null;
      resolve(null);
    }, timeoutMs);
    pending = { id, question, timer, resolve, sentNs: process.hrtime.bigint() };
    socket.send(query);
  });
}

/** The fields of parse-dnsperf.mjs (nearest-rank percentiles, as there), plus AD and TC counts. */
function summarize(seconds) {
  const completed = latenciesNs.length;
  const sortedMs = latenciesNs.map((ns) => Number(ns) / 1e6).sort((a, b) => a - b);
  const percentileMs = (p) => (completed === 0 ? null : sortedMs[Math.max(0, Math.ceil((p / 100) * completed) - 1)]);
  const round = (value, digits) => (value === null || value === undefined ? null : Number(value.toFixed(digits)));
  const sumMs = sortedMs.reduce((sum, ms) => sum + ms, 0);
  const codes = Object.entries(rcodes).map(([code, n]) => `${code} ${n} (${((100 * n) / completed).toFixed(2)}%)`);
  return {
    sent: questions.length,
    completed,
    lost,
    runSeconds: round(seconds, 3),
    qps: round(seconds > 0 ? completed / seconds : null, 1),
    avgMs: round(completed === 0 ? null : sumMs / completed, 3),
    p50Ms: round(percentileMs(50), 3),
    p90Ms: round(percentileMs(90), 3),
    p99Ms: round(percentileMs(99), 3),
    maxMs: round(completed === 0 ? null : sortedMs[completed - 1], 3),
    rcodes,
    responseCodesLine: `Response codes:       ${codes.join(', ')}`,
    dnssecOk,
    answersWithAd,
    answersTruncated,
  };
}
