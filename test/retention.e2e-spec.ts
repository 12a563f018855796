import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AuditRetention } from '../src/audit/audit-retention';
import { JobRetention } from '../src/jobs/job-retention';
import { loginAdmin, newUser } from './support/auth';
import { submitJob, waitForJob } from './support/jobs';
import { startTestApp, type TestApp } from './support/test-app';

describe('retention: finished jobs and audit rows are pruned in batches, one replica at a time (CONTRACT §5, §6)', () => {
  let t: TestApp;
  let db: DataSource;
  beforeAll(async () => {
    t = await startTestApp({ env: { JOBS_RETENTION_DAYS: '30', AUDIT_RETENTION_DAYS: '365' } });
    db = t.app.get(DataSource);
  });
  afterAll(() => t.close());

  it('deletes finished jobs past JOBS_RETENTION_DAYS with their attempts, and nothing else', async () => {
    const user = await newUser(t.app, await loginAdmin(t.app));
    const old = await Promise.all(
      [1, 2, 3].map((n) => submitJob(t.app, user, { type: 'noop', payload: { n } })),
    );
    const recent = await submitJob(t.app, user, { type: 'noop', payload: { n: 4 } });
    const waiting = await submitJob(t.app, user, { type: 'noop', payload: {}, delaySeconds: 3600 });
    for (const job of [...old, recent]) await waitForJob(t.app, user, job.id);
    const oldIds = old.map((job) => job.id);
    await db.query(
      "UPDATE jobs SET created_at = now() - interval '32 days', finished_at = now() - interval '31 days' WHERE id = ANY($1::uuid[])",
      [oldIds],
    );
    // A queued job as old as that stays: only finished jobs expire.
    await db.query("UPDATE jobs SET created_at = now() - interval '40 days' WHERE id = $1", [waiting.id]);

    expect(await t.app.get(JobRetention).prune()).toBe(3);

    const left = await db.query<{ id: string }[]>('SELECT id FROM jobs WHERE id = ANY($1::uuid[])', [
      [...oldIds, recent.id, waiting.id],
    ]);
    expect(left.map((row) => row.id).sort()).toEqual([recent.id, waiting.id].sort());
    const [attempts] = await db.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM job_attempts WHERE job_id = ANY($1::uuid[])',
      [oldIds],
    );
    expect(attempts.n).toBe(0);
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/^jobs_pruned_total\{type="noop"\} 3$/m);
    expect(await t.app.get(JobRetention).prune()).toBe(0);
  });

  it('the prune walks IDX_jobs_created in order, and no index of jobs names a column a state change writes', async () => {
    const [row] = await db.transaction(async (em) => {
      // On a table this small a sequential scan would win; the question is whether the index can serve.
      await em.query('SET LOCAL enable_seqscan = off');
      await em.query('SET LOCAL enable_bitmapscan = off');
      return em.query<{ 'QUERY PLAN': unknown }[]>(
        `EXPLAIN (FORMAT JSON) SELECT id FROM jobs WHERE created_at < now() - interval '30 days'
           AND status IN ('succeeded', 'failed', 'cancelled') AND finished_at < now() - interval '30 days'
         ORDER BY created_at LIMIT 500`,
      );
    });
    const prune = JSON.stringify(row['QUERY PLAN']);
    expect(prune).toContain('"Index Name":"IDX_jobs_created"');
    expect(prune).not.toContain('"Node Type":"Sort"');
    // An index over a column that the claim or the finish writes, in its key or its predicate,
    // would make those updates non-HOT again (migration 1796200000000).
    const written = [
      'status',
      'attempts',
      'lease_token',
      'worker_id',
      'started_at',
      'finished_at',
      'updated_at',
      'run_at',
      'progress',
      'result',
      'last_error_code',
      'cancel_requested',
    ];
    const indexes = await db.query<{ indexdef: string }[]>(
      "SELECT indexdef FROM pg_indexes WHERE tablename = 'jobs'",
    );
    expect(indexes.length).toBeGreaterThanOrEqual(4);
    for (const { indexdef } of indexes) {
      for (const column of written) expect(`${indexdef} `).not.toMatch(new RegExp(`\\b${column}\\b`));
    }
  });

  it('deletes audit rows past AUDIT_RETENTION_DAYS and counts them', async () => {
    await db.query(
      `INSERT INTO audit_logs (at, actor_type, action, resource_type, success)
       SELECT now() - interval '400 days', 'system', 'test.old', 'test', true FROM generate_series(1, 3)`,
    );
    expect(await t.app.get(AuditRetention).prune()).toBe(3);
    const [row] = await db.query<{ n: number }[]>(
      "SELECT count(*)::int AS n FROM audit_logs WHERE action = 'test.old'",
    );
    expect(row.n).toBe(0);
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/^audit_logs_pruned_total 3$/m);
  });

  it('takes turns: while another replica holds the retention lock, a prune deletes nothing', async () => {
    const url = process.env.DATABASE_URL ? t.store.env.DATABASE_URL : undefined;
    const user = await newUser(t.app, await loginAdmin(t.app));
    const job = await submitJob(t.app, user, { type: 'noop', payload: {} });
    await waitForJob(t.app, user, job.id);
    await db.query(
      "UPDATE jobs SET created_at = now() - interval '32 days', finished_at = now() - interval '31 days' WHERE id = $1",
      [job.id],
    );
    if (url) {
      // Another replica, mid-prune: a session holding the same advisory lock.
      const other = new Client({ connectionString: url });
      await other.connect();
      try {
        await other.query('SELECT pg_advisory_lock(7364101001)');
        expect(await t.app.get(JobRetention).prune()).toBe(0);
        await other.query('SELECT pg_advisory_unlock(7364101001)');
      } finally {
        await other.end();
      }
    }
    expect(await t.app.get(JobRetention).prune()).toBe(1);
  });
});
