import { Injectable } from '@nestjs/common';
import { InjectMetric, makeCounterProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import { CounterTally } from '@lib/observability';
import type { Counter, Histogram } from 'prom-client';
import type { AttemptOutcome, JobStatus } from './job-lifecycle';

const CREATED = 'jobs_created_total';
const FINISHED = 'jobs_finished_total';
const ATTEMPTS = 'job_attempts_total';
const RUN_DURATION = 'job_run_duration_seconds';
const QUEUE_WAIT = 'job_queue_wait_seconds';
const STALE_WRITES = 'job_stale_writes_total';

/**
 * The two counters every job moves (twice per job) count in tallies, added when /metrics reads
 * them. Module-wide like the registry they flush into: apps in one process share its metrics.
 */
const finishedTally = new CounterTally('type', 'outcome');
const attemptsTally = new CounterTally('type', 'outcome');

// From a millisecond noop to an hour-long job.
const DURATION_BUCKETS = [0.001, 0.005, 0.025, 0.1, 0.5, 1, 5, 30, 120, 600, 3600];

/** The job counters and histograms of CONTRACT §7 (jobs_in_state is JobsInStateGauge). */
export const jobMetricProviders = [
  makeCounterProvider({ name: CREATED, help: 'Jobs accepted, by type.', labelNames: ['type'] }),
  makeCounterProvider({
    name: FINISHED,
    help: 'Jobs that reached a final state, by type and final status.',
    labelNames: ['type', 'outcome'],
    collect() {
      finishedTally.flushInto(this);
    },
  }),
  makeCounterProvider({
    name: ATTEMPTS,
    help:
      'Attempts ended, by type and outcome; "deferred" ones never started (the handler declined, ' +
      "e.g. while its target's circuit was open) and spent no attempt.",
    labelNames: ['type', 'outcome'],
    collect() {
      attemptsTally.flushInto(this);
    },
  }),
  makeHistogramProvider({
    name: RUN_DURATION,
    help: 'Handler run time per attempt.',
    labelNames: ['type'],
    buckets: DURATION_BUCKETS,
  }),
  makeHistogramProvider({
    name: QUEUE_WAIT,
    help: 'Time from when a job could run (runAt) to when its handler started.',
    labelNames: ['type'],
    buckets: DURATION_BUCKETS,
  }),
  makeCounterProvider({
    name: STALE_WRITES,
    help: 'Writes refused because the attempt had lost its lease (fencing), by kind.',
    labelNames: ['kind'],
  }),
];

/** One place that records job metrics, so the engine and the service speak in events. */
@Injectable()
export class JobMetrics {
  constructor(
    @InjectMetric(CREATED) private readonly created: Counter<'type'>,
    @InjectMetric(RUN_DURATION) private readonly runDuration: Histogram<'type'>,
    @InjectMetric(QUEUE_WAIT) private readonly queueWait: Histogram<'type'>,
    @InjectMetric(STALE_WRITES) private readonly staleWrites: Counter<'kind'>,
  ) {}

  jobsCreated(type: string, count = 1): void {
    this.created.inc({ type }, count);
  }

  attemptStarted(type: string, readySince: Date, startedAt: Date): void {
    this.queueWait.observe({ type }, Math.max(0, startedAt.getTime() - readySince.getTime()) / 1000);
  }

  attemptEnded(type: string, outcome: AttemptOutcome | 'deferred', durationMs: number): void {
    attemptsTally.add(type, outcome);
    if (outcome !== 'deferred') this.runDuration.observe({ type }, durationMs / 1000);
  }

  jobFinished(type: string, status: JobStatus): void {
    if (status === 'queued' || status === 'running') return;
    finishedTally.add(type, status);
  }

  staleWrite(kind: 'finish' | 'heartbeat' | 'release', count = 1): void {
    if (count > 0) this.staleWrites.inc({ kind }, count);
  }
}
