/** All listening sockets of one oedns: a UDP and a TCP listener per configured address. */
import { formatEndpoint, type Endpoint } from '../config/index.js';
import type { ListenError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { QueryHandler } from './handler.js';
import { TcpListener, type TcpOptions } from './tcp-listener.js';
import { UdpListener } from './udp-listener.js';

interface Pair {
  readonly udp: UdpListener;
  readonly tcp: TcpListener;
}

export class Listeners {
  private readonly pairs = new Map<string, Pair>();

  constructor(private readonly handler: QueryHandler, private tcpOptions: TcpOptions, private readonly log: Logger) {}

  get endpoints(): Endpoint[] {
    return [...this.pairs.values()].map((p) => p.udp.endpoint);
  }

  /** Opens one address over UDP and TCP, or neither (a failure closes what was opened). */
  async open(endpoint: Endpoint): Promise<void> {
    const key = formatEndpoint(endpoint);
    if (this.pairs.has(key)) return;
    const udp = new UdpListener(endpoint, this.handler, this.log);
    const tcp = new TcpListener(endpoint, this.handler, this.tcpOptions, this.log);
    await udp.start();
    try {
      await tcp.start();
    } catch (error) {
      await udp.stop();
      throw error as ListenError;
    }
    this.pairs.set(key, { udp, tcp });
    this.log.info({ listen: key }, 'listening (udp, tcp)');
  }

  async close(endpoint: Endpoint): Promise<void> {
    const key = formatEndpoint(endpoint);
    const pair = this.pairs.get(key);
    if (!pair) return;
    this.pairs.delete(key);
    await Promise.all([pair.udp.stop(), pair.tcp.stop()]);
    this.log.info({ listen: key }, 'stopped listening');
  }

  reconfigure(tcpOptions: TcpOptions): void {
    this.tcpOptions = tcpOptions;
    for (const pair of this.pairs.values()) pair.tcp.reconfigure(tcpOptions);
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.endpoints.map((e) => this.close(e)));
  }
}
