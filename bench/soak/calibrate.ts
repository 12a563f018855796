/**
 * The peak the soak scales from: the same request mix in a closed loop (`connections` requests
 * at a time, each sent when the previous one is answered) for `seconds`, the first quarter
 * unmeasured (JIT, pools, caches). The sustained peak is the lower of two rates, in arrivals/s:
 * what the API answered without error, and what was drained (jobs reaching a final state per
 * second, divided by the jobs one arrival creates): a rate the worker cannot follow would only
 * pile up.
 */
import { sleep, waitFor } from '../support/stats';
import { type ServiceProbe, totalFinished } from './service-probe';
import { Window } from './window';
import type { Workload } from './workload';

export interface Peak {
  /** Arrivals/s answered with 2xx. */
  answered: number;
  /** Arrivals/s whose jobs the worker finished at the same pace. */
  drained: number;
  sustained: number;
  /** Errors during the measured part, e.g. "none" or "503×2". */
  errors: string;
  /** p99 latency in ms during the measured part (closed loop: not comparable to the run's). */
  p99: number;
}

export async function measurePeak(
  workload: Workload,
  probe: ServiceProbe,
  seconds: number,
  connections: number,
): Promise<Peak> {
  let stop = false;
  let arrivals = 0;
  const loops = Array.from({ length: connections }, async () => {
    while (!stop) {
      await workload.arrive();
      arrivals += 1;
    }
  });
  await sleep((seconds * 1000) / 4);
  const window = new Window();
  workload.window = window;
  const before = {
    arrivals,
    jobs: workload.jobsSubmitted,
    done: await finished(probe),
    at: performance.now(),
  };
  await sleep((seconds * 1000 * 3) / 4);
  const after = {
    arrivals,
    jobs: workload.jobsSubmitted,
    done: await finished(probe),
    at: performance.now(),
  };
  stop = true;
  await Promise.all(loops);
  workload.window = undefined;

  const elapsed = (after.at - before.at) / 1000;
  const measured = after.arrivals - before.arrivals;
  const answered = (measured * (1 - window.errorCount / Math.max(1, window.requests))) / elapsed;
  const jobsPerArrival = (after.jobs - before.jobs) / Math.max(1, measured);
  const drained = (after.done - before.done) / elapsed / jobsPerArrival;
  return {
    answered,
    drained,
    sustained: Math.min(answered, drained),
    errors: window.describeErrors(),
    p99: window.latency(0.99),
  };
}

/** Waits until the calibration's backlog has run, so the soak starts from an empty queue. */
export async function drainBacklog(probe: ServiceProbe): Promise<void> {
  await waitFor(
    () => finished(probe),
    async () => (await probe.jobs()).queued === 0,
    { intervalMs: 500, what: 'jobs finished while draining the calibration backlog' },
  );
}

const finished = async (probe: ServiceProbe) => totalFinished(await probe.jobs());
