/**
 * The floor of the enqueue: a batch of jobs the least a service answering the contract can do
 * with them, on ours' tables. The items are checked only for a string type; one statement (one
 * round trip, autocommit) inserts the jobs, their job_queue rows (migration 1796200000000) and one
 * audit row listing the ids; the answer is the contract's, every accepted job in full, built from
 * what was sent as ours builds it. No auth, DTO validation, idempotency, metrics or hooks.
 */
import type { Pool } from 'pg';
import { arrayLiteral } from '../../libs/database/src/array-literal';
import { timeOrderedUuid } from '../../libs/database/src/time-ordered-uuid';

interface Item {
  type: string;
  payload: unknown;
}

export async function bareBatch(pool: Pool, owner: string | undefined, jobs: Item[]): Promise<unknown> {
  if (!Array.isArray(jobs) || jobs.some((job) => typeof job?.type !== 'string')) {
    throw Object.assign(new Error('each job needs a type'), { statusCode: 400 });
  }
  const ids = jobs.map(() => timeOrderedUuid());
  const { rows } = await pool.query<{ now: Date }>(
    `WITH j AS (INSERT INTO jobs (id, type, payload, max_attempts, timeout_seconds,
         backoff_base_seconds, backoff_max_seconds, owner_id)
       SELECT id, type, payload::jsonb, 3, 60, 1, 3600, $4
       FROM unnest($1::uuid[], $2::text[], $3::text[]) AS v(id, type, payload)
       RETURNING id, type, priority, run_at, created_at),
     q AS (INSERT INTO job_queue (id, type, priority, run_at, created_at)
       SELECT id, type, priority, run_at, created_at FROM j),
     a AS (INSERT INTO audit_logs (actor_type, actor_id, action, resource_type, success, changes)
       VALUES ('user', $4, 'job.created', 'job', true, $5::jsonb))
     SELECT now()::timestamptz(3) AS now`,
    [
      arrayLiteral(ids),
      arrayLiteral(jobs.map((job) => job.type)),
      arrayLiteral(jobs.map((job) => JSON.stringify(job.payload ?? {}))),
      owner,
      JSON.stringify({ jobIds: { after: ids } }),
    ],
  );
  const now = rows[0].now.toISOString();
  return {
    results: jobs.map((job, index) => ({
      index,
      job: {
        id: ids[index],
        type: job.type,
        name: null,
        status: 'queued',
        priority: 5,
        payload: job.payload ?? {},
        progress: 0,
        progressMessage: null,
        attempts: 0,
        maxAttempts: 3,
        runAt: now,
        timeoutSeconds: 60,
        idempotencyKey: null,
        ownerId: owner,
        cancelRequested: false,
        lastError: null,
        createdAt: now,
        updatedAt: now,
        startedAt: null,
        finishedAt: null,
      },
    })),
  };
}
