/**
 * Traffic that hits a policy the xfrm backend installed makes the kernel send an ACQUIRE (what an
 * IKE daemon negotiates on), seen with `ip -n NS xfrm monitor acquire`. The namespace, with a
 * veth pair whose far end has no address, is created here and deleted in afterAll. No SA exists,
 * so the packets themselves are dropped; only the ACQUIRE is asserted. Needs root.
 */
import { randomBytes } from 'node:crypto';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicySpec } from '../backend.js';
import { XfrmBackend } from './xfrm-backend.js';

const NS = `oedns-test-${randomBytes(4).toString('hex')}`;
const canRun = process.getuid?.() === 0;
const ACQUIRE_WAIT_MS = 5_000;

/** Sends one UDP datagram from inside the namespace; send errors (no SA yet) are expected. */
async function sendUdp(family: 4 | 6, address: string): Promise<void> {
  const script = `const s=require('dgram').createSocket('udp${family}');s.send('x',9,${JSON.stringify(address)},()=>s.close())`;
  await execa('ip', ['netns', 'exec', NS, process.execPath, '-e', script], { reject: false, timeout: ACQUIRE_WAIT_MS });
}

/** Starts the monitor, sends until it reports an ACQUIRE naming `address` or time runs out. */
async function acquireFor(family: 4 | 6, address: string): Promise<string> {
  const monitor: ResultPromise = execa('ip', ['-n', NS, 'xfrm', 'monitor', 'acquire'], { reject: false, buffer: false });
  let seen = '';
  monitor.stdout?.on('data', (chunk: Buffer) => { seen += chunk.toString(); });
  const done = new RegExp(`acquire proto esp[\\s\\S]*dst ${address.replaceAll('.', '\\.')}/`);
  try {
    const deadline = Date.now() + ACQUIRE_WAIT_MS;
    // The monitor subscribes a moment after it starts: resend until it has seen one or time is up.
    while (!done.test(seen) && Date.now() < deadline) {
      await sendUdp(family, address);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return seen;
  } finally {
    monitor.kill('SIGTERM');
    await monitor;
  }
}

describe.skipIf(!canRun)('xfrm backend: ACQUIRE on traffic (ip xfrm monitor)', () => {
  const backend = new XfrmBackend({ netns: NS });

  beforeAll(async () => {
    await execa('ip', ['netns', 'add', NS]);
    const ip = (...args: string[]) => execa('ip', ['-n', NS, ...args]);
    await ip('link', 'set', 'lo', 'up');
    await ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    await ip('addr', 'add', '10.96.0.1/24', 'dev', 'v0');
    await ip('addr', 'add', 'fd00:96::1/64', 'dev', 'v0', 'nodad');
    await ip('link', 'set', 'v0', 'up');
    await ip('link', 'set', 'v1', 'up');
  });
  afterAll(async () => {
    backend.close();
    await execa('ip', ['netns', 'delete', NS], { reject: false });
  });

  it('sees an ACQUIRE for IPv4 traffic hitting a `require` transport policy', async () => {
    const spec: PolicySpec = {
      family: 4, local: '10.96.0.1', remote: '10.96.0.2', selector: {}, action: { kind: 'protect', level: 'require', mode: 'transport' },
    };
    await backend.apply([{ op: 'add', policy: spec }], AbortSignal.timeout(10_000));
    const seen = await acquireFor(4, '10.96.0.2');
    expect(seen).toMatch(/acquire proto esp\s+sel src 10\.96\.0\.1\/32 dst 10\.96\.0\.2\/32 proto udp/);
  });

  it('sees an ACQUIRE for IPv6 traffic hitting a `use` transport policy', async () => {
    const spec: PolicySpec = {
      family: 6, local: 'fd00:96::1', remote: 'fd00:96::2', selector: { protocol: 17 }, action: { kind: 'protect', level: 'use', mode: 'transport' },
    };
    await backend.apply([{ op: 'add', policy: spec }], AbortSignal.timeout(10_000));
    const seen = await acquireFor(6, 'fd00:96::2');
    expect(seen).toMatch(/acquire proto esp\s+sel src fd00:96::1\/128 dst fd00:96::2\/128 proto udp/);
    expect(seen).toContain('level use');
  });

  it('sends no ACQUIRE once removeAll() took the policies away', async () => {
    await backend.removeAll(AbortSignal.timeout(10_000));
    const monitor = execa('ip', ['-n', NS, 'xfrm', 'monitor', 'acquire'], { reject: false, buffer: false });
    let seen = '';
    monitor.stdout?.on('data', (chunk: Buffer) => { seen += chunk.toString(); });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await sendUdp(4, '10.96.0.2');
    await sendUdp(6, 'fd00:96::2');
    await new Promise((resolve) => setTimeout(resolve, 300));
    monitor.kill('SIGTERM');
    await monitor;
    expect(seen).toBe('');
  });
});
