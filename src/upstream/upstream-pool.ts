/**
 * Forwarding to the upstream resolvers: each query gets a random ID and a fresh random source
 * port, asks with EDNS0 (1232-byte buffer) and DO=1 so RRSIGs come back for validation, retries
 * a truncated answer over TCP, and fails over across servers. A server that times out or
 * refuses the connection is skipped for `deadSeconds` while others are alive.
 */
import { randomInt } from 'node:crypto';
import type { Endpoint, UpstreamConfig } from '../config/index.js';
import { formatEndpoint } from '../config/index.js';
import { deadline, type Deadline } from '../core/deadline.js';
import { errorMessage, UpstreamError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { RateLimitedLog } from '../core/log.js';
import { DEFAULT_EDNS_UDP_BYTES, encodeMessage, Opcode, Rcode, typeName, type Message, type Question } from '../wire/index.js';
import { exchangeTcp } from './tcp-exchange.js';
import type { ExchangeObserver } from './exchange.js';
import { exchangeUdp } from './udp-exchange.js';

interface ServerState {
  readonly endpoint: Endpoint;
  deadUntilMs: number;
}

export interface UpstreamAnswer {
  readonly message: Message;
  readonly server: Endpoint;
  readonly transport: 'udp' | 'tcp';
}

/** Answers that mean "this server cannot help now": try the next one. */
const TRY_NEXT_RCODES: ReadonlySet<number> = new Set([Rcode.ServFail, Rcode.Refused, Rcode.NotImp]);

export class UpstreamPool {
  private servers: ServerState[];
  private readonly rejectedLog: RateLimitedLog;

  constructor(
    private config: UpstreamConfig,
    private readonly log: Logger,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.servers = config.servers.map((endpoint) => ({ endpoint, deadUntilMs: 0 }));
    this.rejectedLog = new RateLimitedLog(log);
  }

  reconfigure(config: UpstreamConfig): void {
    const previous = new Map(this.servers.map((s) => [formatEndpoint(s.endpoint), s]));
    this.config = config;
    this.servers = config.servers.map((endpoint) => previous.get(formatEndpoint(endpoint)) ?? { endpoint, deadUntilMs: 0 });
  }

  get endpoints(): readonly Endpoint[] {
    return this.servers.map((s) => s.endpoint);
  }

  /** Live servers in configured order, then dead ones, the soonest to revive first. */
  private order(): ServerState[] {
    const now = this.nowMs();
    const alive = this.servers.filter((s) => s.deadUntilMs <= now);
    const dead = this.servers.filter((s) => s.deadUntilMs > now).sort((a, b) => a.deadUntilMs - b.deadUntilMs);
    return [...alive, ...dead];
  }

  /**
   * Asks the servers in turn until one answers usefully. The whole query is bounded by
   * query-timeout-ms: each step's own deadline is the attempt timeout or what is left of that,
   * whichever is shorter (one timer per step, none for the query as a whole).
   */
  async query(question: Question, cd: boolean, signal: AbortSignal): Promise<UpstreamAnswer> {
    const queryEndMs = this.nowMs() + this.config.queryTimeoutMs;
    const failures: string[] = [];
    let fallback: UpstreamAnswer | undefined;
    // Two rounds over the servers: one lost datagram should not fail a query.
    for (let round = 0; round < 2; round++) {
      for (const server of this.order()) {
        if (this.nowMs() >= queryEndMs) break;
        try {
          const answer = await this.ask(server, question, cd, signal, queryEndMs);
          if (!TRY_NEXT_RCODES.has(answer.message.rcode)) {
            server.deadUntilMs = 0;
            return answer;
          }
          fallback ??= answer;
          failures.push(`${formatEndpoint(server.endpoint)} answered rcode ${answer.message.rcode}`);
        } catch (error) {
          if (signal.aborted) throw error;
          failures.push(`${formatEndpoint(server.endpoint)}: ${errorMessage(error)}`);
          this.markDead(server, errorMessage(error));
        }
      }
      if (fallback) return fallback;
    }
    throw new UpstreamError(`no upstream answered ${question.name}/${typeName(question.type)}: ${failures.join('; ') || 'query timed out'}`);
  }

  private markDead(server: ServerState, reason: string): void {
    const wasAlive = server.deadUntilMs <= this.nowMs();
    server.deadUntilMs = this.nowMs() + this.config.deadSeconds * 1000;
    if (wasAlive) this.log.warn({ upstream: formatEndpoint(server.endpoint), reason, skipSeconds: this.config.deadSeconds }, 'upstream marked dead');
  }

  private stepDeadline(signal: AbortSignal, queryEndMs: number, what: string): Deadline {
    return deadline(signal, Math.max(1, Math.min(this.config.attemptTimeoutMs, queryEndMs - this.nowMs())), what);
  }

  /** One server: UDP, then (EDNS fallback or) TCP, each step bounded by the attempt timeout. */
  private async ask(server: ServerState, question: Question, cd: boolean, signal: AbortSignal, queryEndMs: number): Promise<UpstreamAnswer> {
    const attempt = this.stepDeadline(signal, queryEndMs, `upstream ${formatEndpoint(server.endpoint)}`);
    try {
      return await this.exchange(server, question, cd, signal, queryEndMs, attempt.signal);
    } finally {
      attempt.dispose();
    }
  }

  private async exchange(server: ServerState, question: Question, cd: boolean, signal: AbortSignal, queryEndMs: number, attempt: AbortSignal): Promise<UpstreamAnswer> {
    const observer: ExchangeObserver = {
      rejected: (reason) => this.rejectedLog.debug({ upstream: formatEndpoint(server.endpoint), qname: question.name, reason }, 'upstream answer ignored'),
    };
    const id = randomInt(0, 0x10000);
    const query = encodeMessage(buildQuery(id, question, cd, true));
    const sent = { id, question };
    let message = await exchangeUdp(server.endpoint, query, sent, attempt, observer);
    // RFC 6891 §7: a server that does not know EDNS answers FORMERR (or NOTIMP); ask again plainly.
    if ((message.rcode === Rcode.FormErr || message.rcode === Rcode.NotImp) && !message.edns) {
      const plainId = randomInt(0, 0x10000);
      message = await exchangeUdp(server.endpoint, encodeMessage(buildQuery(plainId, question, cd, false)), { id: plainId, question }, attempt, observer);
    }
    if (!message.tc) return { message, server: server.endpoint, transport: 'udp' };
    // RFC 7766 §5: a truncated UDP answer is retried over TCP.
    this.log.debug({ upstream: formatEndpoint(server.endpoint), qname: question.name }, 'truncated upstream answer; retrying over TCP');
    const tcpId = randomInt(0, 0x10000);
    const tcpQuery = encodeMessage(buildQuery(tcpId, question, cd, true));
    const tcpAttempt = this.stepDeadline(signal, queryEndMs, `upstream ${formatEndpoint(server.endpoint)} over TCP`);
    try {
      const tcpMessage = await exchangeTcp(server.endpoint, tcpQuery, { id: tcpId, question }, tcpAttempt.signal, observer);
      return { message: tcpMessage, server: server.endpoint, transport: 'tcp' };
    } finally {
      tcpAttempt.dispose();
    }
  }
}

export function buildQuery(id: number, question: Question, cd: boolean, edns: boolean): Message {
  return {
    id, qr: false, opcode: Opcode.Query, aa: false, tc: false, rd: true, ra: false, ad: false, cd, rcode: 0,
    questions: [question], answers: [], authorities: [], additionals: [],
    edns: edns ? { udpPayloadSize: DEFAULT_EDNS_UDP_BYTES, version: 0, dnssecOk: true, options: [] } : undefined,
  };
}
