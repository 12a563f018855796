import { randomUUID } from 'node:crypto';
import { DataSource, type QueryRunner } from 'typeorm';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * The claim's cost must follow the batch it takes, not the table: a plan that reads every job
 * makes each claim slower the more jobs the store holds, finished ones included. PostgreSQL plans
 * a SQL function's body with its parameters unknown, so with fresh statistics over a backlog it
 * preferred hashing the whole table (migration 1796100000000). The table's own scan counters
 * say which way the rows were reached.
 */
describe('jobs_claim on a backlog with fresh statistics', () => {
  let t: TestApp;
  /** One connection for the whole test: the counters are per session, and the embedded store has one. */
  let session: QueryRunner;

  beforeAll(async () => {
    t = await startTestApp({ env: { JOBS_WORKER_ENABLED: 'false' } });
    session = t.app.get(DataSource).createQueryRunner();
  });
  afterAll(async () => {
    await session.release();
    await t.close();
  });

  /** This session's counters for jobs, flushed and re-read (they are otherwise reported lazily). */
  async function scans(): Promise<{ seq: number; idx: number }> {
    await session.manager.query('SELECT pg_stat_force_next_flush()');
    await session.manager.query('SELECT pg_stat_clear_snapshot()');
    const [row] = await session.manager.query<{ seq: number; idx: number }[]>(
      "SELECT seq_scan::int AS seq, idx_scan::int AS idx FROM pg_stat_user_tables WHERE relname = 'jobs'",
    );
    return row;
  }

  it('takes a batch through the ready index and the primary key, without scanning the table', async () => {
    await session.manager.query(
      `WITH j AS (
         INSERT INTO jobs (type, payload, max_attempts, timeout_seconds, backoff_base_seconds, backoff_max_seconds, owner_id)
         SELECT 'noop', '{}', 3, 30, 1, 60, $1 FROM generate_series(1, 3000)
         RETURNING id, type, priority, run_at, created_at)
       INSERT INTO job_queue SELECT id, type, priority, run_at, created_at FROM j`,
      [randomUUID()],
    );
    await session.manager.query('ANALYZE jobs, job_queue');
    const before = await scans();

    const claimed = await session.manager.query<{ id: string }[]>(
      "SELECT id FROM jobs_claim(ARRAY['noop'], 100, 30, 'test-worker')",
    );
    const after = await scans();

    expect(claimed).toHaveLength(100);
    expect(after.seq - before.seq).toBe(0);
    expect(after.idx - before.idx).toBeGreaterThan(0);
    const [{ running }] = await session.manager.query<{ running: number }[]>(
      "SELECT count(*)::int AS running FROM jobs WHERE status = 'running' AND worker_id = 'test-worker'",
    );
    expect(running).toBe(100);
  });
});
