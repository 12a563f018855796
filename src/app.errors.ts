import type { CommonErrorCode } from '@lib/common';
import type { HealthErrorCode } from './health/health.errors';
import type { JobsErrorCode } from './jobs/jobs.errors';
import type { UsersErrorCode } from './users/users.errors';

/** Every error code the service can raise; each module adds its union here. */
export type ErrorCode = CommonErrorCode | HealthErrorCode | UsersErrorCode | JobsErrorCode;

/**
 * The one code → HTTP status table. `Record<ErrorCode, …>` makes an unmapped code a compile
 * error, so a new domain error cannot silently become a 500.
 */
export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  'REQUEST.VALIDATION_FAILED': 400,
  'AUTH.UNAUTHENTICATED': 401,
  'AUTH.FORBIDDEN': 403,
  'AUTH.INVALID_CREDENTIALS': 401,
  'AUTH.ACCOUNT_LOCKED': 429,
  'AUTH.INVALID_REFRESH_TOKEN': 401,
  'USERS.NOT_FOUND': 404,
  'USERS.EMAIL_TAKEN': 409,
  'USERS.LAST_ADMIN': 409,
  'USERS.WRONG_PASSWORD': 400,
  'API_KEYS.NOT_FOUND': 404,
  'API_KEYS.LIMIT_REACHED': 409,
  'JOBS.NOT_FOUND': 404,
  'JOBS.UNKNOWN_TYPE': 400,
  'JOBS.INVALID': 400,
  'JOBS.IDEMPOTENCY_CONFLICT': 409,
  'JOBS.ILLEGAL_STATE': 409,
  'JOBS.NO_RESULT': 409,
  'JOBS.QUEUE_NOT_FOUND': 404,
  'STORE.MIGRATIONS_PENDING': 503,
};
