/**
 * An IKE peer's name, looked up as a client's query would be (the vici backend's PeerLearner asks
 * when an unknown peer initiated): the A or AAAA question for the identity it presented goes
 * through the pipeline, so the keys step, the policies and the install run exactly as for an
 * answer to a client, and nothing is trusted that a client's answer would not be. The answer is
 * then checked: DNSSEC-secure, and the peer's address among the name's addresses, or the
 * outcome says why not (the peer's next attempt then fails again, as it should).
 */
import { isIP } from 'node:net';
import type { ClientInfo } from './pipeline/index.js';
import { canonicalAddressText, type IkePeer } from './ipsec/index.js';
import { decodeMessage, encodeMessage, Opcode, Rcode, RRClass, RRType, type Message } from './wire/index.js';

/** How the pipeline's logs show these lookups. */
const PEER_CLIENT: ClientInfo = { address: 'ike-peer', port: 0, transport: 'tcp' };
const EDNS_PAYLOAD_BYTES = 1232;

export type HandleQuery = (bytes: Uint8Array, client: ClientInfo, signal: AbortSignal) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

export async function lookUpIkePeer(handle: HandleQuery, peer: IkePeer, signal: AbortSignal): Promise<string> {
  const family = isIP(peer.address);
  if (family !== 4 && family !== 6) return `not an address: ${peer.address}`;
  const type = family === 4 ? RRType.A : RRType.AAAA;
  const query: Message = {
    id: Math.floor(Math.random() * 0x10000), qr: false, opcode: Opcode.Query, aa: false, tc: false, rd: true, ra: false, ad: false, cd: false, rcode: 0,
    questions: [{ name: `${peer.identity}.`, type, class: RRClass.IN }], answers: [], authorities: [], additionals: [],
    edns: { udpPayloadSize: EDNS_PAYLOAD_BYTES, version: 0, dnssecOk: true, options: [] },
  };
  const bytes = await handle(encodeMessage(query), PEER_CLIENT, signal);
  if (!bytes) return 'no answer';
  const reply = decodeMessage(bytes);
  if (reply.rcode !== Rcode.NoError) return `rcode ${reply.rcode} for ${peer.identity}`;
  if (!reply.ad) return `${peer.identity} is not DNSSEC-secure`;
  const addresses = reply.answers.filter((rr) => rr.type === type).map((rr) => addressText(rr.rdata, family));
  const wanted = canonicalAddressText(peer.address, family);
  if (wanted === undefined || !addresses.includes(wanted)) {
    return `${peer.address} is not among the addresses of ${peer.identity} (${addresses.join(', ') || 'none'})`;
  }
  return 'looked up; the peer address is the name\'s';
}

function addressText(rdata: Uint8Array, family: 4 | 6): string {
  if (family === 4) return [...rdata].join('.');
  const groups: string[] = [];
  for (let i = 0; i + 1 < rdata.length; i += 2) groups.push(((rdata[i]! << 8) | rdata[i + 1]!).toString(16));
  return canonicalAddressText(groups.join(':'), 6) ?? '';
}
