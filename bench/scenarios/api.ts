/**
 * (c) API: autocannon on authenticated GET /v1/jobs/:id (the bench admin's bearer token), then on
 * the bare Fastify + pg route reading the same row (support/bare-api.ts): req/s, p99 and
 * ours/bare. Ours only (the peers have no HTTP API); the bare route needs PostgreSQL.
 */
import autocannon from 'autocannon';
import type { BenchOptions } from '../support/options';
import { post } from '../support/service';
import { OursSession } from '../systems/ours';
import type { Metrics, Scenario } from './scenario';

async function load(url: string, headers: Record<string, string>, options: BenchOptions): Promise<Metrics> {
  const run = (duration: number) => autocannon({ url, headers, connections: options.connections, duration });
  await run(Math.min(2, options.durationSeconds)); // warm-up: JIT, pools, caches
  const result = await run(options.durationSeconds);
  if (result.errors || result.non2xx) {
    throw new Error(`${url}: ${result.errors} errors, ${result.non2xx} non-2xx of ${result.requests.total}`);
  }
  return { 'req/s': result.requests.average, 'p99 ms': result.latency.p99 };
}

export const api: Scenario = {
  key: 'c',
  title: 'API GET /v1/jobs/:id',
  async run(system, options) {
    if (system.name !== 'ours') return null;
    const session = await OursSession.open(options);
    try {
      await session.startWorker();
      const { url, headers } = session.api;
      const res = await post(url, '/v1/jobs', { type: 'noop', payload: { bench: true } }, headers);
      if (res.status !== 202) throw new Error(`POST /v1/jobs → ${res.status} ${await res.text()}`);
      const { id } = (await res.json()) as { id: string };
      const ours = await load(`${url}/v1/jobs/${id}`, headers, options);
      const metrics: Metrics = { 'API req/s': ours['req/s'], 'API p99 ms': ours['p99 ms'] };
      if (!session.storeEnv.DATABASE_URL) return metrics;
      const bare = await session.withBareApi((bareUrl) => load(`${bareUrl}/v1/jobs/${id}`, {}, options));
      metrics['bare Fastify+pg req/s'] = bare['req/s'];
      metrics['bare Fastify+pg p99 ms'] = bare['p99 ms'];
      metrics['API ours/bare req/s ratio'] = ours['req/s'] / bare['req/s'];
      return metrics;
    } finally {
      await session.close();
    }
  },
};
