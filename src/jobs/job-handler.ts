import { applyDecorators, Injectable, SetMetadata, type Type } from '@nestjs/common';

export const JOB_HANDLER_METADATA = 'jobs:handler';

/** What a handler declares about its type (CONTRACT §5). */
export interface JobHandlerOptions {
  /** The job type clients submit: lower-case letters, digits, `.`, `_`, `-`; unique. */
  type: string;
  /**
   * A class-validator DTO for the payload: every submitted payload is validated against it
   * (400 with `errors[]`) and its JSON Schema is published at GET /v1/job-types. Without one, any
   * JSON object is accepted.
   */
  payload?: Type<object>;
  /** Per-attempt time limit when the job does not set `timeoutSeconds`. Default 300. */
  defaultTimeoutSeconds?: number;
  /** Attempt budget when the job does not set `maxAttempts`. Default 3. */
  defaultMaxAttempts?: number;
  /** One line for /v1/job-types and /docs. */
  description?: string;
}

/** The job as a handler sees it. */
export interface JobInfo {
  id: string;
  type: string;
  name: string | null;
  ownerId: string;
  priority: number;
  maxAttempts: number;
  timeoutSeconds: number;
  createdAt: Date;
}

export interface JobContext<P> {
  job: JobInfo;
  /** The payload, as an instance of the handler's payload DTO when it has one. */
  payload: P;
  /** 1-based number of this attempt. */
  attempt: number;
  /** Fires on timeout, cancel, lease loss and at the end of the shutdown grace; its reason says which. */
  signal: AbortSignal;
  /**
   * Reports progress (0-100) and an optional message. Cheap to call often: the latest value is
   * written at most once a second, and a finished attempt writes its final value.
   */
  progress(percent: number, message?: string): void;
}

/**
 * A job type's implementation. Return the job's result (any JSON value, at most
 * JOBS_MAX_RESULT_BYTES serialised); throw to fail the attempt (retried with backoff) or throw a
 * NonRetryableJobError to fail the job at once.
 */
export interface HandlesJob<P = unknown, R = unknown> {
  handle(context: JobContext<P>): Promise<R>;
  /**
   * Rules the payload DTO cannot express (they need configuration, say), checked at submit time
   * after the DTO passed: each error becomes a 400 `errors[]` entry, `field` relative to the
   * payload (`url`, not `payload.url`).
   */
  validate?(payload: P): { field: string; message: string }[];
}

/** Marks a provider as the handler of a job type; it is found at start-up (JobHandlerRegistry). */
export const JobHandler = (options: JobHandlerOptions): ClassDecorator =>
  applyDecorators(Injectable(), SetMetadata(JOB_HANDLER_METADATA, options));
