/** pg-boss's settings, shared by the submitter and the worker process. */
export const QUEUE = 'noop';

/** Batch handler: 2,000 per fetch, 2 fetch loops, fetch again at once while batches come back full. */
export const WORK_OPTIONS = { batchSize: 2000, localConcurrency: 2, burstWhenBatchFull: true } as const;
