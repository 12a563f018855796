import { DomainError, type FieldError } from '@lib/common';

export type JobsErrorCode =
  | 'JOBS.NOT_FOUND'
  | 'JOBS.UNKNOWN_TYPE'
  | 'JOBS.INVALID'
  | 'JOBS.IDEMPOTENCY_CONFLICT'
  | 'JOBS.ILLEGAL_STATE'
  | 'JOBS.NO_RESULT'
  | 'JOBS.QUEUE_NOT_FOUND';

/** Unknown, or not the caller's to see: the same answer, so ids of others' jobs leak nothing. */
export class JobNotFoundError extends DomainError<'JOBS.NOT_FOUND'> {
  constructor() {
    super('JOBS.NOT_FOUND', 'No such job.');
  }
}

export class UnknownJobTypeError extends DomainError<'JOBS.UNKNOWN_TYPE'> {
  constructor(type: string) {
    super('JOBS.UNKNOWN_TYPE', `Unknown job type; see GET /v1/job-types.`, [
      { field: 'type', message: `no job type "${type.slice(0, 64)}" is registered` },
    ]);
  }
}

/** A job request that passed the DTO but not the job rules (payload schema, runAt with delay…). */
export class InvalidJobError extends DomainError<'JOBS.INVALID'> {
  constructor(errors: FieldError[]) {
    super('JOBS.INVALID', 'The job is invalid; see errors for each field.', errors);
  }
}

export class IdempotencyConflictError extends DomainError<'JOBS.IDEMPOTENCY_CONFLICT'> {
  constructor() {
    super(
      'JOBS.IDEMPOTENCY_CONFLICT',
      'This Idempotency-Key was already used with a different request body.',
    );
  }
}

export class IllegalJobStateError extends DomainError<'JOBS.ILLEGAL_STATE'> {
  constructor(action: string, status: string) {
    super('JOBS.ILLEGAL_STATE', `Cannot ${action} a job that is ${status}.`);
  }
}

export class NoResultError extends DomainError<'JOBS.NO_RESULT'> {
  constructor(status: string) {
    super('JOBS.NO_RESULT', `The job has no result: it is ${status}, not succeeded.`);
  }
}

export class QueueNotFoundError extends DomainError<'JOBS.QUEUE_NOT_FOUND'> {
  constructor() {
    super('JOBS.QUEUE_NOT_FOUND', 'No such queue: queues are the registered job types.');
  }
}
