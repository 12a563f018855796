/**
 * The soak's request mix, through the real API with the bench admin's bearer token: mostly job
 * submits (noop, a few-ms sleep, an http call to the soak's own target), reads of recent jobs,
 * list pages, and now and then a cancel. Every request of the mix is valid, so every answer is
 * expected to be 2xx; anything else is recorded as an error under its status.
 */
import { Pool } from 'undici';
import type { Service } from '../support/service';
import type { Window } from './window';

type Op = 'noop' | 'sleep' | 'http' | 'get' | 'list' | 'cancel';

/** Arrivals per op out of 100. `cancel` is two requests: a delayed job, then its cancel (200). */
const MIX: [Op, number][] = [
  ['noop', 45],
  ['sleep', 10],
  ['http', 10],
  ['get', 20],
  ['list', 12],
  ['cancel', 3],
];
const RECENT = 1024;

export class Workload {
  /** Where outcomes go; the driver swaps it at every report period. */
  window?: Window;
  /** Jobs created (2xx), the delayed ones that the mix cancels at once included. */
  jobsSubmitted = 0;
  private readonly pool: Pool;
  private readonly headers: Record<string, string>;
  private readonly recent: string[] = [];
  private next = 0;
  private picks = 0;

  constructor(
    service: Service,
    private readonly targetUrl: string,
    connections: number,
  ) {
    this.pool = new Pool(service.url, { connections });
    this.headers = { ...service.headers, 'content-type': 'application/json' };
  }

  /** One arrival; `since` (performance.now()) is when it was due, so queueing counts as latency. */
  async arrive(since = performance.now()): Promise<void> {
    switch (this.pick()) {
      case 'noop':
        return this.submit({ type: 'noop', payload: { soak: this.next } }, since);
      case 'sleep':
        return this.submit({ type: 'sleep', payload: { ms: 5, steps: 1 } }, since);
      case 'http':
        return this.submit({ type: 'http', payload: { url: this.targetUrl, body: { soak: true } } }, since);
      case 'get': {
        const id = this.recent[Math.floor(Math.random() * this.recent.length)];
        if (id) return void (await this.call('GET', `/v1/jobs/${id}`, undefined, since));
        return void (await this.call('GET', '/v1/jobs?limit=20', undefined, since));
      }
      case 'list':
        return void (await this.call('GET', '/v1/jobs?limit=20', undefined, since));
      case 'cancel': {
        const delayed = { type: 'sleep', payload: { ms: 5 }, delaySeconds: 3600 };
        const job = await this.call('POST', '/v1/jobs', delayed, since);
        if (!job) return;
        this.jobsSubmitted += 1;
        await this.call('POST', `/v1/jobs/${job.id}/cancel`, {}, performance.now());
      }
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  /** Deterministic interleaving of the mix (a fixed cycle of 100), so short runs hit every op. */
  private pick(): Op {
    let slot = (this.picks++ * 37) % 100;
    for (const [op, weight] of MIX) {
      if (slot < weight) return op;
      slot -= weight;
    }
    return 'noop';
  }

  private async submit(body: object, since: number): Promise<void> {
    const job = await this.call('POST', '/v1/jobs', body, since);
    if (!job) return;
    this.jobsSubmitted += 1;
    this.recent[this.next++ % RECENT] = job.id;
  }

  /** The parsed body of a 2xx answer, undefined otherwise (recorded as an error). */
  private async call(
    method: 'GET' | 'POST',
    path: string,
    body: object | undefined,
    since: number,
  ): Promise<{ id: string } | undefined> {
    try {
      const res = await this.pool.request({
        method,
        path,
        headers: this.headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      const parsed = ok && method === 'POST' ? ((await res.body.json()) as { id: string }) : undefined;
      if (!parsed) await res.body.dump();
      this.window?.record(res.statusCode, performance.now() - since);
      return ok ? (parsed ?? { id: '' }) : undefined;
    } catch {
      this.window?.record('net', performance.now() - since);
      return undefined;
    }
  }
}
