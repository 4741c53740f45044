/**
 * KeyTrap (CVE-2023-50387) served for real: BIND serves zones built to make a validator spend
 * signature verifications, and oedns, asked with real dig, must stay within src/dnssec/limits.ts.
 * Work is counted (`oedns.dnssec`), never timed.
 *
 * - rrsigs.test.: www's A RRset carries 30 extra RRSIGs with the ZSK's key tag and algorithm and a
 *   garbage signature. named serves RRSIGs in canonical order (RFC 4034 §6.3), which for these
 *   is signature order, and each garbage signature sorts before the real one: the real one is last.
 * - keys.test.: the DNSKEY RRset holds COLLIDING_KEYS extra P-256 keys whose key tag is the ZSK's
 *   (found by generating keys until RFC 4034 Appendix B tags match); www is signed by the ZSK.
 *   trap.keys.test. adds 30 garbage RRSIGs with that tag: both attacks at once.
 *
 * Each test first asks for the zone's DNSKEY RRset so that the chain of trust is cached and the
 * counters of the next answer are the work of its own RRsets only.
 */
import { createECDH, randomBytes } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  keyTag, MAX_KEY_TAG_COLLISIONS, MAX_RRSIGS_PER_RRSET, MAX_VERIFICATIONS_PER_ANSWER,
} from '../../src/dnssec/index.js';
import type { DnssecStats } from '../../src/dnssec-service.js';
import { dig } from '../support/bind-lab.js';
import type { Harness } from '../support/oedns-harness.js';
import { startSignedLab, startValidatingOedns, type SignedLab } from '../support/signed-lab.js';

/** Garbage RRSIGs added to an RRset: well above MAX_RRSIGS_PER_RRSET. */
const EXTRA_RRSIGS = 30;
/**
 * Keys sharing the ZSK's key tag, three times MAX_KEY_TAG_COLLISIONS. Each costs about 65,000
 * generated keys (two candidates per key: the point and its negation), about 0.6 s.
 */
const COLLIDING_KEYS = 12;
/** P-256 field prime (SEC 2 §2.4.2), to negate a point: (x, y) → (x, p − y). */
const P256_PRIME = 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n;

let auth: SignedLab;
let h: Harness;
let zskLine = '';
/** The RRSIG dnssec-signzone made over www.rrsigs.test./A, before the garbage was added. */
let realWwwRrsig = '';

beforeAll(async () => {
  const sign = { algorithm: 'ECDSAP256SHA256' as const };
  auth = await startSignedLab({
    canonicalRrsetOrder: true,
    sign,
    zones: [
      { origin: 'rrsigs.test.', records: ['www 300 IN A 192.0.2.80'], sign },
      {
        origin: 'keys.test.',
        records: ['www 300 IN A 192.0.2.81', 'trap 300 IN A 192.0.2.82'],
        sign: {
          ...sign,
          extraDnskeys: ({ zsk }) => {
            zskLine = zsk;
            return collidingKeys(zsk, COLLIDING_KEYS);
          },
        },
      },
    ],
    editZones: async (prepared) => {
      realWwwRrsig = await addGarbageRrsigs(prepared.files.get('rrsigs.test.')!, 'rrsigs.test.', 'www.rrsigs.test.');
      await addGarbageRrsigs(prepared.files.get('keys.test.')!, 'keys.test.', 'trap.keys.test.');
    },
  });
  h = await startValidatingOedns(auth);
}, 120_000);

afterAll(async () => {
  await h?.stop();
  await auth?.stop();
});

describe('KeyTrap zones served by BIND, through oedns (CVE-2023-50387)', () => {
  it('checks at most MAX_RRSIGS_PER_RRSET RRSIGs of an RRset with 31, then answers from the failure cache', async () => {
    const served = rrsigLines((await lab(['www.rrsigs.test', 'A'])).stdout, 'www.rrsigs.test.');
    expect(served).toHaveLength(EXTRA_RRSIGS + 1);
    expect(served.at(-1)).toBe(realWwwRrsig);
    await warmChain('rrsigs.test');

    const { reply, spent } = await measured(['www.rrsigs.test', 'A']);
    expect(reply).toMatch(/status: SERVFAIL/);
    expect(reply).toMatch(/EDE: 6 \(DNSSEC Bogus\).*signature did not verify for www\.rrsigs\.test\./);
    expect(spent).toEqual({ answersValidated: 1, verifications: MAX_RRSIGS_PER_RRSET, nsec3Hashes: 0, budgetExhausted: 0 });
    expect(spent.verifications).toBeLessThanOrEqual(MAX_VERIFICATIONS_PER_ANSWER);

    const again = await measured(['www.rrsigs.test', 'A']);
    expect(again.reply).toMatch(/status: SERVFAIL/);
    expect(again.spent).toEqual({ answersValidated: 0, verifications: 0, nsec3Hashes: 0, budgetExhausted: 0 });
    expect(again.upstreamQueries).toBe(0);
  });

  it('tries at most MAX_KEY_TAG_COLLISIONS keys that share the RRSIG key tag, in the order they came', async () => {
    const keys = dnskeyLines((await lab(['keys.test', 'DNSKEY'])).stdout);
    const zsk = dnskeyText(zskLine);
    const tag = keyTag(dnskeyRdata(zsk));
    const sharing = keys.filter((key) => keyTag(dnskeyRdata(key)) === tag);
    expect(sharing).toHaveLength(COLLIDING_KEYS + 1);
    // named sends DNSKEYs in canonical order, so where the real ZSK falls among the keys with its
    // tag depends on the keys generated; oedns tries them in that order and stops at the cap.
    const position = sharing.indexOf(zsk);
    expect(position).toBeGreaterThanOrEqual(0);
    await warmChain('keys.test');

    const { reply, spent } = await measured(['www.keys.test', 'A']);
    if (position < MAX_KEY_TAG_COLLISIONS) {
      expect(reply).toMatch(/status: NOERROR/);
      expect(flagsOf(reply)).toContain('ad');
      expect(spent.verifications).toBe(position + 1);
    } else {
      expect(reply).toMatch(/status: SERVFAIL/);
      expect(reply).toMatch(/EDE: 6 \(DNSSEC Bogus\)/);
      expect(spent.verifications).toBe(MAX_KEY_TAG_COLLISIONS);
    }
    expect(spent).toMatchObject({ answersValidated: 1, budgetExhausted: 0 });

    const again = await measured(['www.keys.test', 'A']);
    expect(again.reply).toMatch(position < MAX_KEY_TAG_COLLISIONS ? /status: NOERROR/ : /status: SERVFAIL/);
    expect(again.spent).toEqual({ answersValidated: 0, verifications: 0, nsec3Hashes: 0, budgetExhausted: 0 });
    expect(again.upstreamQueries).toBe(0);
  });

  it('stops at MAX_VERIFICATIONS_PER_ANSWER when many RRSIGs meet many colliding keys, and logs it', async () => {
    await warmChain('keys.test');
    const { reply, spent } = await measured(['trap.keys.test', 'A']);
    expect(reply).toMatch(/status: SERVFAIL/);
    expect(reply).toMatch(/EDE: 6 \(DNSSEC Bogus\).*budget exhausted/);
    // Each garbage RRSIG costs MAX_KEY_TAG_COLLISIONS verifications until the budget is spent.
    expect(spent).toEqual({ answersValidated: 1, verifications: MAX_VERIFICATIONS_PER_ANSWER, nsec3Hashes: 0, budgetExhausted: 1 });
    expect(h.logs.lines.some((l) => l.msg === 'validation budget exhausted' && l['qname'] === 'trap.keys.test.' && l['qtype'] === 'A')).toBe(true);

    const again = await measured(['trap.keys.test', 'A']);
    expect(again.reply).toMatch(/status: SERVFAIL/);
    expect(again.spent).toEqual({ answersValidated: 0, verifications: 0, nsec3Hashes: 0, budgetExhausted: 0 });
  });
});

const flagsOf = (out: string): string[] => /flags: ([a-z ]+);/.exec(out)?.[1]?.split(' ') ?? [];

/** Asks BIND directly, over TCP (these answers exceed 1232 bytes), base64 unsplit. */
function lab(args: readonly string[]): ReturnType<typeof dig> {
  return dig(auth, ['+norec', '+tcp', '+dnssec', '+nosplit', ...args]);
}

/** Validates the zone's DNSKEY RRset once, so the chain of trust is cached for the next answer. */
async function warmChain(zone: string): Promise<void> {
  const r = await dig(h, ['+dnssec', zone, 'DNSKEY']);
  expect(r.stdout).toMatch(/status: NOERROR/);
}

/** One query through oedns and the validation work and upstream queries it caused. */
async function measured(args: readonly string[]): Promise<{ reply: string; spent: DnssecStats; upstreamQueries: number }> {
  const before = h.oedns.dnssec;
  const queriesBefore = h.oedns.resolver.stats.upstreamQueries;
  const reply = (await dig(h, ['+dnssec', ...args])).stdout;
  const after = h.oedns.dnssec;
  return {
    reply,
    upstreamQueries: h.oedns.resolver.stats.upstreamQueries - queriesBefore,
    spent: {
      answersValidated: after.answersValidated - before.answersValidated,
      verifications: after.verifications - before.verifications,
      nsec3Hashes: after.nsec3Hashes - before.nsec3Hashes,
      budgetExhausted: after.budgetExhausted - before.budgetExhausted,
    },
  };
}

/** RRSIGs over `owner`'s A RRset in dig output, in the order named sent them. */
function rrsigLines(stdout: string, owner: string): string[] {
  return [...stdout.matchAll(/^(\S+)\s+\d+\s+IN\s+RRSIG\s+(A .*)$/gm)].filter((m) => m[1] === owner).map((m) => rrsigText(m[2]!));
}

/** RRSIG RDATA as `A 13 3 300 <expiration> <inception> <key tag> <signer> <base64>`, base64 unsplit. */
function rrsigText(rdata: string): string {
  const tokens = rdata.trim().split(/\s+/);
  return [...tokens.slice(0, 8), tokens.slice(8).join('')].join(' ');
}

/** DNSKEY RDATA as `256 3 13 <base64>`, in the order named sent them. */
function dnskeyLines(stdout: string): string[] {
  return [...stdout.matchAll(/^\S+\s+\d+\s+IN\s+DNSKEY\s+(.*)$/gm)].map((m) => m[1]!.replace(/\s+/g, ' '));
}

/** `keys.test. IN DNSKEY 256 3 13 ab cd` (a .key line) → `256 3 13 abcd`. */
function dnskeyText(line: string): string {
  const [flags, protocol, algorithm, ...key] = line.trim().split(/\s+/).slice(3);
  return `${flags} ${protocol} ${algorithm} ${key.join('')}`;
}

/** RFC 4034 §2.2 presentation `flags protocol algorithm base64` → wire RDATA. */
function dnskeyRdata(text: string): Uint8Array {
  const [flags = '0', protocol = '0', algorithm = '0', key = ''] = text.split(' ');
  const publicKey = Buffer.from(key, 'base64');
  const rdata = new Uint8Array(4 + publicKey.length);
  rdata.set([Number(flags) >> 8, Number(flags) & 0xff, Number(protocol), Number(algorithm)]);
  rdata.set(publicKey, 4);
  return rdata;
}

/** `count` DNSKEY lines for valid P-256 keys (ZSK flags) whose key tag is the ZSK's. */
function collidingKeys(zskKeyLine: string, count: number): string[] {
  const owner = zskKeyLine.trim().split(/\s+/)[0]!;
  const zskText = dnskeyText(zskKeyLine);
  const zsk = dnskeyRdata(zskText);
  const tag = keyTag(zsk);
  const ecdh = createECDH('prime256v1');
  const found: string[] = [];
  while (found.length < count) {
    ecdh.generateKeys();
    const point = ecdh.getPublicKey().subarray(1);
    const y = BigInt(`0x${point.subarray(32).toString('hex')}`);
    const negated = Buffer.concat([point.subarray(0, 32), Buffer.from((P256_PRIME - y).toString(16).padStart(64, '0'), 'hex')]);
    for (const key of [point, negated]) {
      const rdata = new Uint8Array(zsk.length);
      rdata.set(zsk.subarray(0, 4));
      rdata.set(key, 4);
      const fields = zskText.split(' ').slice(0, 3).join(' ');
      if (keyTag(rdata) === tag && found.length < count) found.push(`${owner} IN DNSKEY ${fields} ${key.toString('base64')}`);
    }
  }
  return found;
}

/** The RRSIG RDATA over `owner`'s A RRset in a signed zone file, as named-checkzone prints it. */
async function realRrsig(file: string, origin: string, owner: string): Promise<string> {
  const { stdout } = await execa('named-checkzone', ['-D', '-s', 'full', '-o', '-', origin, file]);
  const lines = rrsigLines(stdout, owner);
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

/**
 * Appends EXTRA_RRSIGS copies of the real RRSIG over `owner`'s A RRset with a garbage signature
 * of the same length that sorts before the real one: the real signature with its first nonzero
 * byte lowered by one, random bytes after it. Returns the real RRSIG.
 */
async function addGarbageRrsigs(file: string, origin: string, owner: string): Promise<string> {
  const realText = await realRrsig(file, origin, owner);
  const real = realText.split(' ');
  const fields = real.slice(0, 8).join(' ');
  const signature = Buffer.from(real.slice(8).join(''), 'base64');
  const first = signature.findIndex((byte) => byte > 0);
  const lines = Array.from({ length: EXTRA_RRSIGS }, () => {
    const garbage = Buffer.concat([signature.subarray(0, first), Buffer.from([signature[first]! - 1])]);
    const tail = randomBytes(signature.length - garbage.length);
    return `${owner} 300 IN RRSIG ${fields} ${Buffer.concat([garbage, tail]).toString('base64')}`;
  });
  await appendFile(file, `\n${lines.join('\n')}\n`);
  return realText;
}
