import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { storableJson, storableText } from '@lib/common';
import { type ArrayElement, arrayLiteral } from '@lib/database';
import { compareClaimOrder } from './claim-order';
import type { AttemptOutcome, JobStatus } from './job-lifecycle';

/** A job a worker holds: enough to run it and to fence every write it makes. */
export interface ClaimedJob {
  id: string;
  type: string;
  name: string | null;
  ownerId: string;
  priority: number;
  payload: unknown;
  attempts: number;
  maxAttempts: number;
  timeoutSeconds: number;
  backoffBaseSeconds: number;
  backoffMaxSeconds: number;
  leaseToken: string;
  runAt: Date;
  createdAt: Date;
}

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
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Takes up to `limit` ready jobs of the given types in claim order: one statement, with SKIP
   * LOCKED so concurrent workers never wait on, or take, each other's rows. Each claimed job
   * gets a new lease token, which fences every later write of this attempt.
   */
  async claim(types: string[], limit: number, leaseSeconds: number, workerId: string): Promise<ClaimedJob[]> {
    // jobs_claim (migration 1795600000000) is one statement that picks with FOR UPDATE SKIP
    // LOCKED and marks the rows running; it pins its plan to IDX_jobs_ready.
    const rows = await this.rows<ClaimedJob>(
      `SELECT id, type, name, owner_id AS "ownerId", priority, payload, attempts,
         max_attempts AS "maxAttempts", timeout_seconds AS "timeoutSeconds",
         backoff_base_seconds AS "backoffBaseSeconds", backoff_max_seconds AS "backoffMaxSeconds",
         lease_token AS "leaseToken", run_at AS "runAt", created_at AS "createdAt"
       FROM jobs_claim($1::text[], $2, $3, $4)`,
      [types, limit, leaseSeconds, workerId],
    );
    // RETURNING follows no particular order; start them in the order they were chosen.
    return rows.sort(compareClaimOrder);
  }

  /**
   * Records finished attempts: moves each job on and appends its attempt row (but for a success,
   * which the job row records), in one statement.
   * A cancel requested meanwhile wins (the job ends `cancelled`). Returns the jobs moved; the
   * others were fenced off. What handlers reported is made storable first (storableJson, storableText).
   */
  async finish(ends: AttemptEnd[]): Promise<JobMove[]> {
    if (ends.length === 0) return [];
    // Array literals built here, not by the driver: its local-time date formatting took a tenth
    // of the worker's CPU on a drain of noop jobs.
    const col = (pick: (end: AttemptEnd) => ArrayElement) => arrayLiteral(ends.map(pick));
    return this.rows<JobMove>(
      `WITH v AS (
         SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::jsonb[], $6::text[],
           $7::text[], $8::timestamptz[], $9::int[], $10::smallint[], $11::text[], $12::timestamptz[],
           $13::timestamptz[])
         AS v(id, token, status, outcome, result, error_code, error_message, run_at, unspend, progress,
           progress_message, started_at, finished_at)
       ), done AS (
         UPDATE jobs j SET
           status = CASE WHEN j.cancel_requested THEN 'cancelled' ELSE v.status END,
           result = CASE WHEN v.status = 'succeeded' AND NOT j.cancel_requested THEN v.result ELSE j.result END,
           attempts = j.attempts - v.unspend,
           last_error_code = COALESCE(v.error_code, j.last_error_code),
           last_error_message = CASE WHEN v.error_code IS NULL THEN j.last_error_message ELSE v.error_message END,
           run_at = CASE WHEN v.status = 'queued' THEN v.run_at ELSE j.run_at END,
           progress = COALESCE(v.progress, j.progress),
           progress_message = CASE WHEN v.progress IS NULL THEN j.progress_message ELSE v.progress_message END,
           lease_expires_at = NULL,
           started_at = v.started_at,
           finished_at = CASE WHEN j.cancel_requested OR v.status <> 'queued' THEN v.finished_at END,
           updated_at = v.finished_at
         FROM v
         WHERE j.id = v.id AND j.lease_token = v.token AND j.status = 'running'
         RETURNING j.id, j.type, j.status, j.lease_token, j.attempts + v.unspend AS attempt, j.worker_id,
           v.outcome, v.error_code, v.error_message, v.started_at, v.finished_at
       ), history AS (
         INSERT INTO job_attempts
           (job_id, lease_token, attempt, worker_id, started_at, finished_at, outcome, error_code, error_message)
         SELECT id, lease_token, attempt, worker_id, started_at, finished_at,
           CASE WHEN status = 'cancelled' AND outcome <> 'interrupted' THEN 'cancelled' ELSE outcome END,
           error_code, error_message
         FROM done
         -- A succeeded attempt is the job's last and its row holds it (migration 1796000000000).
         WHERE outcome <> 'deferred' AND status <> 'succeeded'
       )
       SELECT id, type, status, lease_token AS "leaseToken" FROM done`,
      [
        col((end) => end.id),
        col((end) => end.leaseToken),
        col((end) => end.status),
        col((end) => end.outcome),
        col((end) => (end.resultJson === undefined ? null : storableJson(end.resultJson))),
        col((end) => end.errorCode),
        col((end) => (end.errorMessage === undefined ? null : storableText(end.errorMessage))),
        col((end) => end.runAt),
        col((end) => (end.unspend ? 1 : 0)),
        col((end) => end.progress),
        col((end) => (end.progressMessage == null ? null : storableText(end.progressMessage))),
        col((end) => end.startedAt),
        col((end) => end.finishedAt),
      ],
    );
  }

  /**
   * Renews the leases of running attempts and writes their latest progress. Returns, for each
   * attempt still held (keyed `jobId/leaseToken`), whether a cancel was requested; an attempt
   * missing from the answer has lost its lease.
   */
  async touch(items: LeaseTouch[], leaseSeconds: number): Promise<Map<string, boolean>> {
    if (items.length === 0) return new Map();
    const rows = await this.rows<{ id: string; leaseToken: string; cancelRequested: boolean }>(
      `UPDATE jobs j SET
         lease_expires_at = now() + $5::float8 * interval '1 second',
         progress = COALESCE(v.progress, j.progress),
         progress_message = CASE WHEN v.progress IS NULL THEN j.progress_message ELSE v.message END,
         updated_at = CASE WHEN v.progress IS NULL THEN j.updated_at ELSE now() END
       FROM unnest($1::uuid[], $2::bigint[], $3::smallint[], $4::text[]) AS v(id, token, progress, message)
       WHERE j.id = v.id AND j.lease_token = v.token AND j.status = 'running'
       RETURNING j.id, j.lease_token AS "leaseToken", j.cancel_requested AS "cancelRequested"`,
      [
        items.map((i) => i.id),
        items.map((i) => i.leaseToken),
        items.map((i) => i.progress ?? null),
        items.map((i) => (i.progressMessage == null ? null : storableText(i.progressMessage))),
        leaseSeconds,
      ],
    );
    return new Map(rows.map((row) => [`${row.id}/${row.leaseToken}`, row.cancelRequested]));
  }

  /**
   * Hands back claimed jobs whose handler never started (a drain): queued again, the attempt
   * not spent, no history row. Returns how many were still held.
   */
  async release(items: { id: string; leaseToken: string }[]): Promise<number> {
    if (items.length === 0) return 0;
    const rows = await this.rows<unknown>(
      `UPDATE jobs j SET
         status = CASE WHEN j.cancel_requested THEN 'cancelled' ELSE 'queued' END,
         attempts = j.attempts - 1, lease_expires_at = NULL, updated_at = now(),
         finished_at = CASE WHEN j.cancel_requested THEN now() END
       FROM unnest($1::uuid[], $2::bigint[]) AS v(id, token)
       WHERE j.id = v.id AND j.lease_token = v.token AND j.status = 'running'
       RETURNING j.id`,
      [items.map((i) => i.id), items.map((i) => i.leaseToken)],
    );
    return rows.length;
  }

  /**
   * Returns attempts whose lease ran out (their worker died or froze) to `queued`, or to `failed`
   * when no attempt remains, with LEASE_EXPIRED. SKIP LOCKED lets every worker reap at once.
   */
  async reapExpired(limit: number): Promise<JobMove[]> {
    return this.rows<JobMove>(
      `WITH expired AS (
         SELECT id FROM jobs WHERE status = 'running' AND lease_expires_at < now()
         ORDER BY lease_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED
       ), moved AS (
         UPDATE jobs j SET
           status = CASE WHEN j.cancel_requested THEN 'cancelled'
                         WHEN j.attempts >= j.max_attempts THEN 'failed' ELSE 'queued' END,
           last_error_code = 'LEASE_EXPIRED',
           last_error_message = 'The worker running this attempt stopped renewing its lease.',
           lease_expires_at = NULL, run_at = now(), updated_at = now(),
           finished_at = CASE WHEN j.cancel_requested OR j.attempts >= j.max_attempts THEN now() END
         FROM expired WHERE j.id = expired.id
         RETURNING j.id, j.type, j.status, j.lease_token, j.attempts, j.worker_id, j.started_at
       ), history AS (
         INSERT INTO job_attempts
           (job_id, lease_token, attempt, worker_id, started_at, finished_at, outcome, error_code, error_message)
         SELECT id, lease_token, attempts, worker_id, COALESCE(started_at, now()), now(), 'lease_expired',
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
