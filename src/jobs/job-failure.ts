/**
 * Errors a handler throws to say how its attempt failed. Any other error is a retryable failure
 * with code `HANDLER_ERROR`.
 */
export class JobFailure extends Error {
  constructor(
    /** Stable code shown in `lastError.code` and the attempt history. */
    readonly code: string,
    message: string,
    readonly options: {
      /** False: the job fails now, whatever attempts remain. Default true. */
      retryable?: boolean;
      /** Overrides the backoff for the next attempt (e.g. an upstream's Retry-After). */
      retryAfterMs?: number;
    } = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The job fails at once: retrying cannot help (bad input, a permanent refusal). */
export class NonRetryableJobError extends JobFailure {
  constructor(message: string, code = 'NON_RETRYABLE') {
    super(code, message, { retryable: false });
  }
}
