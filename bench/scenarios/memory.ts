/**
 * (d) Memory: RSS of the worker process (/proc/<pid>/status VmRSS) idle after ready, then while
 * `--memory-jobs` noop jobs are fed (1,000 per call, backlog kept under `--backlog`) and drained:
 * after the warm-up (first tenth), the peak, and after the last one. Flat means "after" within
 * 10 % of "after warm-up". Ours is fed through the same replica (its API is part of it); the
 * peers' submitter is the bench process.
 */
import { rssMb, rssSampler } from '../support/rss';
import { sleep, stallGuard } from '../support/stats';
import { BATCH } from '../systems/system';
import type { Scenario } from './scenario';

export const memory: Scenario = {
  key: 'd',
  title: 'memory',
  async run(system, options) {
    const total = options.memoryJobs;
    const warmUp = Math.ceil(total / 10);
    const session = await system.open(options);
    try {
      await session.startWorker();
      const pid = session.workerPid();
      await sleep(options.idleSeconds * 1000);
      const idle = rssMb(pid);
      const sampler = rssSampler(pid);
      const start = performance.now();
      let submitted = 0;
      let warm = Number.NaN;
      const observe = stallGuard('memory-run progress');
      for (;;) {
        const done = await session.processed();
        observe(done);
        if (Number.isNaN(warm) && done >= warmUp) warm = rssMb(pid);
        if (done >= total && (await session.drained(total))) break;
        if (submitted >= total || submitted - done >= options.backlog) {
          await sleep(20);
          continue;
        }
        while (submitted < total && submitted - done < options.backlog) {
          const size = Math.min(BATCH, total - submitted);
          await session.enqueue(size);
          submitted += size;
        }
      }
      const seconds = (performance.now() - start) / 1000;
      const after = rssMb(pid);
      const peak = Math.max(sampler.stop(), after);
      return {
        'RSS idle MB': idle,
        'RSS after warm-up MB': warm,
        'RSS peak MB': peak,
        'RSS after all MB': after,
        'RSS growth after warm-up %': ((after - warm) / warm) * 100,
        'fed+drained jobs/s': total / seconds,
      };
    } finally {
      await session.close();
    }
  },
};
