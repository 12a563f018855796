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
describe('jobs_claim and jobs_finish on a backlog with fresh statistics', () => {
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

  // PL/pgSQL (migration 1796300000000) plans the first five calls of a session for their
  // arguments, then keeps one generic plan: the pins must hold for that one too.
  it('claims and finishes through indexes on every call of a session, the cached plans included', async () => {
    const before = await scans();
    for (let call = 0; call < 8; call += 1) {
      const claimed = await session.manager.query<{ id: string; lease_token: string }[]>(
        "SELECT id, lease_token FROM jobs_claim(ARRAY['noop'], 50, 30, 'test-worker') ORDER BY id",
      );
      expect(claimed).toHaveLength(50);
      const each = <T>(value: T) => claimed.map(() => value);
      const now = Date.now();
      const moved = await session.manager.query<{ job_status: string }[]>(
        `SELECT job_status FROM jobs_finish($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::jsonb[],
           $6::text[], $7::text[], $8::float8[], $9::int[], $10::smallint[], $11::text[],
           $12::float8[], $13::float8[])`,
        [
          claimed.map((row) => row.id),
          claimed.map((row) => row.lease_token),
          each('succeeded'),
          each('succeeded'),
          each('null'),
          each(null),
          each(null),
          each(null),
          each(0),
          each(100),
          each(null),
          each(now),
          each(now),
        ],
      );
      expect(moved.map((row) => row.job_status)).toEqual(each('succeeded'));
    }
    const after = await scans();

    expect(after.seq - before.seq).toBe(0);
    const [{ succeeded }] = await session.manager.query<{ succeeded: number }[]>(
      "SELECT count(*)::int AS succeeded FROM jobs WHERE status = 'succeeded' AND worker_id = 'test-worker'",
    );
    expect(succeeded).toBe(400);
  });
});
