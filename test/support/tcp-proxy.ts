import { createServer, type Server, type Socket, connect } from 'node:net';

/**
 * A TCP proxy the test controls, to cut the service off from its store and restore it.
 * `cut()` drops every open connection and refuses new ones until `restore()`; `refuse()` drops
 * them too, and answers new ones as PostgreSQL does a session it will not serve.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private server?: Server;
  private open = true;
  private refusal?: Buffer;
  port = 0;
  /** Connections refused while cut: how hard the service knocks during an outage. */
  refused = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<this> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  cut(): void {
    this.open = false;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  restore(): void {
    this.open = true;
    this.refusal = undefined;
  }

  /**
   * Like `cut()`, but each new connection gets, after its startup message, a FATAL
   * ErrorResponse with this SQLSTATE (protocol 3.0: 'E', length, fields, a closing zero byte).
   */
  refuse(code: string, message: string): void {
    this.cut();
    const fields = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`);
    const header = Buffer.alloc(5);
    header.write('E');
    header.writeInt32BE(fields.length + 4, 1);
    this.refusal = Buffer.concat([header, fields]);
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** The same URL with host and port replaced by the proxy's. */
  urlFor(target: string): string {
    const url = new URL(target);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  private accept(client: Socket): void {
    const refusal = this.refusal;
    if (refusal) {
      this.refused += 1;
      client.on('error', () => client.destroy());
      client.once('data', () => client.end(refusal));
      return;
    }
    if (!this.open) {
      this.refused += 1;
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, this.targetHost);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => this.sockets.delete(socket));
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  }
}
