/**
 * (b) Idle pickup: `--pickups` sequential submits to an idle worker, submit-start → handler-start.
 * Peers: the handler's performance.now(), mapped onto the bench clock. Ours: the arrival of the
 * `http` job's request at a target in the bench process (see support/pickup-target.ts). For ours
 * on PostgreSQL also the floor: the same submits, over the same client, to a bare Fastify route
 * that only inserts the row (support/bare-api.ts), answer received.
 */
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
      const samples = await sequential(options, () => session.pickup());
      const metrics: Metrics = {
        'pickup p50 ms': percentile(samples, 0.5),
        'pickup p95 ms': percentile(samples, 0.95),
        'pickup p99 ms': percentile(samples, 0.99),
      };
      if (session instanceof OursSession && session.storeEnv.DATABASE_URL) {
        const floor = await session.withBareApi((url) => bareInserts(url, options));
        metrics['bare Fastify+pg insert p50 ms'] = percentile(floor, 0.5);
        metrics['bare Fastify+pg insert p99 ms'] = percentile(floor, 0.99);
      }
      return metrics;
    } finally {
      await session.close();
    }
  },
};

/** `--pickups` timings of `once`, each after the idle gap, past a few unmeasured ones; ascending. */
async function sequential(options: BenchOptions, once: () => Promise<number>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < WARM_UP + options.pickups; i += 1) {
    await sleep(options.pickupGapMs);
    const ms = await once();
    if (i >= WARM_UP) samples.push(ms);
  }
  return samples.sort((a, b) => a - b);
}

/** The floor: the same submits, answer received, from the bare route that only inserts the row. */
async function bareInserts(url: string, options: BenchOptions): Promise<number[]> {
  const client = new JsonClient(url, {});
  const body = JSON.stringify({ type: 'noop', payload: {} });
  try {
    return await sequential(options, async () => {
      const t0 = performance.now();
      const res = await client.post('/v1/jobs', body);
      if (res.status !== 202) throw new Error(`bare POST /v1/jobs → ${res.status} ${res.text}`);
      return performance.now() - t0;
    });
  } finally {
    client.close();
  }
}
