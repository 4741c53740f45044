/**
 * A scripted NameLookup for unit tests of the TLS path: answers from a table keyed by
 * `name/TYPE` (and `name/TYPE/unchecked` for ignore-bogus refetches), recording every question.
 * Anything not in the table is a secure NXDOMAIN.
 */
import type { NameAnswer, NameLookup, NameStatus } from '../../src/tls/names.js';
import { encodeTlsa, parseIpv4, parseIpv6, parseTlsaText } from '../../src/records/index.js';
import { RRType } from '../../src/wire/index.js';

export const FAR_FUTURE_MS = Date.UTC(2100, 0, 1);

export interface FakeAnswer {
  readonly status?: NameStatus;
  readonly outcome?: NameAnswer['outcome'];
  /** Presentation RDATA: `127.0.0.1`, `::1`, `3 1 1 AB…`; or raw bytes. */
  readonly records?: readonly (string | Uint8Array)[];
  readonly owner?: string;
  readonly expiresAtMs?: number;
}

const TYPE_NAMES: Readonly<Record<number, string>> = { [RRType.A]: 'A', [RRType.AAAA]: 'AAAA', [RRType.TLSA]: 'TLSA' };

function rdataOf(type: number, text: string | Uint8Array): Uint8Array {
  if (typeof text !== 'string') return text;
  if (type === RRType.A) return parseIpv4(text)!;
  if (type === RRType.AAAA) return parseIpv6(text)!;
  return encodeTlsa(parseTlsaText(text));
}

export interface FakeNameLookup {
  readonly lookup: NameLookup;
  readonly asked: string[];
  set(key: string, answer: FakeAnswer): void;
}

export function fakeNameLookup(table: Readonly<Record<string, FakeAnswer>> = {}): FakeNameLookup {
  const answers = new Map(Object.entries(table));
  const asked: string[] = [];
  const lookup: NameLookup = async (name, type, _signal, options) => {
    const key = `${name.toLowerCase()}/${TYPE_NAMES[type] ?? type}${options?.unchecked ? '/unchecked' : ''}`;
    asked.push(key);
    const found = answers.get(key);
    const records = (found?.records ?? []).map((r) => rdataOf(type, r));
    return {
      name, type, status: found?.status ?? 'secure',
      outcome: found?.outcome ?? (found === undefined ? 'nxdomain' : records.length > 0 ? 'records' : 'nodata'),
      owner: found?.owner ?? name, rdata: records, expiresAtMs: found?.expiresAtMs ?? FAR_FUTURE_MS,
      reason: found?.status === 'secure' ? undefined : 'scripted',
    };
  };
  return { lookup, asked, set: (key, answer) => answers.set(key, answer) };
}
