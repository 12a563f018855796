import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * jobs_claim (migration 1795600000000) joined the rows it picked back to jobs with a hash join
 * over a sequential scan of the whole table: a SQL function's body is planned with its
 * parameters unknown, so the planner took `LIMIT p_limit` for a tenth of the table. A claim of
 * 400 from a table of 100,000 jobs read all of them (EXPLAIN ANALYZE: 9,167 buffers, 36 ms;
 * 24 ms of it the hash over the whole table), and each claim cost more the more jobs the table
 * held, finished ones included. With hash and merge joins off, as sorts and bitmap scans already
 * are, the picked rows are joined through the primary key, one index probe each (~25 µs per
 * claimed job against ~90, whatever the table's size).
 */
export class ClaimJoinPlan1796100000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER FUNCTION jobs_claim(text[], integer, float8, text) SET enable_hashjoin = off');
    await q.query('ALTER FUNCTION jobs_claim(text[], integer, float8, text) SET enable_mergejoin = off');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER FUNCTION jobs_claim(text[], integer, float8, text) RESET enable_hashjoin');
    await q.query('ALTER FUNCTION jobs_claim(text[], integer, float8, text) RESET enable_mergejoin');
  }
}
