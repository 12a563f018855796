import { isoTime } from '@lib/common';
import type { JobAttempt } from './job-attempt.entity';
import { attemptNumber } from './job-lifecycle';
import type { ClaimedJob } from './job-store';
import type { NewJob } from './job-submission';
import type { Job } from './job.entity';
import type { JobAttemptDto, JobDto } from './jobs.dto';

/** The columns of a Job, aliased to its property names, for raw SQL that returns jobs. */
export const JOB_COLUMNS = `id, type, name, status, priority, payload, progress,
  progress_message AS "progressMessage", attempts, attempt_offset AS "attemptOffset",
  max_attempts AS "maxAttempts", run_at AS "runAt",
  timeout_seconds AS "timeoutSeconds", idempotency_key AS "idempotencyKey",
  request_hash AS "requestHash", owner_id AS "ownerId", cancel_requested AS "cancelRequested",
  last_error_code AS "lastErrorCode", last_error_message AS "lastErrorMessage",
  lease_token AS "leaseToken", worker_id AS "workerId", created_at AS "createdAt",
  updated_at AS "updatedAt", started_at AS "startedAt", finished_at AS "finishedAt"`;

/** What JOB_COLUMNS selects (the rest of the entity stays in the database). */
export type JobRow = Omit<Job, 'result' | 'backoffBaseSeconds' | 'backoffMaxSeconds'>;

/**
 * A job's row as its insert left it, without reading it back: what was sent plus the column
 * defaults of the jobs table (migration 1795600000000); `now` is the inserting transaction's
 * now() at the columns' millisecond precision. The payload is the sent JSON, keys in the order
 * sent (a read gives jsonb's order; JSON objects are unordered).
 */
export function insertedJobRow(job: NewJob, now: Date): JobRow {
  return {
    id: job.id,
    type: job.type,
    name: job.name,
    status: 'queued',
    priority: job.priority,
    payload: JSON.parse(job.payloadJson),
    progress: 0,
    progressMessage: null,
    attempts: 0,
    attemptOffset: 0,
    maxAttempts: job.maxAttempts,
    runAt: job.runAt ?? now,
    timeoutSeconds: job.timeoutSeconds,
    idempotencyKey: job.idempotencyKey,
    requestHash: job.requestHash,
    ownerId: job.ownerId,
    cancelRequested: false,
    lastErrorCode: null,
    lastErrorMessage: null,
    leaseToken: '0',
    workerId: null,
    createdAt: now,
    updatedAt: now,
    startedAt: null,
    finishedAt: null,
  };
}

export function toJobDto(row: JobRow): JobDto {
  return {
    id: row.id,
    type: row.type,
    name: row.name,
    status: row.status,
    priority: row.priority,
    payload: row.payload,
    progress: row.progress,
    progressMessage: row.progressMessage,
    attempts: row.attempts,
    maxAttempts: row.maxAttempts,
    runAt: isoTime(row.runAt),
    timeoutSeconds: row.timeoutSeconds,
    idempotencyKey: row.idempotencyKey,
    ownerId: row.ownerId,
    cancelRequested: row.cancelRequested,
    lastError: row.lastErrorCode ? { code: row.lastErrorCode, message: row.lastErrorMessage ?? '' } : null,
    createdAt: isoTime(row.createdAt),
    updatedAt: isoTime(row.updatedAt),
    startedAt: row.startedAt ? isoTime(row.startedAt) : null,
    finishedAt: row.finishedAt ? isoTime(row.finishedAt) : null,
  };
}

/** A job inserted already claimed (JobsService.submit), as its worker runs it. */
export function toClaimedJob(row: JobRow, job: NewJob): ClaimedJob {
  return {
    id: row.id,
    type: row.type,
    name: row.name,
    ownerId: row.ownerId,
    priority: row.priority,
    payload: row.payload,
    attempts: row.attempts,
    attemptOffset: row.attemptOffset,
    maxAttempts: row.maxAttempts,
    timeoutSeconds: row.timeoutSeconds,
    backoffBaseSeconds: job.backoffBaseSeconds,
    backoffMaxSeconds: job.backoffMaxSeconds,
    leaseToken: row.leaseToken,
    runAt: row.runAt,
    createdAt: row.createdAt,
    claimedAt: performance.now(),
  };
}

/** That job as it was accepted, before its worker's claim: queued, no attempt spent. */
export function asAccepted(row: JobRow): JobRow {
  return { ...row, status: 'queued', attempts: 0, startedAt: null, workerId: null };
}

export function toAttemptDto(row: JobAttempt): JobAttemptDto {
  return {
    attempt: row.attempt,
    startedAt: row.startedAt.toISOString(),
    finishedAt: row.finishedAt.toISOString(),
    outcome: row.outcome,
    error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? '' } : null,
    workerId: row.workerId,
  };
}

/**
 * The attempt that lives on the job row, if any: the one in progress, or the success that ended
 * the job (a succeeded attempt gets no history row, migration 1796000000000). The others are
 * job_attempts rows.
 */
export function attemptOnJobRow(job: JobRow): JobAttemptDto | null {
  if (job.status !== 'running' && job.status !== 'succeeded') return null;
  const succeeded = job.status === 'succeeded';
  return {
    attempt: attemptNumber(job),
    startedAt: (job.startedAt ?? job.updatedAt).toISOString(),
    finishedAt: succeeded ? (job.finishedAt ?? job.updatedAt).toISOString() : null,
    outcome: succeeded ? 'succeeded' : null,
    error: null,
    workerId: job.workerId,
  };
}
