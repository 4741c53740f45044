import { describe, expect, it } from 'vitest';
import { expectAppError } from '../../../test/support/unit.js';
import {
  decodeViciMessage, decodeViciPacket, encodeViciMessage, encodeViciPacket, MAX_VICI_DEPTH, MAX_VICI_SEGMENT_BYTES,
  ViciElement, ViciFrameReader, ViciPacketType, type ViciPacket, type ViciTree,
} from './vici-codec.js';
import { ViciProtocolError } from './vici-errors.js';

const bytes = (...parts: (number | string)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...p].map((c) => c.charCodeAt(0)))));

/** The README's "Encoding example", byte for byte. */
const README_EXAMPLE = bytes(
  3, 4, 'key1', 0, 6, 'value1',
  1, 8, 'section1',
  1, 11, 'sub-section',
  3, 4, 'key2', 0, 6, 'value2',
  2,
  4, 5, 'list1',
  5, 0, 5, 'item1',
  5, 0, 5, 'item2',
  6,
  2,
);
const README_TREE: ViciTree = { key1: 'value1', section1: { 'sub-section': { key2: 'value2' }, list1: ['item1', 'item2'] } };

describe('VICI messages', () => {
  it('encodes the README example byte for byte', () => {
    expect(encodeViciMessage(README_TREE)).toEqual(README_EXAMPLE);
  });

  it('decodes the README example', () => {
    expect(decodeViciMessage(README_EXAMPLE)).toEqual(README_TREE);
  });

  it('round-trips every element type: empty sections and lists, empty values, binary values, nesting', () => {
    const tree: ViciTree = {
      empty: '',
      der: Uint8Array.of(0x30, 0x82, 0x01, 0xff, 0x00),
      nothing: [],
      mixed: ['a', Uint8Array.of(0xc3, 0x28)],
      outer: { inner: { deepest: { k: 'v' } }, blank: {} },
      utf8: 'grüße',
    };
    expect(decodeViciMessage(encodeViciMessage(tree))).toEqual(tree);
  });

  it('keeps the order of names, except that names that look like numbers come first (JS object order)', () => {
    const decoded = decodeViciMessage(bytes(1, 1, 'b', 2, 1, 1, 'a', 2, 1, 2, '10', 2, 1, 1, '2', 2));
    expect(Object.keys(decoded)).toEqual(['2', '10', 'b', 'a']);
  });

  it('skips undefined entries when encoding', () => {
    expect(encodeViciMessage({ a: undefined, b: 'x' })).toEqual(bytes(3, 1, 'b', 0, 1, 'x'));
  });

  it('keeps a key named __proto__ as data', () => {
    const decoded = decodeViciMessage(bytes(3, 9, '__proto__', 0, 1, 'x'));
    expect(Object.getPrototypeOf(decoded)).toBeNull();
    expect(decoded['__proto__']).toBe('x');
  });

  it('encodes a value of 65535 bytes and rejects 65536', () => {
    const max = new Uint8Array(0xffff).fill(0x61);
    expect(decodeViciMessage(encodeViciMessage({ k: max }))['k']).toHaveLength(0xffff);
    expectAppError(() => encodeViciMessage({ k: new Uint8Array(0x10000) }), ViciProtocolError, /longer than 65535/);
  });

  it('rejects names that are not ASCII or longer than 255 bytes', () => {
    expectAppError(() => encodeViciMessage({ 'grüß': 'x' }), ViciProtocolError, /not ASCII/);
    expectAppError(() => encodeViciMessage({ ['k'.repeat(256)]: 'x' }), ViciProtocolError, /longer than 255/);
    expectAppError(() => decodeViciMessage(bytes(3, 1, 0xe9, 0, 0)), ViciProtocolError, /not ASCII/);
  });

  it('rejects nesting deeper than the limit', () => {
    let tree: ViciTree = { k: 'v' };
    for (let i = 0; i <= MAX_VICI_DEPTH; i++) tree = { s: tree };
    expectAppError(() => encodeViciMessage(tree), ViciProtocolError, /deeper/);
    const deep = bytes(...Array.from({ length: MAX_VICI_DEPTH + 1 }, () => [1, 1, 's']).flat(), ...Array.from({ length: MAX_VICI_DEPTH + 1 }, () => 2));
    expectAppError(() => decodeViciMessage(deep), ViciProtocolError, /deeper/);
  });

  const malformed: [string, Uint8Array, RegExp][] = [
    ['an unknown element type', bytes(9), /unknown element type 9/],
    ['a truncated name', bytes(3, 5, 'ke'), /truncated key name/],
    ['a truncated value length', bytes(3, 1, 'k', 0), /truncated value of k length/],
    ['a truncated value', bytes(3, 1, 'k', 0, 9, 'abc'), /truncated value of k/],
    ['SECTION_END at the root', bytes(2), /SECTION_END without open section/],
    ['an unclosed section', bytes(1, 1, 's'), /not closed/],
    ['LIST_ITEM outside a list', bytes(5, 0, 1, 'x'), /LIST_ITEM outside/],
    ['LIST_END without a list', bytes(6), /LIST_END without/],
    ['an unclosed list', bytes(4, 1, 'l', 5, 0, 1, 'x'), /list l not closed/],
    ['a key/value inside a list', bytes(4, 1, 'l', 3, 1, 'k', 0, 0, 6), /inside list l/],
    ['a section inside a list', bytes(4, 1, 'l', 1, 1, 's', 2, 6), /inside list l/],
    ['a nested list', bytes(4, 1, 'l', 4, 1, 'm', 6, 6), /inside list l/],
    ['a duplicate key', bytes(3, 1, 'k', 0, 0, 3, 1, 'k', 0, 0), /duplicate name "k"/],
    ['a list named like a key', bytes(3, 1, 'k', 0, 0, 4, 1, 'k', 6), /duplicate name "k"/],
  ];
  it.each(malformed)('rejects %s', (_what, input, pattern) => {
    expectAppError(() => decodeViciMessage(input), ViciProtocolError, pattern);
  });
});

describe('VICI packets', () => {
  const packets: ViciPacket[] = [
    { type: ViciPacketType.CmdRequest, name: 'load-conn', message: { conn: { local_addrs: ['192.0.2.1'] } } },
    { type: ViciPacketType.CmdResponse, message: { success: 'yes' } },
    { type: ViciPacketType.CmdUnknown },
    { type: ViciPacketType.EventRegister, name: 'ike-updown' },
    { type: ViciPacketType.EventUnregister, name: 'ike-updown' },
    { type: ViciPacketType.EventConfirm },
    { type: ViciPacketType.EventUnknown },
    { type: ViciPacketType.Event, name: 'log', message: { msg: 'hello' } },
  ];
  it.each(packets)('round-trips packet type $type', (packet) => {
    const framed = encodeViciPacket(packet);
    const length = new DataView(framed.buffer).getUint32(0);
    expect(length).toBe(framed.length - 4);
    expect(decodeViciPacket(framed.subarray(4))).toEqual(packet);
  });

  it('frames a named request as the README describes: length, type, name, message', () => {
    expect(encodeViciPacket({ type: ViciPacketType.CmdRequest, name: 'version', message: {} })).toEqual(bytes(0, 0, 0, 9, 0, 7, 'version'));
  });

  it('rejects unknown packet types, truncated names and stray bytes', () => {
    expectAppError(() => decodeViciPacket(bytes(8)), ViciProtocolError, /unknown packet type 8/);
    expectAppError(() => decodeViciPacket(bytes(0, 7, 'vers')), ViciProtocolError, /truncated packet name/);
    expectAppError(() => decodeViciPacket(bytes(ViciPacketType.EventConfirm, 1)), ViciProtocolError, /unexpected bytes/);
    expectAppError(() => decodeViciPacket(bytes(ViciPacketType.CmdResponse, ViciElement.SectionEnd)), ViciProtocolError, /SECTION_END/);
  });

  it('rejects a packet over 512 KiB when encoding', () => {
    const big: ViciTree = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, new Uint8Array(0xffff)]));
    expectAppError(() => encodeViciPacket({ type: ViciPacketType.CmdResponse, message: big }), ViciProtocolError, /exceeds/);
  });
});

describe('VICI framing', () => {
  it('reassembles segments split at every byte and several per chunk', () => {
    const a = encodeViciPacket({ type: ViciPacketType.Event, name: 'log', message: { msg: 'x'.repeat(300) } });
    const b = encodeViciPacket({ type: ViciPacketType.CmdResponse, message: {} });
    const stream = new Uint8Array([...a, ...b]);
    const reader = new ViciFrameReader();
    const segments = [...stream].flatMap((byte) => reader.push(Uint8Array.of(byte)));
    expect(segments.map((s) => decodeViciPacket(s).type)).toEqual([ViciPacketType.Event, ViciPacketType.CmdResponse]);
    expect(new ViciFrameReader().push(stream)).toHaveLength(2);
    expect(reader.pendingBytes).toBe(0);
  });

  it('rejects an announced length over 512 KiB before buffering it', () => {
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, MAX_VICI_SEGMENT_BYTES + 1);
    expectAppError(() => new ViciFrameReader().push(header), ViciProtocolError, /exceeds/);
  });

  it('rejects an empty segment', () => {
    expectAppError(() => new ViciFrameReader().push(new Uint8Array(4)), ViciProtocolError, /empty segment/);
  });
});
