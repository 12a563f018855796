import type { MigrationInterface, QueryRunner } from 'typeorm';
import { FINISH_BODY, FINISH_HEAD, FINISH_SETTINGS } from './1796200000000-narrow-queue-tables';

/**
 * Attempt numbers that never repeat within a job. A job's number for its current attempt is
 * `attempts + attempt_offset`: `attempts` stays the budget counter (reset by a retry, given back
 * by an interrupted or deferred attempt), and `attempt_offset` keeps what those took away. Before,
 * a retried job numbered its attempts from 1 again, and an attempt interrupted by a shutdown gave
 * its number to the next one: two history rows with one number, and two calls with one
 * `X-Job-Attempt` that a receiver de-duplicating on it would have dropped. A deferred attempt
 * (its handler refused to start) sent nothing, and its number goes to the next attempt.
 *
 * Only jobs_finish changes among the worker's functions (it writes the history); the claim
 * returns every column of jobs, the new one included.
 */
export const FINISH_BODY_NUMBERED = `
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
            attempt_offset = j.attempt_offset + CASE WHEN v.outcome = 'interrupted' THEN v.unspend ELSE 0 END,
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
            j.attempts + j.attempt_offset + CASE WHEN v.outcome = 'interrupted' THEN 0 ELSE v.unspend END
              AS attempt,
            j.worker_id, v.outcome, v.error_code, v.error_message, v.started_at, v.finished_at
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

export class AttemptNumbers1796400000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    // A constant default: no table rewrite (PostgreSQL 11+), whatever the table holds.
    await q.query('ALTER TABLE jobs ADD COLUMN attempt_offset integer NOT NULL DEFAULT 0');
    await q.query(finishFunction(FINISH_BODY_NUMBERED));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(finishFunction(FINISH_BODY));
    await q.query('ALTER TABLE jobs DROP COLUMN attempt_offset');
  }
}

/** As migration 1796300000000 makes it: PL/pgSQL, whose result columns must not shadow the tables'. */
function finishFunction(body: string): string {
  return `CREATE OR REPLACE FUNCTION ${FINISH_HEAD} LANGUAGE plpgsql ${FINISH_SETTINGS}
      AS $$ #variable_conflict use_column
      BEGIN RETURN QUERY ${body}; END $$`;
}
