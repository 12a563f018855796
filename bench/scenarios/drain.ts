/**
 * (a) Drain: `--jobs` noop jobs enqueued through the bulk API with no worker running, then one
 * worker replica drains them. Drain jobs/s counts from the moment the worker is ready (jobs it
 * finished while starting up are left out of both the count and the time) until the store holds
 * no unfinished job.
 */
import { waitFor } from '../support/stats';
import type { Scenario } from './scenario';

export const drain: Scenario = {
  key: 'a',
  title: 'drain',
  async run(system, options) {
    const session = await system.open(options);
    try {
      await session.prepareEnqueue();
      const t0 = performance.now();
      await session.enqueue(options.jobs);
      const enqueueSeconds = (performance.now() - t0) / 1000;
      await session.startWorker();
      const start = performance.now();
      const before = await session.processed();
      await waitFor(
        async () => (await session.processed()) >= options.jobs && (await session.settled()),
        () => session.processed(),
        { what: 'drain progress' },
      );
      const drainSeconds = (performance.now() - start) / 1000;
      return {
        'enqueue jobs/s': options.jobs / enqueueSeconds,
        // Too few jobs left after start-up to time (tiny --jobs): no number rather than a wrong one.
        'drain jobs/s': before < options.jobs ? (options.jobs - before) / drainSeconds : Number.NaN,
      };
    } finally {
      await session.close();
    }
  },
};
