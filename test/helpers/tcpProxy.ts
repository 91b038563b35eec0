import net from 'node:net';

export type ProxyMode = 'forward' | 'cut' | 'stall';

/**
 * A TCP proxy a test controls, in front of a real server (PostgreSQL, Redis):
 * - `forward`: passes bytes both ways;
 * - `cut`: resets every open connection and every new one (a database that went away);
 * - `stall`: keeps connections open but forwards nothing (a network partition: no RST, no answer).
 */
export class TcpProxy {
  private mode: ProxyMode = 'forward';
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = net.createServer((client) => proxy!.accept(client, targetHost, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  /** `postgres://user@host:port/db` with host and port replaced by the proxy's. */
  rewrite(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }

  setMode(mode: ProxyMode): void {
    this.mode = mode;
    if (mode === 'cut') {
      for (const pair of this.pairs) {
        pair.client.resetAndDestroy();
        pair.upstream.destroy();
      }
      this.pairs.clear();
    }
    for (const pair of this.pairs) {
      if (mode === 'stall') {
        pair.client.pause();
        pair.upstream.pause();
      } else {
        pair.client.resume();
        pair.upstream.resume();
      }
    }
  }

  async close(): Promise<void> {
    this.setMode('cut');
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket, host: string, port: number): void {
    if (this.mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(port, host);
    const pair = { client, upstream };
    this.pairs.add(pair);
    // Data is written only while forwarding: a stalled pair holds what arrives, unanswered.
    client.on('data', (chunk) => {
      if (this.mode === 'forward') upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (this.mode === 'forward') client.write(chunk);
    });
    const end = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
    if (this.mode === 'stall') {
      client.pause();
      upstream.pause();
    }
  }
}
