import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One index for finished jobs instead of two. IDX_jobs_final_type_status (type, status) served the
 * per-type final counts and IDX_jobs_finished_at (finished_at) the retention prune, both over the
 * same rows; (finished_at) INCLUDE (type, status) serves the prune in order and the counts as an
 * index-only scan, and every finished job writes one index entry fewer.
 *
 * CONCURRENTLY, so an upgrade does not block job writes while the index is built over a large
 * table; that cannot run inside a transaction. A build that failed half-way leaves an invalid
 * index under the new name, which is dropped before building again.
 */
export class JobsFinalIndex1795900000000 implements MigrationInterface {
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX CONCURRENTLY IF EXISTS "IDX_jobs_final"');
    await q.query(`
      CREATE INDEX CONCURRENTLY "IDX_jobs_final" ON jobs (finished_at) INCLUDE (type, status)
        WHERE status IN ('succeeded', 'failed', 'cancelled')`);
    await q.query('DROP INDEX CONCURRENTLY IF EXISTS "IDX_jobs_final_type_status"');
    await q.query('DROP INDEX CONCURRENTLY IF EXISTS "IDX_jobs_finished_at"');
  }

  /** TypeORM reverts inside a transaction whatever `transaction` says, so this builds in place. */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE INDEX "IDX_jobs_final_type_status" ON jobs (type, status)
        WHERE status IN ('succeeded', 'failed', 'cancelled')`);
    await q.query(`
      CREATE INDEX "IDX_jobs_finished_at" ON jobs (finished_at)
        WHERE status IN ('succeeded', 'failed', 'cancelled')`);
    await q.query('DROP INDEX "IDX_jobs_final"');
  }
}
