import { setTimeout as sleep } from 'node:timers/promises';
import type { Random } from './random';
import type { Replica } from './replica';

export interface LoadFigures {
  accepted: string[];
  requests: number;
  /** 503 with Retry-After: the store was unreachable from that replica. */
  unavailable: number;
  /** No answer in time or the connection dropped: the replica was frozen, killed or stopping. */
  unanswered: number;
  /** Anything else that is not 2xx (a 500, a 503 without Retry-After): a defect. */
  unexpected: string[];
}

/**
 * Clients submitting jobs to random replicas while faults happen: single jobs and small batches
 * of `http` jobs (calls to the chaos target, the side effect counted per attempt) and `sleep`
 * jobs. Only 2xx answers count as accepted.
 */
export class Load {
  readonly figures: LoadFigures = {
    accepted: [],
    requests: 0,
    unavailable: 0,
    unanswered: 0,
    unexpected: [],
  };
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly random: Random,
    private readonly replicas: Replica[],
    private readonly targetUrl: string,
  ) {}

  start(clients: number, pauseMs: number): void {
    this.running = true;
    this.loops = Array.from({ length: clients }, () => this.loop(pauseMs));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private job(): Record<string, unknown> {
    if (this.random.next() < 0.3) return { type: 'sleep', payload: { ms: this.random.int(50, 3000) } };
    return {
      type: 'http',
      payload: { url: `${this.targetUrl}/work?ms=${this.random.int(20, 1500)}`, timeoutMs: 10_000 },
      maxAttempts: 10,
    };
  }

  private async loop(pauseMs: number): Promise<void> {
    while (this.running) {
      const replica = this.random.pick(this.replicas.filter((r) => r.up));
      if (replica?.api) {
        const batch = this.random.next() < 0.2;
        const body = batch
          ? { jobs: Array.from({ length: this.random.int(2, 5) }, () => this.job()) }
          : this.job();
        await this.submit(replica, batch, body);
      }
      await sleep(pauseMs);
    }
  }

  private async submit(replica: Replica, batch: boolean, body: unknown): Promise<void> {
    const f = this.figures;
    f.requests += 1;
    let answer;
    try {
      answer = await replica.api!.request('POST', batch ? '/v1/jobs/batch' : '/v1/jobs', body, 5000);
    } catch {
      f.unanswered += 1; // the connection dropped: the process died under the request
      return;
    }
    if (answer.status === 0) f.unanswered += 1;
    else if (answer.status === 503 && answer.headers.get('retry-after')) f.unavailable += 1;
    else if (answer.status !== 202)
      f.unexpected.push(`${replica.name}: ${answer.status} ${answer.body.slice(0, 200)}`);
    else if (batch) {
      const { results } = JSON.parse(answer.body) as { results: { job?: { id: string } }[] };
      for (const result of results) if (result.job) f.accepted.push(result.job.id);
    } else f.accepted.push((JSON.parse(answer.body) as { id: string }).id);
  }
}
