import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { PolicyChange, PolicySpec } from '../backend.js';
import {
  decodeChange, decodeInstalled, decodeReply, decodeRequest, encodeChange, encodeErr, encodeInstalled, encodeRequest, MAX_CHANGES_PER_BATCH,
  MAX_LINE_BYTES,
} from './grammar.js';
import { LineSplitter } from './lines.js';
import { HelperGrammarError, POLICY_FIELDS, SPEC_WORDS } from './policy-fields.js';

const ed25519 = generateKeyPairSync('ed25519');
const ed25519Pem = ed25519.publicKey.export({ type: 'spki', format: 'pem' }) as string;
const ed25519Der = ed25519.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const rsaPem = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
const x25519Der = generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const k256Der = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const privateDer = ed25519.privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64');

const protect = { kind: 'protect', level: 'require', mode: 'transport' } as const;
const base = 'family=4 local=10.0.0.1 remote=10.0.0.2';

/** A change line the helper must refuse with ERR_IPSEC_HELPER_GRAMMAR. */
function refused(line: string): HelperGrammarError {
  let caught: unknown;
  try {
    decodeChange(line);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(HelperGrammarError);
  expect((caught as HelperGrammarError).code).toBe('ERR_IPSEC_HELPER_GRAMMAR');
  return caught as HelperGrammarError;
}

describe('policy lines', () => {
  const specs: PolicySpec[] = [
    { family: 4, local: '10.0.0.1', remote: '10.0.0.2', selector: {}, action: protect },
    { family: 4, remote: '192.0.2.7', selector: { protocol: 6, ports: [{ first: 443, last: 444 }, { first: 80, last: 80 }] }, action: { kind: 'block' } },
    { family: 6, local: '2001:db8::1', remote: '2001:db8::2', selector: { protocol: 58, ports: [{ first: 133, last: 136 }] }, action: { kind: 'pass' } },
    {
      family: 6, remote: 'fd00::2', selector: {}, action: { kind: 'protect', level: 'use', mode: 'tunnel', gateway: '2001:db8::99' },
      peer: { identity: 'alice.lab.example.', publicKeyPem: ed25519Pem }, initiate: true, shuntSeconds: 900,
      proposals: { ike: ['aes256gcm16-prfsha384-x25519'], esp: [] },
    },
    { family: 4, remote: '10.0.0.3', selector: {}, action: { kind: 'responder' }, peer: { identity: 'bob', publicKeyPem: rsaPem }, initiate: false },
  ];

  it.each(specs)('round-trips a spec unchanged (%#)', (spec) => {
    for (const op of ['add', 'remove'] as const) {
      const line = encodeChange({ op, policy: spec });
      expect(line.startsWith(op === 'add' ? 'ADD ' : 'REMOVE ')).toBe(true);
      expect(decodeChange(line)).toEqual({ op, policy: spec });
    }
  });

  it('writes the fields in their fixed order, one word each', () => {
    expect(encodeChange({ op: 'add', policy: specs[3]! })).toBe(
      `ADD family=6 remote=fd00::2 action=protect level=use mode=tunnel gateway=2001:db8::99 initiate=yes shunt=900 identity=alice.lab.example. key=${ed25519Der} ike=aes256gcm16-prfsha384-x25519 esp=`);
  });

  it('re-serialises addresses canonically, never passing the text on', () => {
    const change = decodeChange('ADD family=6 local=2001:DB8:0:0:0:0:0:1 remote=FD00:0::0002 action=pass');
    expect(change.policy).toMatchObject({ local: '2001:db8::1', remote: 'fd00::2' });
  });

  it('hands the key on as the PEM node:crypto writes for the imported key', () => {
    const { policy } = decodeChange(`ADD ${base} action=responder identity=a.example key=${ed25519Der}`);
    expect(policy.peer?.publicKeyPem).toBe(createPublicKey(ed25519Pem).export({ type: 'spki', format: 'pem' }));
  });

  it('covers every PolicySpec property with a word', () => {
    expect(new Set(Object.values(SPEC_WORDS).flat())).toEqual(new Set(POLICY_FIELDS));
  });
});

describe('hostile policy lines are refused (CVE-2019-18934 was a name reaching a shell)', () => {
  it.each([
    'alice;reboot', 'alice$(reboot)', 'alice`id`', "alice'", 'alice"', 'a|b', 'a&b', 'a>b', 'a\\b', '$HOME', 'a*',
    'Alice.example', 'a_b.example', '-a.example', 'a-.example', 'a..example', '.', '', `${'a'.repeat(64)}.example`,
    `${'abcdefghi.'.repeat(26)}com`, 'a.example..',
  ])('identity %j', (identity) => {
    refused(`ADD ${base} action=responder identity=${identity} key=${ed25519Der}`);
  });

  it('a space in an identity makes a word that is no field', () => {
    expect(refused(`ADD ${base} action=responder identity=a.example ;reboot key=${ed25519Der}`).message).toMatch(/not one of the fields/);
  });

  it.each([
    'remote=10.0.0', 'remote=010.0.0.2', 'remote=10.0.0.256', 'remote=::1', 'remote=localhost', 'remote=10.0.0.2/32', 'remote= 10.0.0.2',
    'remote=0x0a000002',
  ])('address %s', (remote) => {
    refused(`ADD family=4 ${remote} action=pass`);
  });

  it('refuses addresses of the other family, zones and a bad family', () => {
    refused('ADD family=6 remote=10.0.0.2 action=pass');
    refused('ADD family=6 remote=fe80::1%eth0 action=pass');
    refused('ADD family=5 remote=10.0.0.2 action=pass');
    refused(`ADD ${base} action=protect level=require mode=tunnel gateway=2001:db8::1`);
    refused('ADD family=4 local=::1 remote=10.0.0.2 action=pass');
  });

  it.each([
    'proto=256', 'proto=-1', 'proto=06', 'proto=6.0', 'proto=1e2', 'proto=6 ports=1-70000', 'proto=6 ports=5-3', 'proto=6 ports=80',
    'proto=6 ports=80-80,', 'proto=6 ports=1-2-3', 'ports=80-80', `proto=6 ports=${Array.from({ length: 257 }, (_, i) => `${i}-${i}`).join(',')}`,
  ])('selector %s', (selector) => {
    refused(`ADD ${base} ${selector} action=pass`);
  });

  it.each([
    'action=allow', 'action=protect', 'action=protect level=required mode=transport', 'action=protect level=require mode=beet',
    'action=protect level=require mode=transport gateway=10.0.0.9', 'action=block level=use', 'action=pass mode=transport', '',
  ])('action %j', (action) => {
    refused(`ADD ${base} ${action}`.trimEnd());
  });

  it.each([
    [`identity=a.example key=${x25519Der}`, /not a signature public key/],
    [`identity=a.example key=${k256Der}`, /unsupported curve/],
    [`identity=a.example key=${privateDer}`, /not a DER SubjectPublicKeyInfo/],
    ['identity=a.example key=AAAA', /not a DER SubjectPublicKeyInfo/],
    ['identity=a.example key=not-base64!', /not base64/],
    [`identity=a.example key=${ed25519Der.replace(/=+$/, '')}`, /not base64/],
    ['identity=a.example key=', /not base64/],
    ['identity=a.example', /come together/],
    [`key=${ed25519Der}`, /come together/],
  ])('peer %s', (peer, message) => {
    expect(refused(`ADD ${base} action=responder ${peer}`).message).toMatch(message);
  });

  it.each([
    'ADD family=4 remote=10.0.0.2 action=pass family=4', 'ADD remote=10.0.0.2 family=4 action=pass', 'ADD family=4 action=pass',
    'ADD family=4 remote=10.0.0.2 action=pass color=red', 'ADD family=4  remote=10.0.0.2 action=pass', 'ADD family=4 remote=10.0.0.2 action=pass ',
    'ADD family=4 remote=10.0.0.2 action=pass initiate=true', 'ADD family=4 remote=10.0.0.2 action=pass shunt=604801',
    'ADD family=4 remote=10.0.0.2 action=pass ike=aes', 'ADD family=4 remote=10.0.0.2 action=pass ike=AES esp=aes',
    'ADD family=4 remote=10.0.0.2 action=pass ike=a;b esp=', 'ADD family=4 remote=10.0.0.2 action=pass =x', 'add family=4 remote=10.0.0.2 action=pass',
    'DELETE family=4 remote=10.0.0.2 action=pass', 'ADD',
  ])('line %j', (line) => {
    refused(line);
  });

  it('the resolver side refuses the same specs before sending them', () => {
    const evil: PolicyChange = { op: 'add', policy: { family: 4, remote: '10.0.0.2', selector: {}, action: protect, peer: { identity: 'a.example\nREMOVE-ALL', publicKeyPem: ed25519Pem } } };
    expect(() => encodeChange(evil)).toThrow(HelperGrammarError);
    expect(() => encodeChange({ op: 'add', policy: { ...evil.policy, peer: { identity: 'a.example', publicKeyPem: 'garbage' } } })).toThrow(/not a public key/);
    expect(() => encodeChange({ op: 'add', policy: { ...evil.policy, peer: undefined, remote: '10.0.0.2 action=pass' } })).toThrow(/remote/);
    expect(() => encodeChange({ op: 'add', policy: { ...evil.policy, peer: undefined, selector: { protocol: 6.5 } } })).toThrow(/proto/);
  });
});

describe('requests and replies', () => {
  it('decodes the four requests', () => {
    expect(decodeRequest('HELLO 1')).toEqual({ kind: 'hello', version: 1 });
    expect(decodeRequest('APPLY 12')).toEqual({ kind: 'apply', count: 12 });
    expect(decodeRequest('LIST')).toEqual({ kind: 'list' });
    expect(decodeRequest('REMOVE-ALL')).toEqual({ kind: 'remove-all' });
    expect(encodeRequest({ kind: 'apply', count: 3 })).toBe('APPLY 3');
  });

  it.each(['', 'hello 1', 'HELLO', 'HELLO x', 'APPLY 0', `APPLY ${MAX_CHANGES_PER_BATCH + 1}`, 'APPLY 01', 'APPLY 1 2', 'LIST all', 'REMOVE-ALL now', 'FLUSH', 'APPLY -1'])(
    'refuses request %j', (line) => {
      expect(() => decodeRequest(line)).toThrow(HelperGrammarError);
    },
  );

  it('keeps an ERR message on one printable line', () => {
    expect(encodeErr('ERR_IPSEC_BACKEND', 'ip: Error\n\tRTNETLINK answers: File exists\r\n')).toBe('ERR ERR_IPSEC_BACKEND ip: Error RTNETLINK answers: File exists');
    expect(encodeErr('not a code', 'x')).toBe('ERR ERR_INTERNAL x');
    expect(decodeReply('ERR ERR_IPSEC_BACKEND ip failed')).toEqual({ kind: 'err', code: 'ERR_IPSEC_BACKEND', message: 'ip failed' });
    expect(decodeReply('OK 1 xfrm')).toEqual({ kind: 'ok', words: ['1', 'xfrm'] });
    expect(() => decodeReply('ERR oops')).toThrow(HelperGrammarError);
    expect(() => decodeReply('MAYBE')).toThrow(HelperGrammarError);
  });

  it('round-trips a listed policy with its backend and handle', () => {
    const installed = { family: 4 as const, remote: '10.0.0.2', selector: { protocol: 17 }, action: { kind: 'block' as const }, backend: 'xfrm' as const, handle: 'out:12,in:13' };
    expect(decodeInstalled(encodeInstalled(installed))).toEqual(installed);
    expect(() => decodeInstalled('POLICY family=4 remote=10.0.0.2 action=pass backend=helper handle=x')).toThrow(/backend/);
    expect(() => encodeInstalled({ ...installed, handle: 'a b' })).toThrow(/handle/);
  });
});

describe('LineSplitter', () => {
  const bytes = (text: string): Uint8Array => Buffer.from(text, 'latin1');

  it('joins lines split across chunks', () => {
    const s = new LineSplitter();
    expect(s.push(bytes('HELLO'))).toEqual([]);
    expect(s.push(bytes(' 1\nLIST\nREM'))).toEqual(['HELLO 1', 'LIST']);
    expect(s.push(bytes('OVE-ALL\n'))).toEqual(['REMOVE-ALL']);
    expect(s.error).toBeUndefined();
  });

  it.each([['CR', 'LIST\r\n'], ['NUL', 'LI\0ST\n'], ['UTF-8', 'ADD identity=bücher.example\n'], ['tab', 'LIST\t\n'], ['ESC', 'LIST\x1b[2J\n']])(
    'stops at a line with %s, keeping the lines before it', (_, bad) => {
      const s = new LineSplitter();
      expect(s.push(bytes(`HELLO 1\n${bad}LIST\n`))).toEqual(['HELLO 1']);
      expect(s.error).toBeInstanceOf(HelperGrammarError);
      expect(s.push(bytes('LIST\n'))).toEqual([]);
    },
  );

  it('refuses a line longer than the bound, even before its LF arrives', () => {
    const s = new LineSplitter();
    expect(s.push(bytes('A'.repeat(MAX_LINE_BYTES - 1)))).toEqual([]);
    expect(s.error).toBeUndefined();
    s.push(bytes('A'));
    expect(s.error?.message).toMatch(/longer than/);
    const t = new LineSplitter();
    t.push(bytes(`${'A'.repeat(MAX_LINE_BYTES)}\n`));
    expect(t.error?.message).toMatch(/longer than/);
  });
});
