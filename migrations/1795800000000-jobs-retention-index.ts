import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The retention prune (JOBS_RETENTION_DAYS) walks finished jobs oldest first. */
export class JobsRetentionIndex1795800000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE INDEX "IDX_jobs_finished_at" ON jobs (finished_at)
        WHERE status IN ('succeeded', 'failed', 'cancelled')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX "IDX_jobs_finished_at"');
  }
}
