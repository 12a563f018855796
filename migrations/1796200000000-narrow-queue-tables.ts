import type { MigrationInterface, QueryRunner } from 'typeorm';

// The worker's two functions as this migration made them, in parts: 1796300000000 runs the same
// queries from PL/pgSQL under the same name, signature and settings.
export const CLAIM_HEAD = `jobs_claim(p_types text[], p_limit integer, p_lease_seconds float8, p_worker text)
  RETURNS SETOF jobs`;
export const CLAIM_SETTINGS = `SET enable_sort = off SET enable_bitmapscan = off SET enable_seqscan = off
  SET enable_hashjoin = off SET enable_mergejoin = off`;
export const CLAIM_BODY = `
        WITH picked AS (
          DELETE FROM job_queue q WHERE q.ctid = ANY (ARRAY(
            SELECT ctid FROM job_queue
            WHERE run_at <= now() AND type = ANY(p_types)
            ORDER BY priority DESC, run_at, created_at
            LIMIT p_limit
            FOR UPDATE SKIP LOCKED))
          RETURNING q.id
        ), claimed AS (
          UPDATE jobs j SET
            status = 'running', attempts = j.attempts + 1, lease_token = j.lease_token + 1,
            worker_id = p_worker, started_at = now(), updated_at = now(), progress = 0,
            progress_message = NULL
          FROM picked WHERE j.id = picked.id AND j.status = 'queued'
          RETURNING j.*
        ), leased AS (
          INSERT INTO job_leases (id, lease_token, type, expires_at)
          SELECT c.id, c.lease_token, c.type, now() + p_lease_seconds * interval '1 second' FROM claimed c
          ON CONFLICT (id) DO UPDATE SET lease_token = EXCLUDED.lease_token, type = EXCLUDED.type,
            expires_at = EXCLUDED.expires_at
        )
        SELECT * FROM claimed
`;

export const FINISH_HEAD = `jobs_finish(p_ids uuid[], p_tokens bigint[], p_statuses text[], p_outcomes text[],
    p_results jsonb[], p_error_codes text[], p_error_messages text[], p_run_ats timestamptz[],
    p_unspends int[], p_progresses smallint[], p_progress_messages text[], p_started_ats timestamptz[],
    p_finished_ats timestamptz[])
  RETURNS TABLE (job_id uuid, job_type text, job_status text, job_lease_token bigint)`;
export const FINISH_SETTINGS =
  'SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off';
export const FINISH_BODY = `
        WITH v AS (
          SELECT * FROM unnest(p_ids, p_tokens, p_statuses, p_outcomes, p_results, p_error_codes,
            p_error_messages, p_run_ats, p_unspends, p_progresses, p_progress_messages, p_started_ats,
            p_finished_ats)
          AS v(id, token, status, outcome, result, error_code, error_message, run_at, unspend, progress,
            progress_message, started_at, finished_at)
        ), done AS (
          UPDATE jobs j SET
            status = CASE WHEN j.cancel_requested THEN 'cancelled' ELSE v.status END,
            result = CASE WHEN v.status = 'succeeded' AND NOT j.cancel_requested THEN v.result ELSE j.result END,
            attempts = j.attempts - v.unspend,
            last_error_code = COALESCE(v.error_code, j.last_error_code),
            last_error_message = CASE WHEN v.error_code IS NULL THEN j.last_error_message ELSE v.error_message END,
            run_at = CASE WHEN v.status = 'queued' THEN v.run_at ELSE j.run_at END,
            progress = COALESCE(v.progress, j.progress),
            progress_message = CASE WHEN v.progress IS NULL THEN j.progress_message ELSE v.progress_message END,
            started_at = v.started_at,
            finished_at = CASE WHEN j.cancel_requested OR v.status <> 'queued' THEN v.finished_at END,
            updated_at = v.finished_at
          FROM v
          WHERE j.id = v.id AND j.lease_token = v.token AND j.status = 'running'
          RETURNING j.id, j.type, j.status, j.lease_token, j.priority, j.run_at, j.created_at,
            j.attempts + v.unspend AS attempt, j.worker_id, v.outcome, v.error_code, v.error_message,
            v.started_at, v.finished_at
        ), history AS (
          INSERT INTO job_attempts
            (job_id, lease_token, attempt, worker_id, started_at, finished_at, outcome, error_code, error_message)
          SELECT d.id, d.lease_token, d.attempt, d.worker_id, d.started_at, d.finished_at,
            CASE WHEN d.status = 'cancelled' AND d.outcome <> 'interrupted' THEN 'cancelled' ELSE d.outcome END,
            d.error_code, d.error_message
          FROM done d
          -- A succeeded attempt is the job's last and its row holds it (migration 1796000000000).
          WHERE d.outcome <> 'deferred' AND d.status <> 'succeeded'
        ), unleased AS (
          DELETE FROM job_leases l USING done d WHERE l.id = d.id
        ), requeued AS (
          INSERT INTO job_queue (id, type, priority, run_at, created_at)
          SELECT d.id, d.type, d.priority, d.run_at, d.created_at FROM done d WHERE d.status = 'queued'
        )
        SELECT d.id, d.type, d.status, d.lease_token FROM done d
`;

/**
 * Ready jobs and running attempts get their own narrow tables, so that moving a job through its
 * states no longer rewrites the indexes of `jobs` (issue 6, docs/performance.md).
 *
 * Before, the claim and the finish each wrote a whole new row version of `jobs` plus an entry in
 * each of its indexes, because `status` was in the predicates of IDX_jobs_ready,
 * IDX_jobs_running_lease and IDX_jobs_final: an update that changes an indexed column cannot be
 * HOT. With those three gone, and room left on each page (fillfactor 50), no index of `jobs`
 * names a column that a state change writes, so the updates are HOT: the new version goes on the
 * same page, and no index entry is written. What those indexes found now has its own table:
 * - job_queue: one row per queued job, with the claim order as its one index (INCLUDE type and
 *   id: the claim filters by type there, and a cancel finds its job's row by key and id). The
 *   claim deletes the rows it takes.
 * - job_leases: one row per running attempt, holding the lease's expiry, which the heartbeat
 *   renews there (HOT: the table's only index is on id); the lease reaper scans it (it holds
 *   only what is running).
 * `jobs.status` stays the truth that every read uses. A job is in job_queue exactly while it is
 * `queued` and in job_leases exactly while it is `running`; the statements that move a job write
 * both in one statement, and the claim drops a queue row whose job is no longer queued.
 *
 * Measured on the statements replayed alone (100,000 jobs, claims of 400): 92 % of the job-row
 * updates HOT, PostgreSQL CPU per drained job −35 %, WAL −29 %; enqueue +10 % (the queue row).
 * Final-state counts and the retention prune lose their index: the counts scan the table (cached
 * 5 s, JobStateCounts), the prune walks IDX_jobs_created (a job finishes after it is created).
 *
 * Replicas of earlier versions must be stopped before this runs (README, Operations): their SQL
 * writes jobs.lease_expires_at and knows nothing of job_queue, so a job one of them submitted
 * would be queued in `jobs` and never claimed.
 */
export class NarrowQueueTables1796200000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE job_queue (
        id uuid NOT NULL,
        type text NOT NULL,
        priority smallint NOT NULL,
        run_at timestamptz(3) NOT NULL,
        created_at timestamptz(3) NOT NULL
      )`);
    await q.query(`
      CREATE INDEX "IDX_job_queue_ready" ON job_queue (priority DESC, run_at, created_at) INCLUDE (type, id)`);
    await q.query(`
      CREATE TABLE job_leases (
        id uuid NOT NULL,
        lease_token bigint NOT NULL,
        type text NOT NULL,
        expires_at timestamptz(3) NOT NULL,
        CONSTRAINT "PK_job_leases" PRIMARY KEY (id)
      )`);
    await q.query(`
      INSERT INTO job_queue (id, type, priority, run_at, created_at)
      SELECT id, type, priority, run_at, created_at FROM jobs WHERE status = 'queued'`);
    await q.query(`
      INSERT INTO job_leases (id, lease_token, type, expires_at)
      SELECT id, lease_token, type, lease_expires_at FROM jobs WHERE status = 'running'`);

    await q.query('DROP FUNCTION jobs_claim(text[], integer, float8, text)');
    await q.query('DROP INDEX "IDX_jobs_ready"');
    await q.query('DROP INDEX "IDX_jobs_running_lease"');
    await q.query('DROP INDEX "IDX_jobs_final"');
    await q.query('ALTER TABLE jobs DROP CONSTRAINT "CHK_jobs_running_lease"');
    await q.query('ALTER TABLE jobs DROP COLUMN lease_expires_at');
    await q.query('ALTER TABLE jobs SET (fillfactor = 50)');

    // The claim (JobStore.claim), a function so that it can pin its plan whatever the statistics
    // say (migrations 1795600000000, 1796100000000): walk IDX_job_queue_ready in claim order, stop
    // after p_limit rows, delete them by ctid, reach each job through its primary key.
    await q.query(`
      CREATE FUNCTION ${CLAIM_HEAD} LANGUAGE sql ${CLAIM_SETTINGS} AS $$${CLAIM_BODY}$$`);

    // The end of attempts (JobStore.finish), a function for the same reason: without an index on
    // running jobs the planner, pricing a batch of hundreds, scanned the whole table to join it
    // (225 µs per job against ~25); pinned, each job is one primary-key probe.
    await q.query(`
      CREATE FUNCTION ${FINISH_HEAD} LANGUAGE sql ${FINISH_SETTINGS} AS $$${FINISH_BODY}$$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      'DROP FUNCTION jobs_finish(uuid[], bigint[], text[], text[], jsonb[], text[], text[], timestamptz[], int[], smallint[], text[], timestamptz[], timestamptz[])',
    );
    await q.query('DROP FUNCTION jobs_claim(text[], integer, float8, text)');
    await q.query('ALTER TABLE jobs RESET (fillfactor)');
    await q.query('ALTER TABLE jobs ADD COLUMN lease_expires_at timestamptz(3)');
    await q.query('UPDATE jobs j SET lease_expires_at = l.expires_at FROM job_leases l WHERE l.id = j.id');
    await q.query(`
      ALTER TABLE jobs ADD CONSTRAINT "CHK_jobs_running_lease" CHECK (status <> 'running' OR lease_expires_at IS NOT NULL)`);
    await q.query(`
      CREATE INDEX "IDX_jobs_ready" ON jobs (priority DESC, run_at, created_at) INCLUDE (type)
        WHERE status = 'queued'`);
    await q.query(`CREATE INDEX "IDX_jobs_running_lease" ON jobs (lease_expires_at) INCLUDE (type)
        WHERE status = 'running'`);
    await q.query(`
      CREATE INDEX "IDX_jobs_final" ON jobs (finished_at) INCLUDE (type, status)
        WHERE status IN ('succeeded', 'failed', 'cancelled')`);
    await q.query(`
      CREATE FUNCTION jobs_claim(p_types text[], p_limit integer, p_lease_seconds float8, p_worker text)
      RETURNS SETOF jobs LANGUAGE sql
      SET enable_sort = off SET enable_bitmapscan = off SET enable_hashjoin = off SET enable_mergejoin = off
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
    await q.query('DROP TABLE job_leases');
    await q.query('DROP TABLE job_queue');
  }
}
