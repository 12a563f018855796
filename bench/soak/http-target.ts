/** The local target of the soak's `http` jobs: answers every request at once, counting them. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export class HttpTarget {
  private constructor(
    private readonly server: Server,
    private readonly counter: { hits: number },
    readonly url: string,
  ) {}

  static async start(): Promise<HttpTarget> {
    const counter = { hits: 0 };
    const server = createServer((req, res) => {
      counter.hits += 1;
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '11' }).end('{"ok":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/soak-hook`;
    return new HttpTarget(server, counter, url);
  }

  /** Requests received so far. */
  get hits(): number {
    return this.counter.hits;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
