import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { storableJson, storableText } from '@lib/common';
import { type ArrayElement, arrayLiteral } from '@lib/database';
import { compareClaimOrder } from './claim-order';
import type { AttemptOutcome, JobStatus } from './job-lifecycle';
import { JobSignals } from './job-signals';

/** A job a worker holds: enough to run it and to fence every write it makes. */
export interface ClaimedJob {
  id: string;
  type: string;
  name: string | null;
  ownerId: string;
  priority: number;
  payload: unknown;
  /** Attempts spent of the budget, this one included. */
  attempts: number;
  /** With `attempts`, this attempt's number (job-lifecycle.ts, attemptNumber). */
  attemptOffset: number;
  maxAttempts: number;
  timeoutSeconds: number;
  backoffBaseSeconds: number;
  backoffMaxSeconds: number;
  leaseToken: string;
  runAt: Date;
  createdAt: Date;
  /** When this worker took it, on the monotonic clock (performance.now): how long it is buffered. */
  claimedAt: number;
}

/** A claimed job as the claim's row holds it: times in epoch milliseconds. */
type ClaimedRow = Omit<ClaimedJob, 'runAt' | 'createdAt' | 'claimedAt'> & {
  runAt: number;
  createdAt: number;
};

/** How one attempt ended, as the worker decided it; the store may still turn it into `cancelled`. */
export interface AttemptEnd {
  id: string;
  leaseToken: string;
  status: Exclude<JobStatus, 'running'>;
  /** `deferred`: the attempt never started (JobDeferral); it leaves no attempt-history row. */
  outcome: AttemptOutcome | 'deferred';
  /** Serialised JSON of the result, for `succeeded`. */
  resultJson?: string;
  errorCode?: string;
  errorMessage?: string;
  /** When the job runs again, for `queued`. */
  runAt?: Date;
  /** An interrupted (shutdown drain) or deferred attempt does not count against the budget. */
  unspend?: boolean;
  progress?: number;
  progressMessage?: string | null;
  startedAt: Date;
  finishedAt: Date;
}

/** A lease renewal, optionally carrying the latest progress. */
export interface LeaseTouch {
  id: string;
  leaseToken: string;
  progress?: number;
  progressMessage?: string | null;
}

export interface JobMove {
  id: string;
  type: string;
  status: JobStatus;
  leaseToken?: string;
}

/**
 * The worker's SQL. Every statement handles a whole batch in one round trip, and every write is
 * fenced: it applies only while the job is `running` under the writer's lease token (CONTRACT
 * §5), so a worker whose lease was taken over can change nothing. Callers learn which items were
 * refused from what the statement returns.
 */
@Injectable()
export class JobStore {
  constructor(
    private readonly dataSource: DataSource,
    private readonly signals: JobSignals,
  ) {}

  /**
   * Takes up to `limit` ready jobs of the given types in claim order: one statement, with SKIP
   * LOCKED so concurrent workers never wait on, or take, each other's rows. Each claimed job
   * gets a new lease token, which fences every later write of this attempt.
   */
  async claim(types: string[], limit: number, leaseSeconds: number, workerId: string): Promise<ClaimedJob[]> {
    // jobs_claim (migration 1796200000000) is one statement that takes rows from job_queue with
    // FOR UPDATE SKIP LOCKED, marks their jobs running and leases them; it pins its plan, which
    // each connection keeps (PL/pgSQL, migration 1796300000000).
    // The times come as epoch milliseconds and become Dates here: the driver's parser for
    // timestamptz text took ~5 % of the worker's CPU on a drain of noop jobs (profile). Truncated
    // to the millisecond first, as that parser and a Date truncate, and rounded: the float8 is
    // within a thousandth of a millisecond of a whole one.
    const rows = await this.rows<ClaimedRow>(
      `SELECT id, type, name, owner_id AS "ownerId", priority, payload, attempts,
         attempt_offset AS "attemptOffset",
         max_attempts AS "maxAttempts", timeout_seconds AS "timeoutSeconds",
         backoff_base_seconds AS "backoffBaseSeconds", backoff_max_seconds AS "backoffMaxSeconds",
         lease_token AS "leaseToken",
         date_part('epoch', date_trunc('milliseconds', run_at)) * 1000 AS "runAt",
         date_part('epoch', date_trunc('milliseconds', created_at)) * 1000 AS "createdAt"
       FROM jobs_claim($1::text[], $2, $3, $4)`,
      [types, limit, leaseSeconds, workerId],
    );
    // Converted in place, not copied: one object per claimed job is enough garbage.
    const claimedAt = performance.now();
    const jobs = rows.map((row) => {
      const job = row as unknown as ClaimedJob;
      job.runAt = new Date(Math.round(row.runAt));
      job.createdAt = new Date(Math.round(row.createdAt));
      job.claimedAt = claimedAt;
      return job;
    });
    // RETURNING follows no particular order; start them in the order they were chosen.
    return jobs.sort(compareClaimOrder);
  }

  /**
   * Records finished attempts: moves each job on and appends its attempt row (but for a success,
   * which the job row records), in one statement.
   * A cancel requested meanwhile wins (the job ends `cancelled`). Returns the jobs moved; the
   * others were fenced off. What handlers reported is made storable first (storableJson, storableText).
   */
  async finish(ends: AttemptEnd[]): Promise<JobMove[]> {
    if (ends.length === 0) return [];
    // In id order, the order in which every statement here locks jobs and leases (byId).
    const sorted = [...ends].sort(byId);
    // Array literals built here, not by the driver: its local-time date formatting took a tenth
    // of the worker's CPU on a drain of noop jobs.
    const col = (pick: (end: AttemptEnd) => ArrayElement) => arrayLiteral(sorted, pick);
    // jobs_finish (migration 1796200000000) moves each job on, appends its attempt row (but for
    // a success, which the job row records), ends its lease and queues a retry again. It takes
    // the times as epoch milliseconds (migration 1796500000000): formatting and parsing them as
    // ISO text had cost both sides CPU on every finished job.
    return this.rows<JobMove>(
      `SELECT job_id AS id, job_type AS type, job_status AS status, job_lease_token AS "leaseToken"
       FROM jobs_finish($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::text[],
         $8::float8[], $9::int[], $10::smallint[], $11::text[], $12::float8[], $13::float8[])`,
      [
        col((end) => end.id),
        col((end) => end.leaseToken),
        col((end) => end.status),
        col((end) => end.outcome),
        col((end) => (end.resultJson === undefined ? null : storableJson(end.resultJson))),
        col((end) => end.errorCode),
        col((end) => (end.errorMessage === undefined ? null : storableText(end.errorMessage))),
        col((end) => end.runAt?.getTime()),
        col((end) => (end.unspend ? 1 : 0)),
        col((end) => end.progress),
        col((end) => (end.progressMessage == null ? null : storableText(end.progressMessage))),
        col((end) => end.startedAt.getTime()),
        col((end) => end.finishedAt.getTime()),
      ],
    );
  }

  /**
   * Renews the leases of running attempts and writes their latest progress. Returns, for each
   * attempt still held (keyed `jobId/leaseToken`), whether a cancel was requested; an attempt
   * missing from the answer has lost its lease. The expiry lives in job_leases (migration
   * 1796200000000), so a heartbeat without progress leaves the job row alone.
   */
  async touch(items: LeaseTouch[], leaseSeconds: number): Promise<Map<string, boolean>> {
    if (items.length === 0) return new Map();
    // Two statements, two transactions: one holding a lease and waiting for a job row while a
    // finish holds that row and waits for the lease would deadlock.
    const rows = await this.rows<{ id: string; leaseToken: string; cancelRequested: boolean }>(
      `WITH locked AS (
         SELECT l.id FROM job_leases l JOIN unnest($1::uuid[], $2::bigint[]) AS v(id, token)
           ON l.id = v.id AND l.lease_token = v.token
         ORDER BY l.id FOR UPDATE OF l
       ), renewed AS (
         UPDATE job_leases l SET expires_at = now() + $3::float8 * interval '1 second'
         FROM locked WHERE l.id = locked.id
         RETURNING l.id, l.lease_token
       )
       SELECT r.id, r.lease_token AS "leaseToken", j.cancel_requested AS "cancelRequested"
       FROM renewed r JOIN jobs j ON j.id = r.id AND j.lease_token = r.lease_token AND j.status = 'running'`,
      [items.map((i) => i.id), items.map((i) => i.leaseToken), leaseSeconds],
    );
    const progressed = items.filter((i) => i.progress !== undefined).sort(byId);
    if (progressed.length > 0) {
      await this.dataSource.query(
        `WITH locked AS (
           SELECT j.id, v.progress, v.message FROM jobs j
           JOIN unnest($1::uuid[], $2::bigint[], $3::smallint[], $4::text[]) AS v(id, token, progress, message)
             ON j.id = v.id AND j.lease_token = v.token AND j.status = 'running'
           ORDER BY j.id FOR UPDATE OF j
         )
         UPDATE jobs j SET progress = locked.progress, progress_message = locked.message, updated_at = now()
         FROM locked WHERE j.id = locked.id`,
        [
          progressed.map((i) => i.id),
          progressed.map((i) => i.leaseToken),
          progressed.map((i) => i.progress),
          progressed.map((i) => (i.progressMessage == null ? null : storableText(i.progressMessage))),
        ],
      );
    }
    return new Map(rows.map((row) => [`${row.id}/${row.leaseToken}`, row.cancelRequested]));
  }

  /**
   * Hands back claimed jobs whose handler never started (a drain, a paused type, a buffer that
   * stopped moving): queued again, the attempt not spent, no history row, and other replicas
   * woken to take them. Returns how many were still held.
   */
  async release(items: { id: string; leaseToken: string }[]): Promise<number> {
    if (items.length === 0) return 0;
    const sorted = [...items].sort(byId);
    const notify = this.signals.readyExpression();
    const rows = await this.rows<unknown>(
      `WITH released AS (
         UPDATE jobs j SET
           status = CASE WHEN j.cancel_requested THEN 'cancelled' ELSE 'queued' END,
           attempts = j.attempts - 1, updated_at = now(),
           finished_at = CASE WHEN j.cancel_requested THEN now() END
         FROM unnest($1::uuid[], $2::bigint[]) AS v(id, token)
         WHERE j.id = v.id AND j.lease_token = v.token AND j.status = 'running'
         RETURNING j.id, j.type, j.status, j.priority, j.run_at, j.created_at
       ), ${leftRunning('released')}
       SELECT id${notify ? `, CASE WHEN status = 'queued' THEN ${notify} END AS notified` : ''} FROM released`,
      [sorted.map((i) => i.id), sorted.map((i) => i.leaseToken)],
    );
    return rows.length;
  }

  /**
   * Returns attempts whose lease ran out (their worker died or froze) to `queued`, or to `failed`
   * when no attempt remains, with LEASE_EXPIRED. SKIP LOCKED on the lease and the job lets every
   * worker reap at once, and never waits on a finish that holds the job row while it ends the
   * lease.
   */
  async reapExpired(limit: number): Promise<JobMove[]> {
    return this.rows<JobMove>(
      `WITH expired AS (
         SELECT l.id FROM job_leases l JOIN jobs j ON j.id = l.id
         WHERE l.expires_at < now() AND j.lease_token = l.lease_token AND j.status = 'running'
         ORDER BY l.expires_at LIMIT $1 FOR UPDATE OF l, j SKIP LOCKED
       ), moved AS (
         UPDATE jobs j SET
           status = CASE WHEN j.cancel_requested THEN 'cancelled'
                         WHEN j.attempts >= j.max_attempts THEN 'failed' ELSE 'queued' END,
           last_error_code = 'LEASE_EXPIRED',
           last_error_message = 'The worker running this attempt stopped renewing its lease.',
           run_at = now(), updated_at = now(),
           finished_at = CASE WHEN j.cancel_requested OR j.attempts >= j.max_attempts THEN now() END
         FROM expired WHERE j.id = expired.id
         RETURNING j.id, j.type, j.status, j.lease_token, j.attempts + j.attempt_offset AS attempt, j.worker_id, j.started_at,
           j.priority, j.run_at, j.created_at
       ), ${leftRunning('moved')}, history AS (
         INSERT INTO job_attempts
           (job_id, lease_token, attempt, worker_id, started_at, finished_at, outcome, error_code, error_message)
         SELECT id, lease_token, attempt, worker_id, COALESCE(started_at, now()), now(), 'lease_expired',
           'LEASE_EXPIRED', 'The worker running this attempt stopped renewing its lease.'
         FROM moved
       )
       SELECT id, type, status FROM moved`,
      [limit],
    );
  }

  /** The job types an admin has paused (job_queues); workers do not claim them. */
  async pausedTypes(): Promise<Set<string>> {
    const rows = await this.rows<{ type: string }>('SELECT type FROM job_queues WHERE paused', []);
    return new Set(rows.map((row) => row.type));
  }

  /** TypeORM answers an UPDATE or DELETE with [rows, count] and anything else with rows. */
  private async rows<T>(sql: string, parameters: unknown[]): Promise<T[]> {
    const result = await this.dataSource.query<T[] | [T[], number]>(sql, parameters);
    return result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number'
      ? result[0]
      : (result as T[]);
  }
}

/**
 * Statements that lock several jobs (or leases) lock them in id order, so that two of them never
 * each hold a row the other waits for: the finish and the release follow the order of their
 * arrays (their plans walk the arrays), the heartbeat sorts in SQL. The claim and the reaper
 * skip locked rows instead of waiting.
 */
function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * CTEs for jobs that just left `running` (the CTE `moved`, returning id, type, status, priority,
 * run_at, created_at): their leases end, and those queued again get their job_queue row
 * (migration 1796200000000; jobs_finish does the same in SQL).
 */
function leftRunning(moved: string): string {
  return `unleased AS (
         DELETE FROM job_leases l USING ${moved} m WHERE l.id = m.id
       ), requeued AS (
         INSERT INTO job_queue (id, type, priority, run_at, created_at)
         SELECT id, type, priority, run_at, created_at FROM ${moved} WHERE status = 'queued'
       )`;
}
