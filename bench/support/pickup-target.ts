/**
 * The target of our pickup probes: an `http` job calls it, and the moment its request arrives
 * here stands for "handler started", on the same clock as the submit. It is later than the true
 * handler start by the handler's outgoing request, so ours is measured slightly pessimistically.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export class PickupTarget {
  private constructor(
    private readonly server: Server,
    private readonly waiting: ((at: number) => void)[],
    readonly url: string,
  ) {}

  static async start(): Promise<PickupTarget> {
    const waiting: ((at: number) => void)[] = [];
    const server = createServer((req, res) => {
      const at = performance.now();
      waiting.shift()?.(at);
      req.resume();
      res.writeHead(200, { 'content-length': '2' }).end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pickup`;
    return new PickupTarget(server, waiting, url);
  }

  /** performance.now() at the arrival of the next request. */
  next(): Promise<number> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
