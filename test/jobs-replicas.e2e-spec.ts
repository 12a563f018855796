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

  it('hands back buffered jobs of a type that turned slow after quick ones sized its buffer', async () => {
    // 300 quick `sleep` jobs teach every engine that the type takes no time, so a claim may buffer
    // hundreds of them; then 40 slow ones come, more than the engines' slots (3 × 10 on
    // PostgreSQL), so that however the first claims split them, one engine holds more than 10. A buffered job shows `running` with an attempt and
    // a start time, and holds its place against other replicas and later jobs of higher priority:
    // past 250 ms in the buffer it goes back to the queue, and the type's buffer shrinks while its
    // slots run long. Before, one engine held up to all 40 as running (10 started) for 1.5 s.
    const api = apps[0].app;
    const user = await newUser(api, await loginAdmin(api));
    const db = api.get(DataSource);
    const submit = async (ms: number, count: number): Promise<string[]> => {
      const res = await api.inject({
        method: 'POST',
        url: '/v1/jobs/batch',
        headers: user.headers,
        payload: { jobs: Array.from({ length: count }, () => ({ type: 'sleep', payload: { ms } })) },
      });
      expect(res.statusCode).toBe(202);
      return res.json<{ results: { job: { id: string } }[] }>().results.map((item) => item.job.id);
    };
    const unfinished = async (ids: string[]): Promise<number> => {
      const [row] = await db.query<{ n: number }[]>(
        "SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1) AND status <> 'succeeded'",
        [ids],
      );
      return row.n;
    };
    const quick = await submit(0, 300);
    for (let deadline = Date.now() + 30_000; (await unfinished(quick)) > 0 && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await unfinished(quick)).toBe(0);

    const slow = await submit(1500, 40);
    const submittedAt = Date.now();
    let mostHeldLate = 0;
    for (let deadline = submittedAt + 60_000; (await unfinished(slow)) > 0 && Date.now() < deadline;) {
      const rows = await db.query<{ running: number }[]>(
        "SELECT count(*)::int AS running FROM jobs WHERE id = ANY($1) AND status = 'running' GROUP BY worker_id",
        [slow],
      );
      // From 1 s on: the first 250 ms may buffer them all, and a replica woken by the hand-back
      // may buffer what it cannot start for another 250 ms.
      if (Date.now() - submittedAt >= 1000) {
        mostHeldLate = Math.max(mostHeldLate, ...rows.map((row) => row.running));
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await unfinished(slow)).toBe(0);
    // 10 slots, and at most one job claimed for the buffer while the slots' age is under 250 ms.
    expect(mostHeldLate).toBeLessThanOrEqual(11);
    // A job handed back spent no attempt and left no history row.
    const [history] = await db.query<{ attempts: number; rows: number }[]>(
      `SELECT sum(attempts)::int AS attempts,
         (SELECT count(*)::int FROM job_attempts WHERE job_id = ANY($1)) AS rows
       FROM jobs WHERE id = ANY($1)`,
      [slow],
    );
    expect(history).toEqual({ attempts: 40, rows: 0 });
    expect(await narrowTableDisagreements(db)).toEqual([]);
  });
  it('starts a job of higher priority before lower ones that had been claimed ahead of it', async () => {
    // 300 quick `sleep` jobs first make the engines' average for the type short again, so that a
    // claim buffers the 40 slow priority-1 jobs it finds. Five priority-10 ones come once the buffer has handed
    // back what waited 250 ms: they must start before every priority-1 job still waiting then
    // (CONTRACT §5: higher runs first). A buffer that kept its jobs ran those first, 1 s later.
    const api = apps[0].app;
    const user = await newUser(api, await loginAdmin(api));
    const db = api.get(DataSource);
    const submit = async (count: number, priority: number): Promise<string[]> => {
      const res = await api.inject({
        method: 'POST',
        url: '/v1/jobs/batch',
        headers: user.headers,
        payload: {
          jobs: Array.from({ length: count }, () => ({ type: 'sleep', priority, payload: { ms: 1000 } })),
        },
      });
      expect(res.statusCode).toBe(202);
      return res.json<{ results: { job: { id: string } }[] }>().results.map((item) => item.job.id);
    };
    const quick = (
      await api.inject({
        method: 'POST',
        url: '/v1/jobs/batch',
        headers: user.headers,
        payload: { jobs: Array.from({ length: 300 }, () => ({ type: 'sleep', payload: { ms: 0 } })) },
      })
    )
      .json<{ results: { job: { id: string } }[] }>()
      .results.map((item) => item.job.id);
    for (let deadline = Date.now() + 30_000; Date.now() < deadline;) {
      const [row] = await db.query<{ n: number }[]>(
        "SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1) AND status <> 'succeeded'",
        [quick],
      );
      if (row.n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const low = await submit(40, 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const highAt = Date.now();
    const high = await submit(5, 10);
    const all = [...low, ...high];
    for (let deadline = Date.now() + 60_000; Date.now() < deadline;) {
      const [row] = await db.query<{ n: number }[]>(
        "SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1) AND status <> 'succeeded'",
        [all],
      );
      if (row.n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const started = async (ids: string[]) =>
      (
        await db.query<{ at: Date; status: string }[]>(
          'SELECT started_at AS at, status FROM jobs WHERE id = ANY($1)',
          [ids],
        )
      ).map((row) => {
        expect(row.status).toBe('succeeded');
        return row.at.getTime();
      });
    const lastHigh = Math.max(...(await started(high)));
    const lowAfter = (await started(low)).filter((at) => at > highAt);
    // Some priority-1 jobs waited for a slot when the priority-10 ones came (40 > the slots).
    expect(lowAfter.length).toBeGreaterThan(0);
    expect(lastHigh).toBeLessThanOrEqual(Math.min(...lowAfter));
  });
});
