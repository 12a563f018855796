/**
 * A lean HTTP client for the latency scenario: node:http on one kept-alive socket. fetch costs the
 * bench process a few hundred microseconds per request (WHATWG streams and headers), which would
 * count against the service in a submit → start measurement; the peers submit in-process.
 */
import { Agent, request } from 'node:http';

export class JsonClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private readonly origin: URL;

  constructor(
    url: string,
    private readonly headers: Record<string, string>,
  ) {
    this.origin = new URL(url);
  }

  /** POSTs `body` (already JSON); resolves with the status once the whole answer is read. */
  post(path: string, body: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.origin.hostname,
          port: this.origin.port,
          path,
          method: 'POST',
          agent: this.agent,
          headers: {
            ...this.headers,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
