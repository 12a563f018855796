/** What every benchmarked system offers the scenarios: one instance on its own throwaway store. */

export type SystemName = 'ours' | 'pg-boss' | 'graphile-worker';

export interface BenchContext {
  /** PostgreSQL server for the throwaway databases; unset: ours runs on the embedded store. */
  databaseUrl?: string;
  /** Extra environment for our service (tuning, e.g. JOBS_CONCURRENCY), from --env. */
  oursEnv: Record<string, string>;
  /** Bulk calls kept in flight while enqueueing, the same for every system (--enqueue-in-flight). */
  enqueueInFlight: number;
}

export interface Session {
  /** Brings up what enqueue() submits through (ours: an API-only replica), outside any timing. */
  prepareEnqueue(): Promise<void>;
  /** Enqueues `count` noop jobs through the system's bulk API, 1,000 per call, `enqueueInFlight` calls at a time. */
  enqueue(count: number): Promise<void>;
  /** Starts one worker replica (its own process) and resolves once it is ready. */
  startWorker(options?: { trace?: boolean }): Promise<void>;
  /** noop jobs finished so far (ours: committed; peers: handled, committed a little later). */
  processed(): Promise<number>;
  /**
   * True once all `jobs` noop jobs are finished and committed. A drain asks every 20 ms, so it
   * must cost the store next to nothing, which processed() need not (ours scrapes /metrics).
   */
  drained(jobs: number): Promise<boolean>;
  /** The worker process, for its RSS. */
  workerPid(): number;
  /** The process that enqueue() talks to, if it is not the bench process (ours: the API replica). */
  enqueuePid(): number | undefined;
  /** Submits one job to an idle worker; resolves with submit-start → handler-start in ms. */
  pickup(): Promise<number>;
  /** Stops every process it started and drops its store. */
  close(): Promise<void>;
}

export interface System {
  readonly name: SystemName;
  /** The settings it runs with, for the report. */
  readonly settings: string;
  open(context: BenchContext): Promise<Session>;
}

export const BATCH = 1000;

/** Splits `count` into calls of at most BATCH. */
function* batches(count: number): Generator<number> {
  for (let left = count; left > 0; left -= BATCH) yield Math.min(BATCH, left);
}

/** Sends `count` jobs in calls of at most BATCH, `inFlight` calls at a time (as a client with that many connections would). */
export async function sendInBatches(
  count: number,
  inFlight: number,
  send: (size: number) => Promise<void>,
): Promise<void> {
  const sizes = batches(count);
  const lane = async () => {
    for (let next = sizes.next(); !next.done; next = sizes.next()) await send(next.value);
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
}
