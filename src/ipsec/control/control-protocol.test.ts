import { describe, expect, it } from 'vitest';
import { encodeControlResponse, errorResponse, parseControlRequest } from './control-protocol.js';

const line = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('parseControlRequest (the control grammar)', () => {
  it('accepts exactly the commands status and ping, with or without a trailing CR', () => {
    expect(parseControlRequest(line('status'))).toEqual({ kind: 'command', command: 'status' });
    expect(parseControlRequest(line('ping\r'))).toEqual({ kind: 'command', command: 'ping' });
  });

  it.each([
    ['empty', '', /empty request/],
    ['a lone CR', '\r', /empty request/],
    ['uppercase', 'STATUS', /unknown request/],
    ['a prefix', 'stat', /unknown request/],
    ['an argument', 'status all', /not one printable ASCII word/],
    ['leading space', ' ping', /not one printable ASCII word/],
    ['a NUL', 'ping\0', /not one printable ASCII word/],
    ['two CRs', 'ping\r\r', /not one printable ASCII word/],
    ['non-ASCII', 'st\u00e4tus', /not one printable ASCII word/],
    ['a shell word', '$(reboot)', /unknown request/],
  ])('refuses %s', (_, text, message) => {
    const parsed = parseControlRequest(line(text));
    expect(parsed.kind).toBe('invalid');
    expect(parsed).toMatchObject({ message: expect.stringMatching(message) });
  });

  it('never echoes the request back in its error', () => {
    const parsed = parseControlRequest(line('secret-token-xyz'));
    expect(JSON.stringify(parsed)).not.toContain('secret-token-xyz');
  });
});

describe('encodeControlResponse', () => {
  it('writes one JSON line whose only LF is the terminator, whatever the strings hold', () => {
    const text = encodeControlResponse(errorResponse('ERR_CONTROL_REQUEST', 'a\nb\r\u2028c'));
    expect(text.endsWith('\n')).toBe(true);
    expect(text.slice(0, -1)).not.toMatch(/[\n\r]/);
    expect(JSON.parse(text)).toEqual({ ok: false, error: { code: 'ERR_CONTROL_REQUEST', message: 'a\nb\r\u2028c' } });
  });
});
