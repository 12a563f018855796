import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Jobs and their attempt history (CONTRACT §5). The indexes follow the hot queries:
 * - IDX_jobs_ready (partial, queued only): the claim walks it in claim order and stops after a
 *   batch; it stays small however many finished jobs the table holds. `type` is included so the
 *   handled-types filter is checked before the heap is visited.
 * - IDX_jobs_running_lease (partial, running only): the lease reaper, and the running counts.
 * - IDX_jobs_owner_created / IDX_jobs_created: a user's list and an admin's list, newest first,
 *   in keyset order.
 * - IDX_jobs_final_type_status (partial, final states only): per-type final counts (metrics, admin
 *   queues) as index-only scans; queued and running counts come from the two partial indexes
 *   above. A full (type, status) index would tempt the planner into claiming through it and
 *   sorting every queued row (measured: 5-10 ms per claim at 20k queued instead of ~0.2 ms).
 * - UQ_jobs_owner_idempotency: an Idempotency-Key is unique per owner; the unique index is what
 *   makes 20 concurrent identical submissions create one job.
 * job_attempts has no foreign key: every attempt row is written by the same statement that moves
 * its job out of `running`, and the job's delete removes its attempts in the same transaction,
 * so the key would only add a row lock per write on the hottest path.
 */
export class Jobs1795600000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE jobs (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        type text NOT NULL,
        name text,
        status text NOT NULL DEFAULT 'queued',
        priority smallint NOT NULL DEFAULT 5,
        payload jsonb NOT NULL,
        result jsonb,
        progress smallint NOT NULL DEFAULT 0,
        progress_message text,
        attempts integer NOT NULL DEFAULT 0,
        max_attempts integer NOT NULL,
        run_at timestamptz(3) NOT NULL DEFAULT now(),
        timeout_seconds integer NOT NULL,
        backoff_base_seconds double precision NOT NULL,
        backoff_max_seconds double precision NOT NULL,
        idempotency_key text,
        request_hash text,
        owner_id uuid NOT NULL,
        cancel_requested boolean NOT NULL DEFAULT false,
        last_error_code text,
        last_error_message text,
        lease_token bigint NOT NULL DEFAULT 0,
        lease_expires_at timestamptz(3),
        worker_id text,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        started_at timestamptz(3),
        finished_at timestamptz(3),
        CONSTRAINT "PK_jobs" PRIMARY KEY (id),
        CONSTRAINT "CHK_jobs_status" CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
        CONSTRAINT "CHK_jobs_priority" CHECK (priority BETWEEN 1 AND 10),
        CONSTRAINT "CHK_jobs_progress" CHECK (progress BETWEEN 0 AND 100),
        CONSTRAINT "CHK_jobs_attempts" CHECK (attempts >= 0 AND max_attempts BETWEEN 1 AND 25),
        CONSTRAINT "CHK_jobs_running_lease" CHECK (status <> 'running' OR lease_expires_at IS NOT NULL)
      )`);
    await q.query(`
      CREATE INDEX "IDX_jobs_ready" ON jobs (priority DESC, run_at, created_at) INCLUDE (type)
        WHERE status = 'queued'`);
    await q.query(`CREATE INDEX "IDX_jobs_running_lease" ON jobs (lease_expires_at) INCLUDE (type)
        WHERE status = 'running'`);
    await q.query('CREATE INDEX "IDX_jobs_owner_created" ON jobs (owner_id, created_at DESC, id DESC)');
    await q.query('CREATE INDEX "IDX_jobs_created" ON jobs (created_at DESC, id DESC)');
    await q.query(`
      CREATE INDEX "IDX_jobs_final_type_status" ON jobs (type, status)
        WHERE status IN ('succeeded', 'failed', 'cancelled')`);
    await q.query(`
      CREATE UNIQUE INDEX "UQ_jobs_owner_idempotency" ON jobs (owner_id, idempotency_key)
        WHERE idempotency_key IS NOT NULL`);

    // The claim (see JobStore.claim). A function so that it can pin its plan: with stale or
    // missing statistics (a burst into an empty table; PGlite, which has no autovacuum) the
    // planner prefers a bitmap scan that sorts every queued row, 5-10 ms per claim at 20k queued.
    // With sorts and bitmap scans off it walks IDX_jobs_ready in claim order and stops after
    // p_limit rows, whatever the statistics say.
    await q.query(`
      CREATE FUNCTION jobs_claim(p_types text[], p_limit integer, p_lease_seconds float8, p_worker text)
      RETURNS SETOF jobs LANGUAGE sql
      SET enable_sort = off SET enable_bitmapscan = off
      AS $$
        WITH picked AS (
          SELECT id FROM jobs
          WHERE status = 'queued' AND run_at <= now() AND type = ANY(p_types)
          ORDER BY priority DESC, run_at, created_at
          LIMIT p_limit
          FOR UPDATE SKIP LOCKED)
        UPDATE jobs j SET
          status = 'running', attempts = j.attempts + 1, lease_token = j.lease_token + 1,
          lease_expires_at = now() + p_lease_seconds * interval '1 second', worker_id = p_worker,
          started_at = now(), updated_at = now(), progress = 0, progress_message = NULL
        FROM picked WHERE j.id = picked.id
        RETURNING j.*
      $$`);

    await q.query(`
      CREATE TABLE job_attempts (
        job_id uuid NOT NULL,
        lease_token bigint NOT NULL,
        attempt integer NOT NULL,
        worker_id text,
        started_at timestamptz(3) NOT NULL,
        finished_at timestamptz(3) NOT NULL,
        outcome text NOT NULL,
        error_code text,
        error_message text,
        CONSTRAINT "PK_job_attempts" PRIMARY KEY (job_id, lease_token),
        CONSTRAINT "CHK_job_attempts_outcome" CHECK (outcome IN
          ('succeeded', 'failed', 'timeout', 'cancelled', 'lease_expired', 'interrupted'))
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP FUNCTION jobs_claim(text[], integer, float8, text)');
    await q.query('DROP TABLE job_attempts');
    await q.query('DROP TABLE jobs');
  }
}
