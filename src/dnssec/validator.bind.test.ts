/**
 * The validator against a signed lab hierarchy served by real BIND: a lab root, `test.`, zones
 * signed with NSEC and NSEC3, an unsigned delegation, an island without DS, a zone whose DS
 * matches no key, expired signatures, and answers tampered with after signing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frame, queryMessage, question, tcpExchange, udpQuery } from '../../test/support/oedns-harness.js';
import { rootAnchorText, startSignedLab, type SignedLab } from '../../test/support/signed-lab.js';
import { decodeMessage, encodeMessage, Rcode, RRType, typeName, type Message } from '../wire/index.js';
import { ChainOfTrust } from './chain.js';
import type { DnssecFetcher } from './fetcher.js';
import { createHashBudget } from './nsec3.js';
import { createVerifyBudget } from './rrsig.js';
import { negativeTrustAnchors, trustAnchorsFromText } from './trust-anchors.js';
import { Ede } from './verdict.js';
import { Validator } from './validator.js';

const NOW = 1_700_000_000;
const WINDOW = { inception: NOW - 86_400, expiration: NOW + 30 * 86_400 };
const sign = { algorithm: 'ECDSAP256SHA256' as const, ...WINDOW };

let auth: SignedLab;
let nextId = 1;

beforeAll(async () => {
  auth = await startSignedLab({
    recursionAcrossOwnZones: true,
    sign,
    zones: [
      {
        origin: 'example.test.', sign,
        records: [
          'www 300 IN A 192.0.2.10', 'alias 300 IN CNAME www', '*.wild 300 IN A 192.0.2.11',
          'cross 300 IN CNAME www.nsec3.test.', 'tounsigned 300 IN CNAME host.unsigned.test.',
        ],
      },
      { origin: 'nsec3.test.', sign: { ...sign, nsec3: { iterations: 0 } }, records: ['www 300 IN A 192.0.2.30'] },
      { origin: 'unsigned.test.', records: ['host 300 IN A 192.0.2.40'] },
      { origin: 'island.test.', sign, dsInParent: false, records: ['host 300 IN A 192.0.2.50'] },
      { origin: 'expired.test.', sign: { algorithm: 'ECDSAP256SHA256', inception: NOW - 100 * 86_400, expiration: NOW - 50 * 86_400 }, records: ['host 300 IN A 192.0.2.60'] },
    ],
  });
}, 60_000);
afterAll(() => auth?.stop());

/** DO=1, CD=1 queries to the lab server, over TCP when truncated. */
async function ask(name: string, type: number): Promise<Message> {
  const message = queryMessage(nextId++, question(name, type), { edns: true, dnssecOk: true, cd: true });
  const reply = await udpQuery(auth.port, message);
  if (!reply.tc) return reply;
  const { replies } = await tcpExchange(auth.port, frame(encodeMessage(message)), 1);
  return decodeMessage(replies[0]!);
}

function validatorFor(fetches: string[] = []): Validator {
  const fetcher: DnssecFetcher = {
    fetch: async (name, type) => {
      fetches.push(`${name}/${type}`);
      return ask(name, type);
    },
  };
  const anchors = trustAnchorsFromText(rootAnchorText(auth), 'lab-root.ds');
  return new Validator(new ChainOfTrust(fetcher, anchors, negativeTrustAnchors([])));
}

function context(trace?: string[]) {
  return { now: NOW, verify: createVerifyBudget(), hashes: createHashBudget(), signal: new AbortController().signal, trace: trace ? (s: string) => trace.push(s) : undefined };
}

async function verdictFor(name: string, type: number, tamper?: (m: Message) => Message) {
  const message = await ask(name, type);
  return validatorFor().validate(question(name, type), tamper ? tamper(message) : message, context());
}

describe('secure answers (RFC 4035 §5.3)', () => {
  it('validates an A RRset from the root anchor down, tracing each step', async () => {
    const trace: string[] = [];
    const message = await ask('www.example.test.', RRType.A);
    const validUntil = { epoch: Infinity };
    const verdict = await validatorFor().validate(question('www.example.test.', RRType.A), message, { ...context(trace), validUntil });
    expect(verdict.status).toBe('secure');
    // RFC 4035 §5.3.3: the answer may be trusted until its RRSIG expires, and no longer.
    expect(validUntil.epoch).toBe(WINDOW.expiration);
    expect(trace.some((t) => t.startsWith('.: DNSKEY RRset secure via trust anchor'))).toBe(true);
    expect(trace.some((t) => t.startsWith('example.test.: DS RRset secure, signed by test.'))).toBe(true);
  });

  it('validates a CNAME chain within a zone and across zones', async () => {
    expect((await verdictFor('alias.example.test.', RRType.A)).status).toBe('secure');
    expect((await verdictFor('cross.example.test.', RRType.A)).status).toBe('secure');
  });

  it('validates a wildcard expansion with the NSEC proof that the name itself does not exist (RFC 4035 §5.3.4)', async () => {
    expect((await verdictFor('x.wild.example.test.', RRType.A)).status).toBe('secure');
  });

  it('validates NXDOMAIN and NODATA with NSEC and with NSEC3 (RFC 4035 §5.4, RFC 5155 §8)', async () => {
    for (const [name, type] of [['nothing.example.test.', RRType.A], ['www.example.test.', RRType.MX], ['nothing.nsec3.test.', RRType.A], ['www.nsec3.test.', RRType.TXT]] as const) {
      const verdict = await verdictFor(name, type);
      expect(verdict, `${name}/${type}`).toMatchObject({ status: 'secure' });
    }
  });
});

describe('insecure answers', () => {
  it('treats a zone below a proven unsigned delegation as insecure (RFC 4035 §5.2)', async () => {
    const verdict = await verdictFor('host.unsigned.test.', RRType.A);
    expect(verdict).toMatchObject({ status: 'insecure', reason: 'unsigned.test. is an insecure delegation: NSEC shows NS without DS' });
  });

  it('treats an island of security (no DS in the parent) as insecure', async () => {
    expect((await verdictFor('host.island.test.', RRType.A)).status).toBe('insecure');
  });

  it('gives a CNAME from a secure zone into an insecure one the weaker status', async () => {
    expect((await verdictFor('tounsigned.example.test.', RRType.A)).status).toBe('insecure');
  });
});

describe('bogus answers', () => {
  it('rejects expired signatures with EDE 7 (RFC 8914)', async () => {
    expect(await verdictFor('host.expired.test.', RRType.A)).toMatchObject({ status: 'bogus', ede: Ede.SignatureExpired });
  });

  it('rejects data changed after signing', async () => {
    const verdict = await verdictFor('www.example.test.', RRType.A, (m) => ({
      ...m, answers: m.answers.map((r) => (r.type === RRType.A ? { ...r, rdata: Uint8Array.of(203, 0, 113, 66) } : r)),
    }));
    expect(verdict.status).toBe('bogus');
  });

  it('rejects an answer whose RRSIGs were stripped (EDE 10)', async () => {
    const verdict = await verdictFor('www.example.test.', RRType.A, (m) => ({ ...m, answers: m.answers.filter((r) => r.type !== RRType.RRSIG) }));
    expect(verdict).toMatchObject({ status: 'bogus', ede: Ede.RrsigsMissing });
  });

  it('rejects NXDOMAIN whose NSEC proof was removed (EDE 12)', async () => {
    const verdict = await verdictFor('nothing.example.test.', RRType.A, (m) => ({ ...m, authorities: m.authorities.filter((r) => r.type !== RRType.NSEC && r.type !== RRType.RRSIG) }));
    expect(verdict).toMatchObject({ status: 'bogus', ede: Ede.NsecMissing });
  });

  it('rejects a forged NXDOMAIN for a name that exists', async () => {
    const real = await ask('nothing.example.test.', RRType.A);
    const verdict = await validatorFor().validate(question('www.example.test.', RRType.A), { ...real, questions: [question('www.example.test.', RRType.A)] }, context());
    expect(verdict.status).toBe('bogus');
    expect(real.rcode).toBe(Rcode.NXDomain);
  });
});

describe('caching of the chain', () => {
  it('fetches each DNSKEY and DS once for several answers under the same zones', async () => {
    const fetches: string[] = [];
    const validator = validatorFor(fetches);
    for (const name of ['www.example.test.', 'alias.example.test.', 'x.wild.example.test.']) {
      expect((await validator.validate(question(name, RRType.A), await ask(name, RRType.A), context())).status).toBe('secure');
    }
    expect(new Set(fetches).size).toBe(fetches.length);
  });

  it("asks for a signer's DS and DNSKEY together, not one after the other", async () => {
    const inFlight = new Set<string>();
    const together: string[][] = [];
    const fetcher: DnssecFetcher = {
      fetch: async (name, type) => {
        const what = `${name}/${typeName(type)}`;
        inFlight.add(what);
        together.push([...inFlight].sort());
        try {
          return await ask(name, type);
        } finally {
          inFlight.delete(what);
        }
      },
    };
    const validator = new Validator(new ChainOfTrust(fetcher, trustAnchorsFromText(rootAnchorText(auth), 'lab-root.ds'), negativeTrustAnchors([])));
    expect((await validator.validate(question('www.example.test.', RRType.A), await ask('www.example.test.', RRType.A), context())).status).toBe('secure');
    expect(together).toContainEqual(['example.test./DNSKEY', 'example.test./DS']);
  });
});
