/**
 * What oedns reads in charon's `log` event stream (VICI, levels up to 1), pure. charon 5.9 has no
 * event for an IKE peer it could not authenticate, nor for a trap-triggered negotiation that
 * failed; its log lines say both, bound to the IKE_SA by `ikesa-name` / `ikesa-uniqueid`:
 *
 *   [CFG] looking for peer configs matching 192.0.2.20[bob.lab.example]...192.0.2.10[alice.lab.example]
 *   [IKE] no trusted ED25519 public key found for 'alice.lab.example'
 *   [IKE] received AUTHENTICATION_FAILED notify error
 *
 * (charon's own wording, checked against 5.9.8: pubkey_authenticator.c, ike_auth.c.) Everything
 * taken from a line is checked before use: addresses with net.isIP, identities by the caller.
 */
import { isIP } from 'node:net';
import type { ViciTree } from './vici-codec.js';
import { viciText } from './vici-commands.js';

/** The fields of one log event (README of the vici plugin, "log" event) that oedns reads. */
export interface ViciLogLine {
  /** The IKE_SA's name (its peer config once one is selected), when a line is bound to one. */
  readonly ikeName: string | undefined;
  readonly ikeId: number | undefined;
  readonly msg: string;
}

export function viciLogLine(message: ViciTree): ViciLogLine | undefined {
  const msg = viciText(message['msg']);
  if (msg === undefined) return undefined;
  const id = Number(viciText(message['ikesa-uniqueid']));
  return { ikeName: viciText(message['ikesa-name']), ikeId: Number.isSafeInteger(id) && id > 0 ? id : undefined, msg };
}

/** What a line says, for the lines oedns acts on. */
export type ViciLogFact =
  /** A responder (or initiator) matched the IKE_AUTH identities: who the peer says it is, and where it is. */
  | { readonly kind: 'peer-identity'; readonly ikeId: number; readonly localAddress: string; readonly remoteAddress: string; readonly remoteId: string }
  /** No trusted key for the identity the peer presented (or the one expected of it). */
  | { readonly kind: 'no-trusted-key'; readonly ikeId: number; readonly ikeName: string | undefined; readonly identity: string }
  /** The peer refused this host's authentication (it may not know this host's key yet). */
  | { readonly kind: 'peer-refused-auth'; readonly ikeId: number; readonly ikeName: string | undefined };

/** `%H[%Y]`: an address (IPv6 without brackets) and an identity in brackets. */
const ENDPOINT = String.raw`(\S+?)\[([^\]]*)\]`;
const PEER_CONFIGS = new RegExp(String.raw`^looking for peer configs matching ${ENDPOINT}\.\.\.${ENDPOINT}$`);
const NO_TRUSTED_KEY = /^no trusted \S+ public key found for '([^']*)'$/;
const AUTH_REFUSED = /^received AUTHENTICATION_FAILED notify error$/;

export function viciLogFact(line: ViciLogLine): ViciLogFact | undefined {
  if (line.ikeId === undefined) return undefined;
  const msg = line.msg.trim();
  const peer = PEER_CONFIGS.exec(msg);
  if (peer) {
    const [, localAddress = '', , remoteAddress = '', remoteId = ''] = peer;
    if (isIP(localAddress) === 0 || isIP(remoteAddress) === 0) return undefined;
    return { kind: 'peer-identity', ikeId: line.ikeId, localAddress, remoteAddress, remoteId };
  }
  const noKey = NO_TRUSTED_KEY.exec(msg);
  if (noKey) return { kind: 'no-trusted-key', ikeId: line.ikeId, ikeName: line.ikeName, identity: noKey[1] ?? '' };
  if (AUTH_REFUSED.test(msg)) return { kind: 'peer-refused-auth', ikeId: line.ikeId, ikeName: line.ikeName };
  return undefined;
}

/** True when an initiate's control-log shows the peer refused this host's authentication. */
export function peerRefusedAuth(messages: readonly string[]): boolean {
  return messages.some((m) => AUTH_REFUSED.test(m.trim()));
}
