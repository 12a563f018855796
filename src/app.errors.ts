import type { CommonErrorCode } from '@lib/common';

/** Every error code the service can raise; each module adds its union here. */
export type ErrorCode = CommonErrorCode;

/**
 * The one code → HTTP status table. `Record<ErrorCode, …>` makes an unmapped code a compile
 * error, so a new domain error cannot silently become a 500.
 */
export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  'REQUEST.VALIDATION_FAILED': 400,
  'AUTH.UNAUTHENTICATED': 401,
};
