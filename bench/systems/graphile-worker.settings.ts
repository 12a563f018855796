/** graphile-worker's settings, shared by the submitter and the worker process. */
import type { Logger as LoggerType } from 'graphile-worker';

export const TASK = 'noop';

/**
 * preset.worker options measured best on a 2-core machine: a local queue of 1,000 locked jobs
 * served to 24 concurrent slots, completions and failures batched over 5 ms.
 */
export const WORKER_OPTIONS = {
  concurrentJobs: 24,
  maxPoolSize: 25,
  localQueue: { size: 1000 },
  completeJobBatchDelay: 5,
  failJobBatchDelay: 5,
} as const;

/** Warnings and errors only: graphile-worker logs every job start at info. */
export function quietLogger(Logger: typeof LoggerType): LoggerType {
  return new Logger(() => (level, message) => {
    if (level === 'error' || level === 'warning') console.error(`graphile-worker ${level}: ${message}`);
  });
}
