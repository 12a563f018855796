import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** One call an `http` job made: the job, its attempt, and when the call came and was answered. */
export interface TargetCall {
  jobId: string;
  attempt: number;
  receivedAt: number;
  answeredAt?: number;
}

/**
 * The outside world of `http` jobs, in the test (or chaos) process: it records every call, so a
 * job's side effects can be counted even when the service runs as another process.
 * `POST /work?ms=N` answers 200 after N ms; `POST /hold` answers when `release()` is called.
 */
export class JobTarget {
  readonly calls: TargetCall[] = [];
  private readonly held = new Set<() => void>();
  private readonly responses = new Set<ServerResponse>();
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.serve(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  /** Calls per job id. */
  counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const call of this.calls) counts.set(call.jobId, (counts.get(call.jobId) ?? 0) + 1);
    return counts;
  }

  callsFor(jobId: string): TargetCall[] {
    return this.calls.filter((call) => call.jobId === jobId);
  }

  /** Answers every held call now. */
  release(): void {
    for (const answer of [...this.held]) answer();
  }

  async stop(): Promise<void> {
    this.release();
    for (const res of this.responses) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const call: TargetCall = {
      jobId: String(req.headers['x-job-id'] ?? ''),
      attempt: Number(req.headers['x-job-attempt'] ?? 0),
      receivedAt: Date.now(),
    };
    this.calls.push(call);
    this.responses.add(res);
    const answer = (): void => {
      this.held.delete(answer);
      this.responses.delete(res);
      if (res.destroyed) return;
      call.answeredAt = Date.now();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    };
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://target');
      if (url.pathname === '/hold') this.held.add(answer);
      else setTimeout(answer, Number(url.searchParams.get('ms') ?? 0));
    });
  }
}
