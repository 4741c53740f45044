/**
 * The LDAP dialogue with a key server (RFC 4511), over a TLS session already checked by DANE:
 * anonymous search for the user's entries by `mail` (RFC 4524 §2.16) and their
 * `userCertificate;binary` (RFC 4523 §2.1; inetOrgPerson, RFC 2798 §2). The base is the domain's
 * DN (RFC 2247); a directory that keeps its people elsewhere is searched under the naming contexts
 * its root DSE lists (RFC 4512 §5.1). Referrals are not followed: another server was not
 * authenticated by the SRV and TLSA records, so its answers would prove nothing.
 */
import { Client, EqualityFilter, NoSuchObjectError, PresenceFilter, ResultCodeError, type Entry } from 'ldapts';
import type { Duplex } from 'node:stream';
import { AppError, errorMessage } from '../core/errors.js';
import { MAX_CERTIFICATES_PER_ENTRY, MAX_ENTRIES, MAX_NAMING_CONTEXTS, OPERATION_TIMEOUT_MS, SEARCH_TIME_LIMIT_SECONDS } from './limits.js';
import { openLoopbackRelay } from './relay.js';

/** RFC 4523 §2.1: certificates are requested and transferred with the ;binary option. */
export const CERTIFICATE_ATTRIBUTE = 'userCertificate;binary';

/** A key server that could not answer: unreachable, closed, or an LDAP result code other than success. */
export class KeyServerError extends AppError {
  readonly code = 'ERR_KEY_SERVER';
}

export interface KeyServerEntry {
  readonly dn: string;
  /** The DER values of userCertificate;binary, at most MAX_CERTIFICATES_PER_ENTRY. */
  readonly certificates: readonly Uint8Array[];
}

export interface UserQuery {
  /** The filter value: `(mail=<address>)`, built as a filter object, never parsed from text. */
  readonly address: string;
  readonly baseDn: string;
}

/**
 * The equality filter `(mail=<address>)`. As an object it goes onto the wire as BER with the value
 * an OCTET STRING (RFC 4511 §4.5.1.7.1), so `*`, `(` or `\` in an address are literal bytes; its
 * text form escapes them as RFC 4515 §3 says.
 */
export function mailFilter(address: string): EqualityFilter {
  return new EqualityFilter({ attribute: 'mail', value: address });
}

/** Searches the key server behind `session` (its plaintext side); the session is destroyed after. */
export async function searchUserCertificates(session: Duplex, query: UserQuery, signal: AbortSignal): Promise<readonly KeyServerEntry[]> {
  const relay = await openLoopbackRelay(session, signal);
  const client = new Client({ url: relay.url, timeout: OPERATION_TIMEOUT_MS, connectTimeout: OPERATION_TIMEOUT_MS });
  try {
    return await untilAborted(searchBases(client, query), signal);
  } catch (error) {
    throw error instanceof KeyServerError ? error : new KeyServerError(describe(error), { cause: error });
  } finally {
    await client.unbind().catch(() => undefined);
    relay.close();
  }
}

async function searchBases(client: Client, query: UserQuery): Promise<readonly KeyServerEntry[]> {
  try {
    return await searchOne(client, query.baseDn, query.address);
  } catch (error) {
    if (!(error instanceof NoSuchObjectError)) throw error;
  }
  const contexts = (await namingContexts(client)).filter((dn) => dn.toLowerCase() !== query.baseDn.toLowerCase());
  if (contexts.length === 0) throw new KeyServerError(`base ${query.baseDn} does not exist and the root DSE lists no other naming context`);
  const found: KeyServerEntry[] = [];
  for (const base of contexts.slice(0, MAX_NAMING_CONTEXTS)) {
    try {
      found.push(...(await searchOne(client, base, query.address)));
    } catch (error) {
      if (!(error instanceof NoSuchObjectError)) throw error;
    }
  }
  return found;
}

async function searchOne(client: Client, base: string, address: string): Promise<readonly KeyServerEntry[]> {
  const { searchEntries } = await client.search(base, {
    scope: 'sub', filter: mailFilter(address), attributes: [CERTIFICATE_ATTRIBUTE],
    sizeLimit: MAX_ENTRIES, timeLimit: SEARCH_TIME_LIMIT_SECONDS,
  });
  return searchEntries.slice(0, MAX_ENTRIES).map((entry) => ({ dn: entry.dn, certificates: certificatesOf(entry) }));
}

/** RFC 4512 §5.1.2: the root DSE's namingContexts, read with a base search of "". */
async function namingContexts(client: Client): Promise<readonly string[]> {
  const { searchEntries } = await client.search('', {
    scope: 'base', filter: new PresenceFilter({ attribute: 'objectClass' }), attributes: ['namingContexts'],
    sizeLimit: 1, timeLimit: SEARCH_TIME_LIMIT_SECONDS,
  });
  return searchEntries.flatMap((entry) => valuesOf(entry, 'namingContexts')).filter((v): v is string => typeof v === 'string');
}

function certificatesOf(entry: Entry): Uint8Array[] {
  return valuesOf(entry, CERTIFICATE_ATTRIBUTE)
    .filter((value): value is Buffer => Buffer.isBuffer(value))
    .slice(0, MAX_CERTIFICATES_PER_ENTRY)
    .map((value) => new Uint8Array(value));
}

/** An attribute's values; attribute descriptions compare case-insensitively (RFC 4512 §2.5). */
function valuesOf(entry: Entry, attribute: string): readonly (string | Buffer)[] {
  const key = Object.keys(entry).find((name) => name.toLowerCase() === attribute.toLowerCase());
  const value = key === undefined || key === 'dn' ? undefined : entry[key];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Diagnostic text a key server chose: one line, bounded, before it reaches logs and ERR lines. */
const MAX_DIAGNOSTIC_CHARS = 200;

/** The key server's own words: the LDAP result code and diagnostic message (RFC 4511 §4.1.9) when there are. */
function describe(error: unknown): string {
  // eslint-disable-next-line no-control-regex
  const text = errorMessage(error).replace(/[\x00-\x1f\x7f]+/g, ' ').slice(0, MAX_DIAGNOSTIC_CHARS);
  return error instanceof ResultCodeError ? `LDAP result ${error.code} (${error.name}): ${text}` : text;
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new KeyServerError(`aborted: ${errorMessage(signal.reason)}`));
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
