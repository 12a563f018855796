/**
 * (b) Idle pickup: `--pickups` sequential submits to an idle worker, submit-start → handler-start.
 * Peers: the handler's performance.now(), mapped onto the bench clock. Ours: the arrival of the
 * `http` job's request at a target in the bench process (see support/pickup-target.ts).
 */
import { percentile, sleep } from '../support/stats';
import type { Scenario } from './scenario';

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
      return {
        'pickup p50 ms': percentile(samples, 0.5),
        'pickup p95 ms': percentile(samples, 0.95),
        'pickup p99 ms': percentile(samples, 0.99),
      };
    } finally {
      await session.close();
    }
  },
};
