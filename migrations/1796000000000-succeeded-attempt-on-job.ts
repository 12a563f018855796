import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A succeeded attempt is recorded on its job row alone. Success is final and only the job's last
 * attempt can reach it, so the row already holds all of it (attempts, worker_id, started_at,
 * finished_at, lease_token); GET /v1/jobs/:id/attempts reads it from there, as it reads the
 * running attempt. A history row per succeeded job was a heap tuple and a primary-key entry on
 * the drain's hottest statement (JobStore.finish). Attempts that failed, timed out, were
 * cancelled, interrupted or lost their lease keep their rows in job_attempts.
 *
 * This removes the history rows that earlier versions wrote for succeeded jobs, so that they are
 * not listed twice; `down` writes them back from the job rows. One DELETE: on a store holding
 * millions of succeeded jobs it takes as long as deleting that many rows, and it takes no lock
 * that would hold up job writes meanwhile (only the rows it deletes).
 */
export class SucceededAttemptOnJob1796000000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DELETE FROM job_attempts a USING jobs j
      WHERE a.job_id = j.id AND a.lease_token = j.lease_token AND j.status = 'succeeded'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      INSERT INTO job_attempts (job_id, lease_token, attempt, worker_id, started_at, finished_at, outcome)
      SELECT id, lease_token, attempts, worker_id, started_at, finished_at, 'succeeded'
      FROM jobs WHERE status = 'succeeded'
      ON CONFLICT DO NOTHING`);
  }
}
