/**
 * What charon says about negotiations, as oedns reports it: the reason an `initiate` failed
 * (from its control-log), and the ike-updown / child-updown events. Pure.
 */
import { isViciTree, type ViciTree } from './vici-codec.js';
import { viciText, type ViciControlLog } from './vici-commands.js';

/**
 * Control-log lines that tell why a negotiation failed (charon's own wording, 5.9), most telling
 * first: a local authentication verdict beats the peer's notify, which beats a generic failure.
 */
const TELLING: readonly RegExp[] = [
  /no trusted .* key found|no private key found|constraint check failed|authentication of .* failed|no matching peer config/i,
  /received \S+ notify/i,
  /giving up|retransmit|timed? ?out|peer not responding/i,
  /unable|failed|not found|no proposal/i,
];
/** Packet traces (they name notifies charon sends) and the summaries charon adds after the telling line. */
const NOT_TELLING = /^(generating|sending|parsed|received packet)|^failed to establish CHILD_SA|keeping IKE_SA|^establishing CHILD_SA .* failed/i;
const IKE_ESTABLISHED = /^IKE_SA \S+ established between/;

/** Why an initiate failed, naming the stage: "IKE_SA failed: …" or "IKE_SA established, CHILD_SA failed: …". */
export function initiateFailureReason(logs: readonly ViciControlLog[], errmsg: string): string {
  const established = logs.some((l) => IKE_ESTABLISHED.test(l.msg));
  const candidates = logs.map((l) => l.msg.trim()).filter((m) => !NOT_TELLING.test(m)).reverse();
  let telling = errmsg;
  for (const pattern of TELLING) {
    const found = candidates.find((m) => pattern.test(m));
    if (found !== undefined) {
      telling = found;
      break;
    }
  }
  return established ? `IKE_SA established, CHILD_SA failed: ${telling}` : `IKE_SA failed: ${telling}`;
}

/** One SA of an updown event, with the fields oedns logs. */
export interface UpdownEntry {
  /** The IKE_SA's name: the conn it was made from. */
  readonly conn: string;
  readonly up: boolean;
  readonly state: string | undefined;
  readonly remoteHost: string | undefined;
  readonly remoteId: string | undefined;
  /** child-updown: the CHILD_SAs' names. */
  readonly children: readonly string[];
}

/** README "ike-updown"/"child-updown": `up = yes` when up (absent when down), then one section per IKE_SA. */
export function updownEntries(message: ViciTree): UpdownEntry[] {
  const up = viciText(message['up']) === 'yes';
  const entries: UpdownEntry[] = [];
  for (const [conn, sa] of Object.entries(message)) {
    if (!isViciTree(sa)) continue;
    const childSas = sa['child-sas'];
    const children = isViciTree(childSas)
      ? Object.values(childSas).flatMap((c) => (isViciTree(c) ? [viciText(c['name']) ?? ''] : []))
      : [];
    entries.push({ conn, up, state: viciText(sa['state']), remoteHost: viciText(sa['remote-host']), remoteId: viciText(sa['remote-id']), children });
  }
  return entries;
}
