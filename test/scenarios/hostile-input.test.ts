/**
 * Nothing a client sends may crash or stall oedns: each malformed packet gets the right answer
 * (nothing, FORMERR, NOTIMP, BADVERS) and a normal query still works afterwards.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthServer, type AuthServer } from '../support/bind-lab.js';
import { frame, queryMessage, question, startOedns, tcpExchange, udpExchange, udpQuery, type Harness } from '../support/oedns-harness.js';
import { decodeMessage, encodeMessage, readHeader, Rcode } from '../../src/wire/index.js';

let auth: AuthServer;
let h: Harness;

beforeAll(async () => {
  auth = await startAuthServer({ zones: [{ origin: 'example.test.', records: ['www 300 IN A 192.0.2.10'] }] });
  h = await startOedns({ upstream: [`${auth.address}:${auth.port}`], 'tcp-idle-timeout-ms': 400 });
});

afterAll(async () => {
  await h?.stop();
  await auth?.stop();
});

/** A header (ID 0xbeef, given flags and counts) followed by `body`. */
function packet(flags: number, counts: [number, number, number, number], body: number[]): Uint8Array {
  const [qd, an, ns, ar] = counts;
  return Uint8Array.from([0xbe, 0xef, flags >> 8, flags & 0xff, 0, qd, 0, an, 0, ns, 0, ar, ...body]);
}

const wwwQuestion = [3, 0x77, 0x77, 0x77, 7, ...Buffer.from('example'), 4, ...Buffer.from('test'), 0, 0, 1, 0, 1];

async function rcodeOf(bytes: Uint8Array): Promise<number | undefined> {
  const reply = await udpExchange(h.port, bytes, 1500);
  return reply ? readHeader(reply).rcode : undefined;
}

async function stillServes(): Promise<void> {
  const m = await udpQuery(h.port, queryMessage(7, question('www.example.test.', 1)));
  expect(m.rcode).toBe(Rcode.NoError);
  expect(m.answers).toHaveLength(1);
}

describe('malformed queries', () => {
  it('drops a packet too short for a header', async () => {
    expect(await udpExchange(h.port, Uint8Array.from([1, 2, 3, 4, 5]), 400)).toBeUndefined();
    await stillServes();
  });

  it('drops a response sent to the query port (QR=1)', async () => {
    expect(await udpExchange(h.port, packet(0x8100, [1, 0, 0, 0], wwwQuestion), 400)).toBeUndefined();
  });

  it('answers FORMERR to a header whose body is missing, keeping the ID', async () => {
    const reply = await udpExchange(h.port, packet(0x0100, [1, 0, 0, 0], []));
    expect(reply).toBeDefined();
    const header = readHeader(reply!);
    expect(header.id).toBe(0xbeef);
    expect(header.qr).toBe(true);
    expect(header.rcode).toBe(Rcode.FormErr);
  });

  it('answers FORMERR to a compression loop in the question name', async () => {
    // The name at offset 12 is a pointer to itself.
    expect(await rcodeOf(packet(0x0100, [1, 0, 0, 0], [0xc0, 12, 0, 1, 0, 1]))).toBe(Rcode.FormErr);
    // Two labels then a pointer back to the first: a loop through earlier data.
    expect(await rcodeOf(packet(0x0100, [1, 0, 0, 0], [1, 0x61, 0xc0, 12, 0, 1, 0, 1]))).toBe(Rcode.FormErr);
  });

  it('answers FORMERR to counts that do not match the data', async () => {
    expect(await rcodeOf(packet(0x0100, [1, 5, 0, 0], wwwQuestion))).toBe(Rcode.FormErr);
    expect(await rcodeOf(packet(0x0100, [0, 0, 0, 0], wwwQuestion))).toBe(Rcode.FormErr);
    expect(await rcodeOf(packet(0x0100, [2, 0, 0, 0], [...wwwQuestion, ...wwwQuestion]))).toBe(Rcode.FormErr);
  });

  it('answers FORMERR to an oversize name and to an over-long label', async () => {
    const longName = Array.from({ length: 5 }, () => [60, ...new Array<number>(60).fill(0x61)]).flat();
    expect(await rcodeOf(packet(0x0100, [1, 0, 0, 0], [...longName, 0, 0, 1, 0, 1]))).toBe(Rcode.FormErr);
    expect(await rcodeOf(packet(0x0100, [1, 0, 0, 0], [64, ...new Array<number>(64).fill(0x61), 0, 0, 1, 0, 1]))).toBe(Rcode.FormErr);
  });

  it('answers NOTIMP to opcodes other than QUERY (STATUS, NOTIFY, UPDATE)', async () => {
    for (const opcode of [2, 4, 5]) {
      expect(await rcodeOf(packet(opcode << 11, [1, 0, 0, 0], wwwQuestion))).toBe(Rcode.NotImp);
    }
  });

  it('answers BADVERS to EDNS version 1 (RFC 6891 §6.1.3)', async () => {
    const opt = [0, 0, 41, 0x04, 0xd0, 0, 1, 0, 0, 0, 0];
    const reply = await udpExchange(h.port, packet(0x0100, [1, 0, 0, 1], [...wwwQuestion, ...opt]));
    expect(decodeMessage(reply!).rcode).toBe(Rcode.BadVers);
  });

  it('answers REFUSED to a zone transfer request', async () => {
    const axfr = encodeMessage(queryMessage(9, question('example.test.', 252)));
    expect(await rcodeOf(axfr)).toBe(Rcode.Refused);
  });

  it('keeps serving after a burst of garbage', async () => {
    for (let i = 0; i < 200; i++) {
      const junk = Uint8Array.from({ length: 12 + (i % 40) }, (_, j) => (i * 31 + j * 17) & 0xff);
      junk[2] = junk[2]! & 0x7f;
      await udpExchange(h.port, junk, 5);
    }
    await stillServes();
    expect(h.logs.lines.some((l) => l.msg === 'FORMERR: malformed query')).toBe(true);
  });
});

describe('TCP clients', () => {
  it('answers several queries sent at once on one connection', async () => {
    const payload = Buffer.concat([1, 2, 3].map((id) => Buffer.from(frame(encodeMessage(queryMessage(id, question('www.example.test.', 1)))))));
    const { replies } = await tcpExchange(h.port, payload, 3);
    expect(replies.map((r) => decodeMessage(r).id).sort()).toEqual([1, 2, 3]);
  });

  it('answers FORMERR to a garbage frame and goes on serving the connection', async () => {
    const garbage = frame(Uint8Array.from([0, 5, 1, 0, 0, 1, 0, 9, 0, 0, 0, 0, 0xff]));
    const good = frame(encodeMessage(queryMessage(6, question('www.example.test.', 1))));
    const { replies } = await tcpExchange(h.port, Buffer.concat([Buffer.from(garbage), Buffer.from(good)]), 2);
    expect(replies.map((r) => decodeMessage(r).rcode)).toEqual([Rcode.FormErr, Rcode.NoError]);
  });

  it('closes a connection that trickles a message a byte at a time', async () => {
    const closed = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: h.port });
      const bytes = frame(encodeMessage(queryMessage(8, question('www.example.test.', 1))));
      let sent = 0;
      const timer = setInterval(() => {
        if (sent < bytes.length - 1) socket.write(bytes.subarray(sent, ++sent));
      }, 100);
      socket.on('close', () => {
        clearInterval(timer);
        resolve(true);
      });
      socket.on('error', () => undefined);
      setTimeout(() => {
        clearInterval(timer);
        socket.destroy();
        resolve(false);
      }, 2500);
    });
    // 400 ms idle timeout, a byte every 100 ms: only the per-message deadline can close it.
    expect(closed).toBe(true);
  });

  it('closes an idle connection, also one that sent half a message', async () => {
    const idle = await tcpExchange(h.port, new Uint8Array(0), 1, 2000);
    expect(idle.closed).toBe(true);
    const half = await tcpExchange(h.port, Uint8Array.from([0, 40, 1, 2, 3]), 1, 2000);
    expect(half.closed).toBe(true);
    expect(half.replies).toHaveLength(0);
    await stillServes();
  });
});
