/**
 * (b) Idle pickup: `--pickups` sequential submits to an idle worker, submit-start → handler-start.
 * Peers: the handler's performance.now(), mapped onto the bench clock. Ours: the arrival of the
 * `http` job's request at a target in the bench process (see support/pickup-target.ts). For ours
 * on PostgreSQL also the floor: the same submits, over the same client, to a bare Fastify route
 * that only inserts the row (support/bare-api.ts), answer received.
 */
import { join } from 'node:path';
import { BenchChild } from '../support/child';
import { JsonClient } from '../support/json-client';
import type { BenchOptions } from '../support/options';
import { percentile, sleep } from '../support/stats';
import { OursSession } from '../systems/ours';
import type { Metrics, Scenario } from './scenario';

const WARM_UP = 10;

export const pickup: Scenario = {
  key: 'b',
  title: 'idle pickup',
  async run(system, options) {
    const session = await system.open(options);
    try {
      await session.startWorker({ trace: true });
      const samples: number[] = [];
      for (let i = 0; i < WARM_UP + options.pickups; i += 1) {
        await sleep(options.pickupGapMs);
        const ms = await session.pickup();
        if (i >= WARM_UP) samples.push(ms);
      }
      samples.sort((a, b) => a - b);
      const metrics: Metrics = {
        'pickup p50 ms': percentile(samples, 0.5),
        'pickup p95 ms': percentile(samples, 0.95),
        'pickup p99 ms': percentile(samples, 0.99),
      };
      if (session instanceof OursSession && session.storeEnv.DATABASE_URL) {
        Object.assign(metrics, await bareInserts(session, options));
      }
      return metrics;
    } finally {
      await session.close();
    }
  },
};

/** The floor, with the machine to itself as ours had it: the replica stops first. */
async function bareInserts(session: OursSession, options: BenchOptions): Promise<Metrics> {
  await session.stopReplica();
  const { child, port } = await BenchChild.start(join(__dirname, '..', 'support', 'bare-api.ts'), {
    DATABASE_URL: session.storeEnv.DATABASE_URL,
  });
  const client = new JsonClient(`http://127.0.0.1:${port}`, {});
  try {
    const body = JSON.stringify({ type: 'noop', payload: {} });
    const samples: number[] = [];
    for (let i = 0; i < WARM_UP + options.pickups; i += 1) {
      await sleep(options.pickupGapMs);
      const t0 = performance.now();
      const res = await client.post('/v1/jobs', body);
      if (res.status !== 202) throw new Error(`bare POST /v1/jobs → ${res.status} ${res.text}`);
      if (i >= WARM_UP) samples.push(performance.now() - t0);
    }
    samples.sort((a, b) => a - b);
    return {
      'bare Fastify+pg insert p50 ms': percentile(samples, 0.5),
      'bare Fastify+pg insert p99 ms': percentile(samples, 0.99),
    };
  } finally {
    client.close();
    await child.stop();
  }
}
