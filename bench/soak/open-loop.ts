/**
 * The soak's driver: arrivals at a fixed rate whatever the service does (open loop), so a slow
 * service shows up as latency and backlog instead of slowing the client down. Latency counts
 * from when an arrival was due. Outcomes go to one Window per report period.
 */
import { sleep } from '../support/stats';
import { Window } from './window';
import type { Workload } from './workload';

export interface Period {
  /** 1-based. */
  index: number;
  /** performance.now() at the start of the run, of the period and at the period's end. */
  runStartedAt: number;
  beganAt: number;
  endedAt: number;
  /** Arrivals started in this period. */
  arrivals: number;
  /** Requests answered (or failed) in this period, including the tail of the previous one. */
  window: Window;
  /** Jobs the workload submitted (2xx) in this period. */
  jobsSubmitted: number;
}

export interface OpenLoopPlan {
  /** Arrivals per second. */
  rate: number;
  durationMs: number;
  periodMs: number;
  /** Past this many unanswered requests, arrivals are dropped (and count as errors). */
  maxInFlight: number;
}

/** Runs the plan; `onPeriod` gets each period as it ends (called in order, never concurrently). */
export async function driveOpenLoop(
  workload: Workload,
  plan: OpenLoopPlan,
  onPeriod: (period: Period) => Promise<void>,
): Promise<void> {
  const startedAt = performance.now();
  const interval = 1000 / plan.rate;
  const total = Math.floor((plan.durationMs / 1000) * plan.rate);
  let sent = 0;
  let inFlight = 0;
  let reporting = Promise.resolve();
  let period = newPeriod(1, startedAt, startedAt, workload);
  let jobsBefore = workload.jobsSubmitted;

  const closePeriod = (endedAt: number) => {
    const ended = { ...period, endedAt, jobsSubmitted: workload.jobsSubmitted - jobsBefore };
    jobsBefore = workload.jobsSubmitted;
    period = newPeriod(ended.index + 1, startedAt, endedAt, workload);
    reporting = reporting.then(() => onPeriod(ended));
  };

  while (sent < total) {
    const elapsed = performance.now() - startedAt;
    const due = Math.min(total, Math.floor(elapsed / interval) + 1);
    for (; sent < due; sent += 1) {
      const at = startedAt + sent * interval;
      if (at - startedAt >= period.index * plan.periodMs) {
        closePeriod(startedAt + period.index * plan.periodMs);
      }
      period.arrivals += 1;
      if (inFlight >= plan.maxInFlight) {
        period.window.drop();
        continue;
      }
      inFlight += 1;
      void workload.arrive(at).finally(() => (inFlight -= 1));
    }
    await sleep(Math.max(1, Math.min(10, startedAt + sent * interval - performance.now())));
  }
  // The last arrivals get their answers (a stuck request would be a finding, not a hang).
  const deadline = performance.now() + 30_000;
  while (inFlight > 0 && performance.now() < deadline) await sleep(10);
  if (inFlight > 0) for (let i = 0; i < inFlight; i += 1) period.window.record('net', 30_000);
  closePeriod(Math.max(performance.now(), startedAt + plan.durationMs));
  await reporting;
}

/** A period in progress: its window receives the workload's outcomes from now on. */
function newPeriod(index: number, runStartedAt: number, beganAt: number, workload: Workload): Period {
  const window = new Window();
  workload.window = window;
  return { index, runStartedAt, beganAt, endedAt: Number.NaN, arrivals: 0, window, jobsSubmitted: 0 };
}
