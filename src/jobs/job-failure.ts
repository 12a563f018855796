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

/**
 * The attempt did not start and spends nothing: the job goes back to `queued` until
 * `retryAfterMs` from now, with this code as its lastError and no attempt-history row. For a
 * handler that declines before doing any work, e.g. while its target's circuit is open: a long
 * outage of a target then makes its jobs wait instead of burning their attempts on refusals.
 */
export class JobDeferral extends JobFailure {
  constructor(code: string, message: string, retryAfterMs: number) {
    super(code, message, { retryAfterMs });
  }
}
