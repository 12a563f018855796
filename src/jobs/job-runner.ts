import { Logger } from '@nestjs/common';
import { retryDelayMs } from './backoff';
import { JobDeferral, JobFailure } from './job-failure';
import type { JobContext, JobInfo } from './job-handler';
import type { JobType } from './job-handler-registry';
import { afterFailure, attemptNumber } from './job-lifecycle';
import type { AttemptEnd, ClaimedJob } from './job-store';

/** Why an attempt's signal fired; the signal's `reason` is one of these. */
export class AttemptAborted extends Error {
  constructor(readonly kind: 'timeout' | 'cancel' | 'shutdown' | 'leaseLost') {
    super(`attempt aborted: ${kind}`);
    this.name = 'AttemptAborted';
  }
}

/** A running attempt as the engine tracks it: its abort switch and unwritten progress. */
export class RunningAttempt {
  readonly startedAt = new Date();
  /** When it times out, on the monotonic clock (performance.now; see AttemptTimeouts). */
  readonly deadline: number;
  progress?: number;
  progressMessage?: string | null;
  progressDirty = false;
  /** Why it was aborted, once it was. */
  reason?: AttemptAborted;
  /** Set by runAttempt while the handler runs: ends its wait at the abort. */
  onAbort?: (reason: AttemptAborted) => void;
  private controller?: AbortController;

  constructor(readonly job: ClaimedJob) {
    this.deadline = performance.now() + job.timeoutSeconds * 1000;
  }

  /**
   * The handler's signal, made when a handler first asks: an AbortController with its signal and
   * an 'abort' listener cost ~3 µs per attempt, a tenth of a noop job's worker CPU, and most
   * attempts are never aborted nor look at their signal.
   */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(kind: AttemptAborted['kind']): void {
    if (this.reason) return;
    this.reason = new AttemptAborted(kind);
    this.controller?.abort(this.reason);
    this.onAbort?.(this.reason);
  }

  report(percent: number, message?: string): void {
    if (!Number.isFinite(percent)) return;
    this.progress = Math.min(100, Math.max(0, Math.round(percent)));
    this.progressMessage = message === undefined ? null : String(message).slice(0, MAX_MESSAGE);
    this.progressDirty = true;
  }
}

const MAX_MESSAGE = 1000;

/**
 * What a handler gets (JobContext). A class, not an object literal: a literal with a getter is
 * built by V8's slow path, ~0.45 µs per attempt against ~0.03 (microbenchmark), on every job.
 * `job` and `progress` are made when a handler first reads them, as the signal is: many handlers
 * read only their payload, and these were a tenth of what the worker allocated per noop job.
 */
class AttemptContext implements JobContext<unknown> {
  readonly attempt: number;
  #job?: JobInfo;
  #progress?: JobContext<unknown>['progress'];

  // Private at run time too: a handler has no business with the attempt's abort switch.
  readonly #running: RunningAttempt;

  constructor(
    running: RunningAttempt,
    readonly payload: unknown,
  ) {
    this.#running = running;
    this.attempt = attemptNumber(running.job);
  }

  get job(): JobInfo {
    const { job } = this.#running;
    this.#job ??= {
      id: job.id,
      type: job.type,
      name: job.name,
      ownerId: job.ownerId,
      priority: job.priority,
      maxAttempts: job.maxAttempts,
      timeoutSeconds: job.timeoutSeconds,
      createdAt: job.createdAt,
    };
    return this.#job;
  }

  /** A function, not a method, so that handlers may destructure it (`{ progress }`). */
  get progress(): JobContext<unknown>['progress'] {
    const running = this.#running;
    this.#progress ??= (percent, message) => running.report(percent, message);
    return this.#progress;
  }

  get signal(): AbortSignal {
    return this.#running.signal;
  }
}

/**
 * Runs one attempt through its handler and says how it ended (CONTRACT §5): a result within the
 * size cap, a failure retried with backoff or final, a timeout, a cancel, or an interruption by
 * the shutdown drain; the aborts come from the engine (AttemptTimeouts, cancel, the lease keeper,
 * the drain). Returns null when the lease was lost: the attempt belongs to another worker now and
 * nothing of it may be written.
 */
export async function runAttempt(
  type: JobType,
  payload: unknown,
  attempt: RunningAttempt,
  maxResultBytes: number,
  logger: Logger,
): Promise<AttemptEnd | null> {
  const { job } = attempt;
  const context = new AttemptContext(attempt, payload);
  try {
    // Settles at the handler's end or at the abort, whichever comes first: the slot is freed when
    // the signal fires, even if a handler ignores it. One promise, not a race against a promise
    // of the abort made for every attempt (promises are a noop job's main garbage).
    const result = await new Promise<unknown>((resolve, reject) => {
      attempt.onAbort = reject;
      type.handler.handle(context).then(resolve, reject);
      if (attempt.reason) reject(attempt.reason);
    });
    return succeeded(attempt, result, maxResultBytes);
  } catch (error) {
    if (attempt.reason) return aborted(attempt, attempt.reason);
    if (error instanceof JobDeferral) return deferred(attempt, error);
    if (!(error instanceof JobFailure)) {
      logger.warn({ jobId: job.id, type: job.type, err: error }, 'Job attempt failed');
    }
    return failed(attempt, error);
  }
}

/**
 * An attempt's end: what every end carries, then `how`, which wins (a success's progress: 100).
 * Object.assign rather than an object spread: Node 20's V8 copied a spread's source at ~1.3 µs
 * per end, 7 % of the worker's CPU on a drain of noop jobs (profile), against ~0.1 µs.
 */
function ended(attempt: RunningAttempt, how: EndFields): AttemptEnd {
  return Object.assign(
    {
      id: attempt.job.id,
      leaseToken: attempt.job.leaseToken,
      startedAt: attempt.startedAt,
      finishedAt: new Date(),
      progress: attempt.progressDirty ? attempt.progress : undefined,
      progressMessage: attempt.progressDirty ? attempt.progressMessage : undefined,
    },
    how,
  );
}

type EndFields = Omit<AttemptEnd, 'id' | 'leaseToken' | 'startedAt' | 'finishedAt' | 'progressMessage'>;

function succeeded(attempt: RunningAttempt, result: unknown, maxResultBytes: number): AttemptEnd {
  let json: string;
  try {
    json = JSON.stringify(result ?? null);
  } catch {
    return failed(
      attempt,
      new JobFailure('RESULT_NOT_JSON', 'The handler returned a value that is not JSON.', {
        retryable: false,
      }),
    );
  }
  // A UTF-16 unit is at most 3 UTF-8 bytes: most results need no count.
  if (json.length * 3 > maxResultBytes && Buffer.byteLength(json) > maxResultBytes) {
    return failed(
      attempt,
      new JobFailure(
        'RESULT_TOO_LARGE',
        `The result is larger than ${maxResultBytes} bytes (JOBS_MAX_RESULT_BYTES).`,
        {
          retryable: false,
        },
      ),
    );
  }
  // One object where ended() makes two: nearly every end is a success.
  return {
    id: attempt.job.id,
    leaseToken: attempt.job.leaseToken,
    status: 'succeeded',
    outcome: 'succeeded',
    resultJson: json,
    progress: 100,
    progressMessage: attempt.progressDirty ? attempt.progressMessage : undefined,
    startedAt: attempt.startedAt,
    finishedAt: new Date(),
  };
}

function aborted(attempt: RunningAttempt, reason: AttemptAborted): AttemptEnd | null {
  switch (reason.kind) {
    case 'leaseLost':
      return null;
    case 'shutdown':
      return ended(attempt, { status: 'queued', outcome: 'interrupted', runAt: new Date(), unspend: true });
    case 'cancel':
      return ended(attempt, {
        status: 'cancelled',
        outcome: 'cancelled',
        errorCode: 'CANCELLED',
        errorMessage: 'The job was cancelled while it ran.',
      });
    case 'timeout':
      return failed(
        attempt,
        new JobFailure('TIMEOUT', `The attempt ran longer than ${attempt.job.timeoutSeconds} s.`),
        'timeout',
      );
  }
}

function deferred(attempt: RunningAttempt, deferral: JobDeferral): AttemptEnd {
  return ended(attempt, {
    status: 'queued',
    outcome: 'deferred',
    errorCode: deferral.code.slice(0, 100),
    errorMessage: deferral.message.slice(0, MAX_MESSAGE),
    runAt: new Date(Date.now() + (deferral.options.retryAfterMs ?? 0)),
    unspend: true,
  });
}

function failed(
  attempt: RunningAttempt,
  error: unknown,
  outcome: 'failed' | 'timeout' = 'failed',
): AttemptEnd {
  const { job } = attempt;
  const failure =
    error instanceof JobFailure
      ? error
      : new JobFailure('HANDLER_ERROR', error instanceof Error ? error.message : String(error));
  const next = afterFailure({
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    retryable: failure.options.retryable !== false,
    cancelRequested: false,
  });
  const errorCode = failure.code.slice(0, 100);
  const errorMessage = failure.message.slice(0, MAX_MESSAGE);
  if (next !== 'scheduleRetry') {
    return ended(attempt, {
      outcome,
      errorCode,
      errorMessage,
      status: next === 'fail' ? 'failed' : 'cancelled',
    });
  }
  const delay =
    failure.options.retryAfterMs ??
    retryDelayMs(job.attempts, { baseSeconds: job.backoffBaseSeconds, maxSeconds: job.backoffMaxSeconds });
  return ended(attempt, {
    outcome,
    errorCode,
    errorMessage,
    status: 'queued',
    runAt: new Date(Date.now() + delay),
  });
}
