/**
 * Builds what goes back to a client from an upstream (or cached) answer: the client's ID,
 * question and RD/CD flags; RA set; AA cleared; AD only when the caller says the data is secure;
 * EDNS only for a client that sent it; DNSSEC records only for a client that set DO.
 */
import {
  CLASSIC_UDP_BYTES, DEFAULT_EDNS_UDP_BYTES, encodeMessage, Rcode, RRType, type Edns, type Message, type Question, type RawHeader, type ResourceRecord, EdnsOptionCode, type EdnsOption,
} from '../wire/index.js';

/** RFC 4035 §3.2.1: without DO these are left out, unless they are what was asked for. */
const DNSSEC_TYPES: ReadonlySet<number> = new Set([RRType.RRSIG, RRType.NSEC, RRType.NSEC3]);

export interface ClientQuery {
  readonly id: number;
  readonly opcode: number;
  readonly rd: boolean;
  /** RFC 6840 §5.7: a client may set AD in a query to ask for the AD bit without DO. */
  readonly ad: boolean;
  readonly cd: boolean;
  readonly question: Question;
  readonly edns: Edns | undefined;
}

/** RFC 8914: an Extended DNS Error, told to EDNS clients with a SERVFAIL. */
export interface ExtendedError {
  readonly infoCode: number;
  readonly extraText: string;
}

function replyEdns(client: Edns | undefined, ede?: ExtendedError): Edns | undefined {
  if (!client) return undefined;
  return { udpPayloadSize: DEFAULT_EDNS_UDP_BYTES, version: 0, dnssecOk: client.dnssecOk, options: ede ? [edeOption(ede)] : [] };
}

/** RFC 8914 §2: INFO-CODE (16 bits) then EXTRA-TEXT (UTF-8, at most what keeps answers small). */
function edeOption(ede: ExtendedError): EdnsOption {
  const text = Buffer.from(ede.extraText.slice(0, MAX_EXTRA_TEXT_CHARS), 'utf8');
  const data = new Uint8Array(2 + text.length);
  data[0] = ede.infoCode >>> 8;
  data[1] = ede.infoCode & 0xff;
  data.set(text, 2);
  return { code: EdnsOptionCode.ExtendedDnsError, data };
}

/** EXTRA-TEXT is cut so an error answer stays far below 512 bytes. */
const MAX_EXTRA_TEXT_CHARS = 200;

/** Whether a secure answer gets AD: RFC 4035 §3.2.3 with DO, RFC 6840 §5.7 with AD in the query. */
export function wantsAd(client: Pick<ClientQuery, 'ad' | 'edns'>): boolean {
  return client.ad || (client.edns?.dnssecOk ?? false);
}

export function answerFor(
  client: ClientQuery,
  upstream: Pick<Message, 'rcode' | 'answers' | 'authorities' | 'additionals'>,
  extras: { readonly ad?: boolean; readonly ede?: ExtendedError | undefined } = {},
): Message {
  const wantsDnssec = client.edns?.dnssecOk ?? false;
  const keep = (r: ResourceRecord): boolean => wantsDnssec || !DNSSEC_TYPES.has(r.type) || r.type === client.question.type;
  // An extended RCODE cannot be expressed to a client without EDNS.
  const rcode = upstream.rcode > 0xf && !client.edns ? Rcode.ServFail : upstream.rcode;
  return {
    id: client.id, qr: true, opcode: client.opcode, aa: false, tc: false, rd: client.rd, ra: true,
    ad: extras.ad ?? false, cd: client.cd, rcode,
    questions: [client.question],
    answers: upstream.answers.filter(keep),
    authorities: upstream.authorities.filter(keep),
    additionals: upstream.additionals.filter(keep),
    edns: replyEdns(client.edns, extras.ede),
  };
}

/** An error answer from a header alone (FORMERR, NOTIMP): no question when it could not be read. */
export function errorFor(header: Pick<RawHeader, 'id' | 'opcode' | 'rd' | 'cd'>, rcode: number, question?: Question, edns?: Edns): Message {
  return {
    id: header.id, qr: true, opcode: header.opcode, aa: false, tc: false, rd: header.rd, ra: true,
    ad: false, cd: header.cd, rcode,
    questions: question ? [question] : [], answers: [], authorities: [], additionals: [],
    edns: replyEdns(edns),
  };
}

/** RFC 6891 §6.2.5: the payload a UDP answer may use; at least 512, at most oedns' own 1232. */
export function udpLimit(edns: Edns | undefined): number {
  return udpLimitFor(edns?.udpPayloadSize);
}

/** The same from the client's advertised size alone (undefined: no EDNS). */
export function udpLimitFor(udpPayloadSize: number | undefined): number {
  if (udpPayloadSize === undefined) return CLASSIC_UDP_BYTES;
  return Math.max(CLASSIC_UDP_BYTES, Math.min(udpPayloadSize, DEFAULT_EDNS_UDP_BYTES));
}

/**
 * Encodes for the transport. Over UDP an answer that does not fit first loses its additional
 * section (RFC 2181 §9: no TC needed for that); if still too big, it is sent with TC=1 and only
 * the question, so the client retries over TCP.
 */
export function encodeForTransport(message: Message, limitBytes: number | undefined): Uint8Array {
  const full = encodeMessage(message);
  if (limitBytes === undefined || full.length <= limitBytes) return full;
  const lean = encodeMessage({ ...message, additionals: [] });
  if (lean.length <= limitBytes) return lean;
  return encodeMessage({ ...message, tc: true, answers: [], authorities: [], additionals: [] });
}
