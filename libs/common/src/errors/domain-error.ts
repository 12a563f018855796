/** One invalid field of a request, as rendered in a problem's `errors[]`. */
export interface FieldError {
  field: string;
  message: string;
}

/**
 * Base of every error that business code throws. It carries a stable `code` (`JOBS.NOT_FOUND`)
 * and no HTTP knowledge: the app maps codes to statuses in one exhaustive table.
 */
export class DomainError<Code extends string = string> extends Error {
  /** When set, the client may retry after this many seconds (rendered as Retry-After). */
  retryAfterSeconds?: number;

  constructor(
    readonly code: Code,
    message: string,
    readonly fieldErrors?: FieldError[],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Codes raised by the cross-cutting plumbing in libs/, mapped by the app like any other. */
export type CommonErrorCode = 'REQUEST.VALIDATION_FAILED' | 'AUTH.UNAUTHENTICATED' | 'AUTH.FORBIDDEN';

/** The request body, query or params failed validation. */
export class RequestValidationError extends DomainError<'REQUEST.VALIDATION_FAILED'> {
  constructor(fieldErrors: FieldError[]) {
    super('REQUEST.VALIDATION_FAILED', 'The request is invalid; see errors for each field.', fieldErrors);
  }
}

/** Credentials are missing, invalid or expired. */
export class UnauthenticatedError extends DomainError<'AUTH.UNAUTHENTICATED'> {
  constructor(message = 'Authentication is required.') {
    super('AUTH.UNAUTHENTICATED', message);
  }
}

/** Authenticated, but not allowed to do this. */
export class ForbiddenError extends DomainError<'AUTH.FORBIDDEN'> {
  constructor(message = 'You are not allowed to do this.') {
    super('AUTH.FORBIDDEN', message);
  }
}
