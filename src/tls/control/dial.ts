/**
 * The plaintext connection of `connect NAME PORT`: the name's addresses by the same rules as the
 * engine's (host-lookup.ts: bogus refused unless ignore-bogus, failures are DNS_FAILED), insecure
 * addresses refused unless no-dnssec (they would let DNS spoofing choose the peer that the
 * later `start-tls @TOKEN` then has to reject), then each address in turn.
 */
import type { Socket } from 'node:net';
import type { NameLookup } from '../names.js';
import { connectTcp } from '../handshake.js';
import { lookUpAddresses } from '../host-lookup.js';
import { ReplyCode } from '../reply-codes.js';
import { TlsError, type TlsFlags } from '../session.js';

export async function dialPlain(lookup: NameLookup, name: string, port: number, flags: TlsFlags, connectTimeoutMs: number, signal: AbortSignal): Promise<Socket> {
  const found = await lookUpAddresses(lookup, name, flags, signal);
  if (!found.ok) throw new TlsError(found.reply, found.message);
  if (found.dnssec !== 'secure' && !flags.noDnssec) {
    throw new TlsError(ReplyCode.DnssecInsecure, `the addresses of ${name} are ${found.dnssec} (no-dnssec not given)`);
  }
  let lastError: unknown = new TlsError(ReplyCode.NotFound, `${name} has no address`);
  for (const { address } of found.addresses) {
    try {
      return await connectTcp(address, port, connectTimeoutMs, signal);
    } catch (error) {
      if (!(error instanceof TlsError) || signal.aborted) throw error;
      lastError = error;
    }
  }
  throw lastError;
}
