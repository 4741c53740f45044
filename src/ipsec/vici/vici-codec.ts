/**
 * strongSwan's VICI wire format (src/libcharon/plugins/vici/README.md), three layers:
 * - transport: segments prefixed with a 32-bit big-endian length (of the data only), ≤ 512 KiB;
 * - packet: a type byte, a name (8-bit length, ASCII) for named types, then a message;
 * - message: a sequence of elements forming a tree of sections, key/values and flat lists.
 * Glossary: a *tree* is a section's contents (the message is the implicit root section); a key's
 * value is one blob (string or bytes), a list holds unnamed blobs, a section holds a tree.
 */
import { ViciProtocolError } from './vici-errors.js';

/** VICI README "Packet layer" — packet types. */
export const ViciPacketType = {
  CmdRequest: 0, CmdResponse: 1, CmdUnknown: 2, EventRegister: 3,
  EventUnregister: 4, EventConfirm: 5, EventUnknown: 6, Event: 7,
} as const;
export type ViciPacketType = (typeof ViciPacketType)[keyof typeof ViciPacketType];

/** VICI README "Message format" — message element types. */
export const ViciElement = { SectionStart: 1, SectionEnd: 2, KeyValue: 3, ListStart: 4, ListItem: 5, ListEnd: 6 } as const;
export type ViciElement = (typeof ViciElement)[keyof typeof ViciElement];

/** README "Transport protocol": "The maximum segment length is currently limited to 512KB". */
export const MAX_VICI_SEGMENT_BYTES = 512 * 1024;
/** Section nesting accepted; charon's deepest answer (list-sas) nests four levels. */
export const MAX_VICI_DEPTH = 32;
const MAX_NAME_BYTES = 0xff;
const MAX_VALUE_BYTES = 0xffff;
const LENGTH_PREFIX_BYTES = 4;

export type ViciValue = string | Uint8Array;
/** A key's value, a list (array of values) or a sub-section (tree). */
export type ViciNode = ViciValue | readonly ViciValue[] | ViciTree;
/**
 * A section's contents. Undefined entries are skipped when encoding; decoded trees have none.
 * Names keep their order, except that JS puts integer-like names ("0", "17") first; nothing in
 * VICI that oedns sends or reads depends on the order of such names.
 */
export interface ViciTree {
  readonly [name: string]: ViciNode | undefined;
}

type Named<T extends ViciPacketType> = { readonly type: T; readonly name: string };
export type ViciPacket =
  | (Named<typeof ViciPacketType.CmdRequest> & { readonly message: ViciTree })
  | { readonly type: typeof ViciPacketType.CmdResponse; readonly message: ViciTree }
  | { readonly type: typeof ViciPacketType.CmdUnknown }
  | Named<typeof ViciPacketType.EventRegister>
  | Named<typeof ViciPacketType.EventUnregister>
  | { readonly type: typeof ViciPacketType.EventConfirm }
  | { readonly type: typeof ViciPacketType.EventUnknown }
  | (Named<typeof ViciPacketType.Event> & { readonly message: ViciTree });

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function isViciTree(node: ViciNode | undefined): node is ViciTree {
  return typeof node === 'object' && !(node instanceof Uint8Array) && !Array.isArray(node);
}

/** A growable byte buffer for the encoder. */
class Writer {
  private bytes = new Uint8Array(256);
  private length = 0;
  byte(value: number): void {
    this.reserve(1);
    this.bytes[this.length++] = value;
  }
  raw(data: Uint8Array): void {
    this.reserve(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
  }
  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
}

function writeName(w: Writer, name: string, what: string): void {
  // README: names are "an ASCII string that is not null-terminated" with an 8-bit length.
  if (!/^[\x01-\x7f]*$/.test(name)) throw new ViciProtocolError(`${what} name is not ASCII: ${JSON.stringify(name)}`);
  if (name.length > MAX_NAME_BYTES) throw new ViciProtocolError(`${what} name longer than ${MAX_NAME_BYTES} bytes: ${name.slice(0, 32)}...`);
  w.byte(name.length);
  for (let i = 0; i < name.length; i++) w.byte(name.charCodeAt(i));
}

function writeValue(w: Writer, value: ViciValue, key: string): void {
  const blob = typeof value === 'string' ? utf8.encode(value) : value;
  if (blob.length > MAX_VALUE_BYTES) throw new ViciProtocolError(`value of ${key} longer than ${MAX_VALUE_BYTES} bytes`);
  w.byte(blob.length >> 8);
  w.byte(blob.length & 0xff);
  w.raw(blob);
}

function writeTree(w: Writer, tree: ViciTree, depth: number): void {
  if (depth > MAX_VICI_DEPTH) throw new ViciProtocolError(`sections nested deeper than ${MAX_VICI_DEPTH}`);
  for (const [name, node] of Object.entries(tree)) {
    if (node === undefined) continue;
    if (typeof node === 'string' || node instanceof Uint8Array) {
      w.byte(ViciElement.KeyValue);
      writeName(w, name, 'key');
      writeValue(w, node, name);
    } else if (Array.isArray(node)) {
      w.byte(ViciElement.ListStart);
      writeName(w, name, 'list');
      for (const item of node as readonly ViciValue[]) {
        w.byte(ViciElement.ListItem);
        writeValue(w, item, name);
      }
      w.byte(ViciElement.ListEnd);
    } else {
      w.byte(ViciElement.SectionStart);
      writeName(w, name, 'section');
      writeTree(w, node as ViciTree, depth + 1);
      w.byte(ViciElement.SectionEnd);
    }
  }
}

/** Encodes a message (the root section's tree). */
export function encodeViciMessage(tree: ViciTree): Uint8Array {
  const w = new Writer();
  writeTree(w, tree, 0);
  return w.finish();
}

/** Reads elements from one message with bounds checks; every failure names the offset. */
class Reader {
  offset = 0;
  constructor(private readonly bytes: Uint8Array) {}
  get done(): boolean {
    return this.offset >= this.bytes.length;
  }
  byte(what: string): number {
    const value = this.bytes[this.offset];
    if (value === undefined) throw new ViciProtocolError(`truncated ${what} at offset ${this.offset}`);
    this.offset += 1;
    return value;
  }
  take(count: number, what: string): Uint8Array {
    if (this.offset + count > this.bytes.length) {
      throw new ViciProtocolError(`truncated ${what} at offset ${this.offset}: ${count} bytes announced, ${this.bytes.length - this.offset} left`);
    }
    const out = this.bytes.subarray(this.offset, this.offset + count);
    this.offset += count;
    return out;
  }
  name(what: string): string {
    const raw = this.take(this.byte(`${what} name length`), `${what} name`);
    let text = '';
    for (const b of raw) {
      if (b === 0 || b > 0x7f) throw new ViciProtocolError(`${what} name is not ASCII (byte ${b}) before offset ${this.offset}`);
      text += String.fromCharCode(b);
    }
    return text;
  }
  value(what: string): ViciValue {
    const length = (this.byte(`${what} length`) << 8) | this.byte(`${what} length`);
    const blob = this.take(length, what);
    try {
      return strictUtf8.decode(blob);
    } catch {
      return blob.slice();
    }
  }
}

type MutableTree = Record<string, ViciNode>;

function newTree(): MutableTree {
  // A null prototype: a key named "__proto__" from the socket stays a plain key.
  return Object.create(null) as MutableTree;
}

function put(tree: MutableTree, name: string, node: ViciNode, offset: number): void {
  // README "Key/Values": "Key names must be unique in the current section".
  if (Object.hasOwn(tree, name)) throw new ViciProtocolError(`duplicate name ${JSON.stringify(name)} before offset ${offset}`);
  tree[name] = node;
}

/**
 * Decodes a message. Values are strings when they are valid UTF-8 (the README: "The vici plugin
 * currently uses non-null terminated strings as values only") and bytes otherwise (DER in list-cert).
 */
export function decodeViciMessage(bytes: Uint8Array): ViciTree {
  const r = new Reader(bytes);
  const root = newTree();
  const stack: MutableTree[] = [root];
  let list: { name: string; items: ViciValue[] } | undefined;
  while (!r.done) {
    const at = r.offset;
    const type = r.byte('element type');
    const current = stack[stack.length - 1] ?? root;
    if (list !== undefined && type !== ViciElement.ListItem && type !== ViciElement.ListEnd) {
      // README "Lists": "After opening a list, only list items may appear before the list closing element."
      throw new ViciProtocolError(`element type ${type} inside list ${list.name} at offset ${at}`);
    }
    switch (type) {
      case ViciElement.SectionStart: {
        const name = r.name('section');
        if (stack.length > MAX_VICI_DEPTH) throw new ViciProtocolError(`sections nested deeper than ${MAX_VICI_DEPTH} at offset ${at}`);
        const child = newTree();
        put(current, name, child, r.offset);
        stack.push(child);
        break;
      }
      case ViciElement.SectionEnd:
        if (stack.length === 1) throw new ViciProtocolError(`SECTION_END without open section at offset ${at}`);
        stack.pop();
        break;
      case ViciElement.KeyValue: {
        const name = r.name('key');
        put(current, name, r.value(`value of ${name}`), r.offset);
        break;
      }
      case ViciElement.ListStart:
        list = { name: r.name('list'), items: [] };
        put(current, list.name, list.items, r.offset);
        break;
      case ViciElement.ListItem:
        if (list === undefined) throw new ViciProtocolError(`LIST_ITEM outside a list at offset ${at}`);
        list.items.push(r.value(`item of ${list.name}`));
        break;
      case ViciElement.ListEnd:
        if (list === undefined) throw new ViciProtocolError(`LIST_END without open list at offset ${at}`);
        list = undefined;
        break;
      default:
        throw new ViciProtocolError(`unknown element type ${type} at offset ${at}`);
    }
  }
  if (list !== undefined) throw new ViciProtocolError(`list ${list.name} not closed at end of message`);
  if (stack.length !== 1) throw new ViciProtocolError(`${stack.length - 1} section(s) not closed at end of message`);
  return root;
}

function hasName(type: ViciPacketType): boolean {
  return type === ViciPacketType.CmdRequest || type === ViciPacketType.EventRegister
    || type === ViciPacketType.EventUnregister || type === ViciPacketType.Event;
}

function hasMessage(type: ViciPacketType): boolean {
  return type === ViciPacketType.CmdRequest || type === ViciPacketType.CmdResponse || type === ViciPacketType.Event;
}

/** Encodes a packet with its 4-byte length prefix, ready for the socket. */
export function encodeViciPacket(packet: ViciPacket): Uint8Array {
  const w = new Writer();
  for (let i = 0; i < LENGTH_PREFIX_BYTES; i++) w.byte(0);
  w.byte(packet.type);
  if ('name' in packet) writeName(w, packet.name, 'packet');
  if ('message' in packet) writeTree(w, packet.message, 0);
  const out = w.finish();
  const length = out.length - LENGTH_PREFIX_BYTES;
  if (length > MAX_VICI_SEGMENT_BYTES) throw new ViciProtocolError(`packet of ${length} bytes exceeds ${MAX_VICI_SEGMENT_BYTES}`);
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(0, length);
  return out;
}

/** Decodes one segment (without its length prefix) into a packet. */
export function decodeViciPacket(segment: Uint8Array): ViciPacket {
  const r = new Reader(segment);
  const type = r.byte('packet type');
  if (type > ViciPacketType.Event) throw new ViciProtocolError(`unknown packet type ${type}`);
  const known = type as ViciPacketType;
  const name = hasName(known) ? r.name('packet') : undefined;
  const rest = segment.subarray(r.offset);
  if (!hasMessage(known) && rest.length > 0) throw new ViciProtocolError(`packet type ${type} carries ${rest.length} unexpected bytes`);
  const message = hasMessage(known) ? decodeViciMessage(rest) : undefined;
  return { type: known, ...(name === undefined ? {} : { name }), ...(message === undefined ? {} : { message }) } as ViciPacket;
}

/** Splits a byte stream into segments; rejects a length over the limit before buffering it. */
export class ViciFrameReader {
  private buffer = new Uint8Array(0);

  push(chunk: Uint8Array): Uint8Array[] {
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer);
    joined.set(chunk, this.buffer.length);
    const segments: Uint8Array[] = [];
    let offset = 0;
    while (joined.length - offset >= LENGTH_PREFIX_BYTES) {
      const length = new DataView(joined.buffer, joined.byteOffset + offset, LENGTH_PREFIX_BYTES).getUint32(0);
      if (length > MAX_VICI_SEGMENT_BYTES) throw new ViciProtocolError(`segment of ${length} bytes exceeds ${MAX_VICI_SEGMENT_BYTES}`);
      if (length === 0) throw new ViciProtocolError('empty segment (no packet type)');
      if (joined.length - offset - LENGTH_PREFIX_BYTES < length) break;
      segments.push(joined.slice(offset + LENGTH_PREFIX_BYTES, offset + LENGTH_PREFIX_BYTES + length));
      offset += LENGTH_PREFIX_BYTES + length;
    }
    this.buffer = joined.slice(offset);
    return segments;
  }

  /** Bytes of an incomplete segment still waiting for the rest. */
  get pendingBytes(): number {
    return this.buffer.length;
  }
}
