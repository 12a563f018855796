import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Responder = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A local HTTP server standing in for the outside world of `http` jobs. Each `path()` is fresh,
 * so tests share nothing; `hits()` counts requests per path and `closed()` resolves when the
 * client dropped that path's latest connection before the response ended.
 */
export class LocalTarget {
  private readonly responders = new Map<string, Responder>();
  private readonly counts = new Map<string, number>();
  private readonly drops = new Map<string, Promise<void>>();
  private readonly server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    this.counts.set(path, (this.counts.get(path) ?? 0) + 1);
    this.drops.set(path, new Promise((resolve) => res.on('close', () => !res.writableEnded && resolve())));
    (this.responders.get(path) ?? ((_, r) => r.writeHead(404).end()))(req, res);
  });
  port = 0;

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** A fresh URL on `host` (as written in the job's payload) answered by `respond`. */
  path(respond: Responder, host = '127.0.0.1'): string {
    const path = `/${randomUUID()}`;
    this.responders.set(path, respond);
    return `http://${host}:${this.port}${path}`;
  }

  hits(url: string): number {
    return this.counts.get(new URL(url).pathname) ?? 0;
  }

  closed(url: string): Promise<void> | undefined {
    return this.drops.get(new URL(url).pathname);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
