/**
 * Reads `ip -s xfrm policy show` (iproute2 6.x) back into entries, and oedns' entries back into
 * InstalledPolicy. One policy is a block: its selector on an unindented line, then indented lines
 * `dir out action allow index 16177 priority 60880 ptype main ...`, optionally `mark V/M`, the
 * lifetime lines (ignored), and per template `tmpl src A dst B` / `proto esp ... mode transport`
 * / `level required ...`. Anything this backend would not have written (a mark, a device, a GRE
 * key, a sub policy, two templates, a security context) makes the entry foreign.
 */
import { isIP } from 'node:net';
import type { CanonicalAddress, InstalledPolicy, PolicyAction } from '../backend.js';
import { selectorWords } from './xfrm-commands.js';
import { canonicalAddress, IpProtocol, isOursPriority, type Direction, type XfrmSelector, type XfrmTemplate } from './xfrm-spec.js';

export interface KernelPolicy {
  readonly index: number;
  readonly dir: Direction | 'fwd';
  readonly priority: number;
  readonly action: 'allow' | 'block';
  readonly selector: XfrmSelector;
  readonly templates: readonly (XfrmTemplate & { readonly proto: string })[];
  /** Something in the entry that oedns never writes (mark, dev, sub ptype, ctx, ...). */
  readonly foreign: boolean;
}

const PROTOCOL_BY_NAME: ReadonlyMap<string, number> = new Map(Object.entries(IpProtocol));

function protocolNumber(word: string | undefined): number | undefined {
  if (word === undefined) return undefined;
  if (/^\d{1,3}$/.test(word)) return Number(word);
  return PROTOCOL_BY_NAME.get(word);
}

/** `10.0.0.1/32` → canonical `10.0.0.1/32`; undefined when it is not address/prefix. */
function prefixText(word: string | undefined): string | undefined {
  const [address, length, extra] = (word ?? '').split('/');
  const family = isIP(address ?? '');
  if (extra !== undefined || (family !== 4 && family !== 6) || !/^\d{1,3}$/.test(length ?? '')) return undefined;
  return `${canonicalAddress(address, family, 'address')}/${Number(length)}`;
}

function addressText(word: string | undefined): string | undefined {
  const family = isIP(word ?? '');
  if (family !== 4 && family !== 6) return undefined;
  const canonical = canonicalAddress(word, family, 'address');
  return canonical === '0.0.0.0' || canonical === '::' ? undefined : canonical;
}

/** Word after `key` in a list of words. */
function after(words: readonly string[], key: string): string | undefined {
  const i = words.indexOf(key);
  return i < 0 ? undefined : words[i + 1];
}

function parseSelector(words: readonly string[]): { selector: XfrmSelector; foreign: boolean } | undefined {
  const src = prefixText(after(words, 'src'));
  const dst = prefixText(after(words, 'dst'));
  if (src === undefined || dst === undefined) return undefined;
  const protoWord = after(words, 'proto');
  const protocol = protocolNumber(protoWord);
  const num = (key: string): number | undefined => {
    const value = after(words, key);
    return value === undefined ? undefined : Number(value);
  };
  const known = new Set(['src', 'dst', 'proto', 'sport', 'dport', 'type', 'uid']);
  let foreign = protoWord !== undefined && protocol === undefined;
  for (let i = 0; i < words.length; i += 2) if (!known.has(words[i] ?? '')) foreign = true;
  return { selector: { src, dst, protocol, sport: num('sport'), dport: num('dport'), icmpType: num('type') }, foreign };
}

function parseBlock(lines: readonly string[]): KernelPolicy | undefined {
  const head = parseSelector((lines[0] ?? '').trim().split(/\s+/));
  if (!head) return undefined;
  let foreign = head.foreign;
  let meta: readonly string[] | undefined;
  const templates: (XfrmTemplate & { proto: string })[] = [];
  for (const line of lines.slice(1)) {
    const words = line.trim().split(/\s+/);
    const last = templates[templates.length - 1];
    if (words[0] === 'dir') meta = words;
    else if (words[0] === 'tmpl') templates.push({ mode: 'transport', level: 'required', proto: '', src: addressText(after(words, 'src')), dst: addressText(after(words, 'dst')) });
    else if (words[0] === 'proto' && last) Object.assign(last, { proto: words[1] ?? '', mode: after(words, 'mode') === 'tunnel' ? 'tunnel' : 'transport' });
    else if (words[0] === 'level' && last) Object.assign(last, { level: words[1] === 'use' ? 'use' : 'required' });
    else if (['mark', 'if_id', 'security', 'ctx', 'socket'].includes(words[0] ?? '')) foreign = true;
  }
  if (!meta) return undefined;
  const dir = after(meta, 'dir');
  const index = Number(after(meta, 'index'));
  const priority = Number(after(meta, 'priority') ?? 0);
  if ((dir !== 'out' && dir !== 'in' && dir !== 'fwd') || !Number.isInteger(index) || !Number.isInteger(priority)) return undefined;
  if (after(meta, 'ptype') !== 'main' || templates.length > 1 || templates.some((t) => t.proto !== 'esp')) foreign = true;
  const action = after(meta, 'action') === 'block' ? 'block' : 'allow';
  return { index, dir, priority, action, selector: head.selector, templates, foreign };
}

/** Every policy in `ip -s xfrm policy show` output, ours and others'. */
export function parseXfrmPolicies(text: string): readonly KernelPolicy[] {
  const blocks: string[][] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (/^\S/.test(line)) blocks.push([line]);
    else blocks[blocks.length - 1]?.push(line);
  }
  return blocks.map(parseBlock).filter((p): p is KernelPolicy => p !== undefined);
}

/** oedns' entries: our priority band, and nothing in them oedns would not have written. */
export function oursOnly(policies: readonly KernelPolicy[]): readonly (KernelPolicy & { dir: Direction })[] {
  return policies.filter((p): p is KernelPolicy & { dir: Direction } => p.dir !== 'fwd' && !p.foreign && isOursPriority(p.priority));
}

/** What identifies an SPD entry to the kernel (without a mark): direction and selector. */
export function entryKey(dir: Direction, selector: XfrmSelector): string {
  return `${dir} ${selectorWords(selector).join(' ')}`;
}

function actionOf(p: KernelPolicy): PolicyAction {
  if (p.action === 'block') return { kind: 'block' };
  const tmpl = p.templates[0];
  if (!tmpl) return { kind: 'pass' };
  const level = tmpl.level === 'use' ? 'use' : 'require';
  if (tmpl.mode === 'transport') return { kind: 'protect', level, mode: 'transport' };
  return { kind: 'protect', level, mode: 'tunnel', gateway: p.dir === 'out' ? tmpl.dst : tmpl.src };
}

function hostAddress(prefix: string): CanonicalAddress | undefined {
  const [address, length] = prefix.split('/');
  return Number(length) === 0 ? undefined : address;
}

function mergePorts(ports: readonly number[]): { first: number; last: number }[] {
  const ranges: { first: number; last: number }[] = [];
  for (const port of [...new Set(ports)].sort((a, b) => a - b)) {
    const last = ranges[ranges.length - 1];
    if (last && last.last === port - 1) last.last = port;
    else ranges.push({ first: port, last: port });
  }
  return ranges;
}

/**
 * Our entries as specs: the out and in entries of one pair, and the pairs of one spec's ports,
 * fold into one InstalledPolicy. Two specs that differ only in ports fold together too (the
 * kernel keeps no trace of how ports were grouped). `handle` lists the kernel indexes.
 */
export function toInstalled(entries: readonly (KernelPolicy & { dir: Direction })[]): readonly InstalledPolicy[] {
  const groups = new Map<string, { base: Omit<InstalledPolicy, 'selector' | 'handle'>; protocol: number | undefined; ports: number[]; handles: string[] }>();
  for (const e of entries) {
    const s = e.selector;
    const [localPrefix, remotePrefix] = e.dir === 'out' ? [s.src, s.dst] : [s.dst, s.src];
    const remote = hostAddress(remotePrefix);
    const family = isIP(remote ?? '');
    if (remote === undefined || (family !== 4 && family !== 6)) continue;
    const port = s.icmpType ?? (e.dir === 'out' ? s.dport : s.sport);
    const base: Omit<InstalledPolicy, 'selector' | 'handle'> = { family, local: hostAddress(localPrefix), remote, action: actionOf(e), backend: 'xfrm' };
    const key = JSON.stringify([base, s.protocol, port === undefined]);
    const group = groups.get(key) ?? { base, protocol: s.protocol, ports: [] as number[], handles: [] as string[] };
    groups.set(key, group);
    if (port !== undefined) group.ports.push(port);
    group.handles.push(`${e.dir}:${e.index}`);
  }
  return [...groups.values()].map(({ base, protocol, ports, handles }) => ({
    ...base,
    selector: ports.length > 0 ? { protocol, ports: mergePorts(ports) } : { protocol },
    handle: handles.join(','),
  }));
}
