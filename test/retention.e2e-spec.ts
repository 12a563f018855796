import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AuditRetention } from '../src/audit/audit-retention';
import { JobRetention } from '../src/jobs/job-retention';
import { CredentialRetention } from '../src/users/credential-retention';
import { login, loginAdmin, newUser } from './support/auth';
import { submitJob, waitForJob } from './support/jobs';
import { startTestApp, type TestApp } from './support/test-app';

describe('retention: finished jobs, audit rows and spent credentials are pruned in batches, one replica at a time (CONTRACT §5, §6)', () => {
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

  it('deletes refresh tokens a day past their expiry and spent login-failure windows, and nothing live', async () => {
    const admin = await loginAdmin(t.app);
    const user = await newUser(t.app, admin);
    const spent = await login(t.app, user.email, user.password);
    const live = await login(t.app, user.email, user.password);
    // One failed login each for two addresses (known or not, each gets its failure window).
    for (const email of ['gone@test.local', 'kept@test.local']) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email, password: 'not-the-password' },
      });
      expect(res.statusCode).toBe(401);
    }
    const family = (token: string) =>
      db.query<{ family_id: string }[]>('SELECT family_id FROM refresh_tokens WHERE token_hash = $1', [
        createHash('sha256').update(token).digest('hex'),
      ]);
    const [{ family_id: spentFamily }] = await family(spent.refreshToken);
    await db.query("UPDATE refresh_tokens SET expires_at = now() - interval '2 days' WHERE family_id = $1", [
      spentFamily,
    ]);
    await db.query(
      "UPDATE login_failures SET window_started_at = now() - interval '16 minutes' WHERE email = 'gone@test.local'",
    );
    const before = await db.query<{ n: number }[]>('SELECT count(*)::int AS n FROM refresh_tokens');

    expect(await t.app.get(CredentialRetention).prune()).toBe(2);

    expect(await family(spent.refreshToken)).toEqual([]);
    const [after] = await db.query<{ n: number }[]>('SELECT count(*)::int AS n FROM refresh_tokens');
    expect(after.n).toBe(before[0].n - 1);
    const failures = await db.query<{ email: string }[]>('SELECT email FROM login_failures ORDER BY email');
    expect(failures.map((row) => row.email)).toEqual(['kept@test.local']);
    // What is live still works.
    const refreshed = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/refresh',
      payload: { refreshToken: live.refreshToken },
    });
    expect(refreshed.statusCode).toBe(200);
    expect(await t.app.get(CredentialRetention).prune()).toBe(0);
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
