import { DataSource } from 'typeorm';
import { loginAdmin, newUser } from './support/auth';
import { narrowTableDisagreements } from './support/jobs';
import { observed, TestHandlersModule } from './support/test-handlers';
import { startTestApp, type TestApp } from './support/test-app';

const JOBS = 2000;
// PostgreSQL: three engines on one database, as three replicas would be. The embedded store
// serves one process, so there the same promise is checked with one engine.
const ENGINES = process.env.DATABASE_URL ? 3 : 1;

describe(`${ENGINES} engine(s) on one store run ${JOBS} jobs exactly once (CONTRACT §1, §5)`, () => {
  const apps: TestApp[] = [];
  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
  });

  it('every job is invoked once, succeeds once and has one attempt row', async () => {
    observed.reset();
    const env = { JOBS_CONCURRENCY: '10', JOBS_POLL_INTERVAL_MS: '200' };
    apps.push(await startTestApp({ env, imports: [TestHandlersModule] }));
    for (let i = 1; i < ENGINES; i += 1) {
      apps.push(await startTestApp({ env, imports: [TestHandlersModule], store: apps[0].store }));
    }
    const api = apps[0].app;
    const user = await newUser(api, await loginAdmin(api));
    for (let offset = 0; offset < JOBS; offset += 1000) {
      const res = await api.inject({
        method: 'POST',
        url: '/v1/jobs/batch',
        headers: user.headers,
        payload: { jobs: Array.from({ length: 1000 }, () => ({ type: 'test.counting', payload: {} })) },
      });
      expect(res.statusCode).toBe(202);
    }

    const db = api.get(DataSource);
    const deadline = Date.now() + 120_000;
    let open = JOBS;
    while (open > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const [row] = await db.query<{ open: number }[]>(
        "SELECT count(*)::int AS open FROM jobs WHERE type = 'test.counting' AND status <> 'succeeded'",
      );
      open = row.open;
    }
    expect(open).toBe(0);

    const counts = [...observed.invocations.values()];
    expect(counts).toHaveLength(JOBS);
    expect(counts.filter((n) => n !== 1)).toEqual([]);
    // One attempt per job, and it succeeded: a succeeded attempt lives on its job row, so any
    // other attempt (a second run, a lost lease) would have left a job_attempts row.
    const [history] = await db.query<{ jobs: number; attempts: number; other: number }[]>(
      `SELECT count(*)::int AS jobs, sum(attempts)::int AS attempts,
         (SELECT count(*)::int FROM job_attempts a JOIN jobs o ON o.id = a.job_id
          WHERE o.type = 'test.counting') AS other
       FROM jobs WHERE type = 'test.counting'`,
    );
    expect(history).toEqual({ jobs: JOBS, attempts: JOBS, other: 0 });
    if (ENGINES > 1) {
      const [workers] = await db.query<{ n: number }[]>(
        "SELECT count(DISTINCT worker_id)::int AS n FROM jobs WHERE type = 'test.counting'",
      );
      // Every engine took part: the claims really were concurrent.
      expect(workers.n).toBe(ENGINES);
    }
    expect(await narrowTableDisagreements(db)).toEqual([]);
  });

  it('claims slow jobs only into free slots, even after quick ones sized the buffer', async () => {
    // The engines have just run 2,000 quick jobs. Jobs of a type not seen yet count as slow: each
    // engine takes only what its 10 slots can start, and leaves the rest to the others.
    const api = apps[0].app;
    const user = await newUser(api, await loginAdmin(api));
    const res = await api.inject({
      method: 'POST',
      url: '/v1/jobs/batch',
      headers: user.headers,
      payload: { jobs: Array.from({ length: 25 }, () => ({ type: 'sleep', payload: { ms: 1000 } })) },
    });
    expect(res.statusCode).toBe(202);
    const db = api.get(DataSource);
    let mostHeld = 0;
    let unfinished = 25;
    const deadline = Date.now() + 60_000;
    while (unfinished > 0 && Date.now() < deadline) {
      const rows = await db.query<{ running: number; unfinished: number }[]>(
        `SELECT count(*) FILTER (WHERE status = 'running')::int AS running,
           (SELECT count(*)::int FROM jobs WHERE type = 'sleep' AND status <> 'succeeded') AS unfinished
         FROM jobs WHERE type = 'sleep' GROUP BY worker_id`,
      );
      mostHeld = Math.max(mostHeld, ...rows.map((row) => row.running));
      unfinished = rows[0]?.unfinished ?? 25;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(unfinished).toBe(0);
    expect(mostHeld).toBeLessThanOrEqual(10);
    if (ENGINES > 1) {
      const [workers] = await db.query<{ n: number }[]>(
        "SELECT count(DISTINCT worker_id)::int AS n FROM jobs WHERE type = 'sleep'",
      );
      expect(workers.n).toBeGreaterThan(1);
    }
  });
});
