/**
 * A PolicySpec as the words of one helper line (grammar.ts), and back. Both directions check
 * every field the same way: the resolver's side refuses to send what the helper would refuse,
 * and the helper re-parses everything it receives, trusting nothing the resolver says.
 *
 * Words are `key=value`, in the fixed order of POLICY_FIELDS, each at most once:
 *   family=4|6 [local=ADDR] remote=ADDR [proto=0..255] [ports=A-B,C-D,...]
 *   action=protect|block|pass|responder [level=require|use mode=transport|tunnel [gateway=ADDR]]
 *   [initiate=yes|no] [shunt=SECONDS] [identity=FQDN key=BASE64-DER-SPKI] [ike=P,P,... esp=P,P,...]
 * Addresses are parsed and written back in canonical form (never the text received); the key
 * is imported with node:crypto and handed on as the PEM node:crypto writes, so only a real
 * public key of a signature algorithm reaches a backend.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { AppError } from '../../core/errors.js';
import { canonicalAddressText } from '../address.js';
import type { PolicyAction, PolicySpec, TrafficSelector } from '../backend.js';

/** A request or reply the grammar refuses; the helper answers `ERR ERR_IPSEC_HELPER_GRAMMAR ...`. */
export class HelperGrammarError extends AppError {
  readonly code = 'ERR_IPSEC_HELPER_GRAMMAR';
}

/** Port ranges in one selector; the xfrm backend expands at most 64 ports, a range list is shorter. */
export const MAX_PORT_RANGES = 256;
/** Proposals per list (`ike=`, `esp=`); strongSwan configurations rarely name more than a handful. */
export const MAX_PROPOSALS = 16;
/** RFC 1035 §2.3.4: 255 octets on the wire, so at most 253 characters of text without the final dot. */
const MAX_NAME_CHARS = 253;
const MAX_LABEL_CHARS = 63;
/** A failure shunt's lifetime: the policy language bounds `shunt-lifetime` at one week (rule-parser.ts). */
const MAX_SHUNT_SECONDS = 7 * 24 * 3600;

export const POLICY_FIELDS = [
  'family', 'local', 'remote', 'proto', 'ports', 'action', 'level', 'mode', 'gateway', 'initiate', 'shunt', 'identity', 'key', 'ike', 'esp',
] as const;

/**
 * Every PolicySpec property and the words that carry it. A property added to PolicySpec without
 * a word here fails to compile, instead of silently not reaching the helper.
 */
export const SPEC_WORDS: Record<keyof PolicySpec, readonly (typeof POLICY_FIELDS)[number][]> = {
  family: ['family'], local: ['local'], remote: ['remote'], selector: ['proto', 'ports'], action: ['action', 'level', 'mode', 'gateway'],
  initiate: ['initiate'], shuntSeconds: ['shunt'], peer: ['identity', 'key'], proposals: ['ike', 'esp'],
};

/** node:crypto key types of the IPSECKEY algorithms (RFC 4025 §2.4, RFC 9373): signature keys only. */
const KEY_TYPES: ReadonlySet<string> = new Set(['rsa', 'dsa', 'ec', 'ed25519', 'ed448']);
const EC_CURVES: ReadonlySet<string> = new Set(['prime256v1', 'secp384r1', 'secp521r1']);

const DECIMAL = /^(?:0|[1-9][0-9]{0,5})$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const PROPOSAL = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const MAX_PROPOSAL_CHARS = 64;

export function refuse(what: string): never {
  throw new HelperGrammarError(what);
}

/** A short, printable rendering of hostile text for an error message. */
export function shown(text: string): string {
  const json = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
  return json.replace(/[^\x20-\x7e]/g, '?');
}

/** The canonical text of an address of `family` (RFC 5952 for IPv6), never the input text. */
export function canonicalAddress(text: unknown, family: 4 | 6, field: string): string {
  return canonicalAddressText(text, family) ?? refuse(`${field} is not an IPv${family} address`);
}

function integer(value: unknown, min: number, max: number, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) refuse(`${field} is not an integer in ${min}..${max}`);
  return value;
}

function decimal(text: string, min: number, max: number, field: string): number {
  if (!DECIMAL.test(text)) refuse(`${field} is not a decimal number`);
  return integer(Number(text), min, max, field);
}

/** A lowercase host name (letters, digits, hyphens between them, dots), optionally absolute. */
export function checkIdentity(name: unknown): string {
  if (typeof name !== 'string') refuse('identity is not text');
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  const ok = bare.length > 0 && bare.length <= MAX_NAME_CHARS
    && bare.split('.').every((label) => label.length <= MAX_LABEL_CHARS && LABEL.test(label));
  if (!ok) refuse(`identity ${shown(name)} is not a lowercase host name`);
  return name;
}

function checkKey(key: KeyObject): KeyObject {
  const type = key.asymmetricKeyType ?? 'unknown';
  if (key.type !== 'public' || !KEY_TYPES.has(type)) refuse(`key is a ${type} key, not a signature public key`);
  if (type === 'ec' && !EC_CURVES.has(key.asymmetricKeyDetails?.namedCurve ?? '')) refuse('key is on an unsupported curve');
  return key;
}

/** PEM (the resolver's side) → base64 of the DER SPKI; refuses anything that is not such a key. */
export function keyToWire(pem: unknown): string {
  if (typeof pem !== 'string') refuse('key is not text');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    return refuse('key is not a public key in PEM');
  }
  return checkKey(key).export({ type: 'spki', format: 'der' }).toString('base64');
}

/** Base64 of a DER SPKI (from the wire) → the PEM node:crypto writes for the imported key. */
export function keyFromWire(text: string): string {
  if (text.length === 0 || !BASE64.test(text)) refuse('key is not base64');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
  } catch {
    return refuse('key is not a DER SubjectPublicKeyInfo');
  }
  return checkKey(key).export({ type: 'spki', format: 'pem' }) as string;
}

function checkProposals(list: unknown, field: string): readonly string[] {
  if (!Array.isArray(list) || list.length > MAX_PROPOSALS) refuse(`${field} is not a list of at most ${MAX_PROPOSALS} proposals`);
  for (const p of list as unknown[]) {
    if (typeof p !== 'string' || p.length > MAX_PROPOSAL_CHARS || !PROPOSAL.test(p)) refuse(`${field} proposal ${shown(String(p))} is not lowercase words joined by -`);
  }
  return list as readonly string[];
}

function checkPorts(ports: unknown, protocol: number | undefined): readonly { first: number; last: number }[] {
  if (!Array.isArray(ports) || ports.length > MAX_PORT_RANGES) refuse(`ports is not a list of at most ${MAX_PORT_RANGES} ranges`);
  if (ports.length > 0 && protocol === undefined) refuse('ports need a protocol');
  return (ports as unknown[]).map((range) => {
    const r = (typeof range === 'object' && range !== null ? range : {}) as { first?: unknown; last?: unknown };
    const first = integer(r.first, 0, 0xffff, 'port');
    return { first, last: integer(r.last, first, 0xffff, 'port range end') };
  });
}

type Fields = Partial<Record<(typeof POLICY_FIELDS)[number], string>>;

/** The fields of a spec, checked and canonical, in POLICY_FIELDS order. */
function specFields(spec: PolicySpec): Fields {
  const family = spec.family === 4 || spec.family === 6 ? spec.family : refuse('family is not 4 or 6');
  const protocol = spec.selector.protocol === undefined ? undefined : integer(spec.selector.protocol, 0, 0xff, 'proto');
  const ports = checkPorts(spec.selector.ports ?? [], protocol);
  const f: Fields = {
    family: String(family),
    local: spec.local === undefined ? undefined : canonicalAddress(spec.local, family, 'local'),
    remote: canonicalAddress(spec.remote, family, 'remote'),
    proto: protocol === undefined ? undefined : String(protocol),
    ports: ports.length === 0 ? undefined : ports.map((r) => `${r.first}-${r.last}`).join(','),
    ...actionFields(spec.action, family),
  };
  if (spec.initiate !== undefined) f.initiate = spec.initiate === true ? 'yes' : spec.initiate === false ? 'no' : refuse('initiate is not a boolean');
  if (spec.shuntSeconds !== undefined) f.shunt = String(integer(spec.shuntSeconds, 0, MAX_SHUNT_SECONDS, 'shunt'));
  if (spec.peer !== undefined) {
    f.identity = checkIdentity(spec.peer.identity);
    f.key = keyToWire(spec.peer.publicKeyPem);
  }
  if (spec.proposals !== undefined) {
    f.ike = checkProposals(spec.proposals.ike, 'ike').join(',');
    f.esp = checkProposals(spec.proposals.esp, 'esp').join(',');
  }
  return f;
}

function actionFields(action: PolicyAction, family: 4 | 6): Fields {
  switch (action.kind) {
    case 'block': case 'pass': case 'responder': return { action: action.kind };
    case 'protect': {
      const level = action.level === 'require' || action.level === 'use' ? action.level : refuse('level is not require|use');
      const mode = action.mode === 'transport' || action.mode === 'tunnel' ? action.mode : refuse('mode is not transport|tunnel');
      if (action.gateway !== undefined && mode !== 'tunnel') refuse('a gateway needs mode tunnel');
      const gateway = action.gateway === undefined ? undefined : canonicalAddress(action.gateway, family, 'gateway');
      return { action: 'protect', level, mode, gateway };
    }
    default: return refuse('action is not protect|block|pass|responder');
  }
}

/** The words of a spec; throws HelperGrammarError for anything the helper would refuse. */
export function encodePolicy(spec: PolicySpec): string[] {
  const fields = specFields(spec);
  return POLICY_FIELDS.flatMap((key) => fields[key] === undefined ? [] : [`${key}=${fields[key]}`]);
}

/** Splits `key=value` words, requiring known keys in `order`, each at most once. */
export function splitFields<K extends string>(words: readonly string[], order: readonly K[]): Partial<Record<K, string>> {
  const fields: Partial<Record<K, string>> = {};
  let previous = -1;
  for (const word of words) {
    const eq = word.indexOf('=');
    const key = word.slice(0, Math.max(eq, 0)) as K;
    const index = order.indexOf(key);
    if (eq <= 0 || index < 0) refuse(`${shown(word)} is not one of the fields ${order.join(', ')}`);
    if (index <= previous) refuse(`field ${key} repeated or out of order`);
    previous = index;
    fields[key] = word.slice(eq + 1);
  }
  return fields;
}

function oneOf<T extends string>(text: string | undefined, allowed: readonly T[], field: string): T {
  if (text === undefined || !(allowed as readonly string[]).includes(text)) refuse(`${field} is not ${allowed.join('|')}`);
  return text as T;
}

function decodeAction(f: Fields, family: 4 | 6): PolicyAction {
  const kind = oneOf(f.action, ['protect', 'block', 'pass', 'responder'], 'action');
  if (kind !== 'protect') {
    if (f.level !== undefined || f.mode !== undefined || f.gateway !== undefined) refuse(`level, mode and gateway belong to action protect, not ${kind}`);
    return { kind };
  }
  const level = oneOf(f.level, ['require', 'use'], 'level');
  const mode = oneOf(f.mode, ['transport', 'tunnel'], 'mode');
  if (f.gateway === undefined) return { kind, level, mode };
  if (mode !== 'tunnel') refuse('a gateway needs mode tunnel');
  return { kind, level, mode, gateway: canonicalAddress(f.gateway, family, 'gateway') };
}

function decodeSelector(f: Fields): TrafficSelector {
  const protocol = f.proto === undefined ? undefined : decimal(f.proto, 0, 0xff, 'proto');
  if (f.ports === undefined) return protocol === undefined ? {} : { protocol };
  const ranges = f.ports.split(',');
  if (ranges.length > MAX_PORT_RANGES) refuse(`more than ${MAX_PORT_RANGES} port ranges`);
  const ports = checkPorts(ranges.map((range) => {
    const [first, last, extra] = range.split('-');
    if (first === undefined || last === undefined || extra !== undefined) refuse(`port range ${shown(range)} is not FIRST-LAST`);
    return { first: decimal(first, 0, 0xffff, 'port'), last: decimal(last, 0, 0xffff, 'port range end') };
  }), protocol);
  return { protocol, ports };
}

function decodeProposals(text: string, field: string): readonly string[] {
  return checkProposals(text === '' ? [] : text.split(','), field);
}

/** A spec from its words: every field re-parsed, nothing copied from the text unchecked. */
export function decodePolicy(words: readonly string[]): PolicySpec {
  const f: Fields = splitFields(words, POLICY_FIELDS);
  const family = f.family === '4' ? 4 : f.family === '6' ? 6 : refuse('family is not 4 or 6');
  if (f.remote === undefined) refuse('remote is missing');
  if ((f.identity === undefined) !== (f.key === undefined)) refuse('identity and key come together');
  if ((f.ike === undefined) !== (f.esp === undefined)) refuse('ike and esp come together');
  const spec: { -readonly [K in keyof PolicySpec]: PolicySpec[K] } = {
    family,
    remote: canonicalAddress(f.remote, family, 'remote'),
    selector: decodeSelector(f),
    action: decodeAction(f, family),
  };
  if (f.local !== undefined) spec.local = canonicalAddress(f.local, family, 'local');
  if (f.initiate !== undefined) spec.initiate = oneOf(f.initiate, ['yes', 'no'], 'initiate') === 'yes';
  if (f.shunt !== undefined) spec.shuntSeconds = decimal(f.shunt, 0, MAX_SHUNT_SECONDS, 'shunt');
  if (f.identity !== undefined && f.key !== undefined) spec.peer = { identity: checkIdentity(f.identity), publicKeyPem: keyFromWire(f.key) };
  if (f.ike !== undefined && f.esp !== undefined) spec.proposals = { ike: decodeProposals(f.ike, 'ike'), esp: decodeProposals(f.esp, 'esp') };
  return spec;
}
