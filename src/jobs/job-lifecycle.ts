/**
 * The job state machine (CONTRACT §5), as plain data so the service, the worker SQL and the tests
 * agree on one table. Nothing here knows about Nest, TypeORM or HTTP.
 */
export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const FINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export function isFinal(status: JobStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

/**
 * Everything that moves a job: worker events (claim … release) and user actions (cancel, retry).
 * `release` puts a running job back without an outcome: a shutdown drain or an expired lease.
 */
export type JobAction =
  | 'claim'
  | 'succeed'
  | 'scheduleRetry'
  | 'fail'
  | 'finishCancelled'
  | 'release'
  | 'cancel'
  | 'requestCancel'
  | 'retry'
  | 'delete';

/** For each action, the states it is allowed from and the state it leads to. */
const TRANSITIONS: Readonly<Record<JobAction, { from: readonly JobStatus[]; to: JobStatus | null }>> = {
  claim: { from: ['queued'], to: 'running' },
  succeed: { from: ['running'], to: 'succeeded' },
  scheduleRetry: { from: ['running'], to: 'queued' },
  fail: { from: ['running'], to: 'failed' },
  finishCancelled: { from: ['running'], to: 'cancelled' },
  release: { from: ['running'], to: 'queued' },
  cancel: { from: ['queued'], to: 'cancelled' },
  // The job stays running with cancelRequested set; the worker ends it as cancelled.
  requestCancel: { from: ['running'], to: 'running' },
  retry: { from: ['failed', 'cancelled'], to: 'queued' },
  // A running job has a worker writing to it; deleting it would orphan that attempt.
  delete: { from: ['queued', 'succeeded', 'failed', 'cancelled'], to: null },
};

export function canTransition(from: JobStatus, action: JobAction): boolean {
  return TRANSITIONS[action].from.includes(from);
}

/** The state after `action`, or undefined when the action is not allowed from `from` (null: deleted). */
export function nextStatus(from: JobStatus, action: JobAction): JobStatus | null | undefined {
  return canTransition(from, action) ? TRANSITIONS[action].to : undefined;
}

/** The states from which `action` is allowed, for SQL guards (`WHERE status = ANY(...)`). */
export function allowedFrom(action: JobAction): readonly JobStatus[] {
  return TRANSITIONS[action].from;
}

/** What a user's cancel does: queued jobs end now, running ones are asked to stop, final ones refuse. */
export function cancelAction(status: JobStatus): 'cancel' | 'requestCancel' | undefined {
  if (canTransition(status, 'cancel')) return 'cancel';
  if (canTransition(status, 'requestCancel')) return 'requestCancel';
  return undefined;
}

/** How an attempt ended, as recorded in the attempt history. */
export const ATTEMPT_OUTCOMES = [
  'succeeded',
  'failed',
  'timeout',
  'cancelled',
  'lease_expired',
  'interrupted',
] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/**
 * An attempt's number within its job: the budget it has spent (`attempts`, which a retry resets
 * and an interrupted or deferred attempt gives back) plus what retries and interruptions took off
 * it (`attemptOffset`), so that no two attempts of a job share one (X-Job-Attempt, the history).
 * jobs_finish and the reaper sum the same columns in SQL (migration 1796400000000).
 */
export function attemptNumber(job: { attempts: number; attemptOffset: number }): number {
  return job.attempts + job.attemptOffset;
}

export interface FailedAttempt {
  /** Attempts started so far, this one included. */
  attempts: number;
  maxAttempts: number;
  /** False for a non-retryable error: the job fails at once. */
  retryable: boolean;
  /** A cancel requested while the attempt ran wins over any retry. */
  cancelRequested: boolean;
}

/** Where a job goes after an attempt that did not succeed. */
export function afterFailure(attempt: FailedAttempt): 'scheduleRetry' | 'fail' | 'finishCancelled' {
  if (attempt.cancelRequested) return 'finishCancelled';
  return attempt.retryable && attempt.attempts < attempt.maxAttempts ? 'scheduleRetry' : 'fail';
}
