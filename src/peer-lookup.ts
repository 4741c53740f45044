/**
 * An IKE peer's name, looked up as a client's query would be (the vici backend's PeerLearner asks
 * when an unknown peer initiated): the A or AAAA question for the identity it presented goes
 * through the pipeline, so the keys step, the policies and the install run exactly as for an
 * answer to a client, and nothing is trusted that a client's answer would not be. The answer is
 * then checked: DNSSEC-secure, and the peer's address among the name's addresses, or the
 * outcome says why not (the peer's next attempt then fails again, as it should).
 */
import { isIP } from 'node:net';
import type { IkePeer } from './ipsec/index.js';
import type { ClientInfo } from './pipeline/index.js';
import { ipv4Text, ipv6Text, parseIpv4, parseIpv6 } from './records/index.js';
import { buildQuery } from './upstream/index.js';
import { decodeMessage, encodeMessage, Rcode, RRClass, RRType } from './wire/index.js';

/** How the pipeline's logs show these lookups. */
const PEER_CLIENT: ClientInfo = { address: 'ike-peer', port: 0, transport: 'tcp' };

export type HandleQuery = (bytes: Uint8Array, client: ClientInfo, signal: AbortSignal) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

export async function lookUpIkePeer(handle: HandleQuery, peer: IkePeer, signal: AbortSignal): Promise<string> {
  const family = isIP(peer.address);
  const wanted = family === 4 ? parseIpv4(peer.address) : family === 6 ? parseIpv6(peer.address) : undefined;
  if (!wanted) return `not an address: ${peer.address}`;
  const type = family === 4 ? RRType.A : RRType.AAAA;
  const query = buildQuery(Math.floor(Math.random() * 0x10000), { name: `${peer.identity}.`, type, class: RRClass.IN }, false, true);
  const bytes = await handle(encodeMessage(query), PEER_CLIENT, signal);
  if (!bytes) return 'no answer';
  const reply = decodeMessage(bytes);
  if (reply.rcode !== Rcode.NoError) return `rcode ${reply.rcode} for ${peer.identity}`;
  if (!reply.ad) return `${peer.identity} is not DNSSEC-secure`;
  const addresses = reply.answers.filter((rr) => rr.type === type).map((rr) => rr.rdata);
  if (!addresses.some((rdata) => Buffer.from(rdata).equals(wanted))) {
    const listed = addresses.map((rdata) => (family === 4 ? ipv4Text(rdata) : ipv6Text(rdata))).join(', ');
    return `${peer.address} is not among the addresses of ${peer.identity} (${listed || 'none'})`;
  }
  return 'looked up; the peer address is the name\'s';
}
