import { DataSource } from 'typeorm';
import { SucceededAttemptOnJob1796000000000 } from '../migrations/1796000000000-succeeded-attempt-on-job';
import { loginAdmin, newUser, type Session } from './support/auth';
import { submitJob, waitForJob } from './support/jobs';
import { startTestApp, type TestApp } from './support/test-app';
import { TestHandlersModule } from './support/test-handlers';

/**
 * Upgrading a store whose earlier version wrote a history row for every success: the migration
 * removes those rows, since the job row now records the success, so each attempt is listed once;
 * reverting writes them back.
 */
describe('migration 1796000000000: a succeeded attempt lives on its job row', () => {
  let t: TestApp;
  let db: DataSource;
  let user: Session;
  const migration = new SucceededAttemptOnJob1796000000000();
  const outcomes = async (id: string) =>
    (await t.app.inject({ method: 'GET', url: `/v1/jobs/${id}/attempts`, headers: user.headers })).json<{
      items: { attempt: number; outcome: string }[];
    }>().items;
  const history = (id: string) =>
    db.query<{ attempt: number; outcome: string; started_at: Date; finished_at: Date; worker_id: string }[]>(
      'SELECT attempt, outcome, started_at, finished_at, worker_id FROM job_attempts WHERE job_id = $1 ORDER BY attempt',
      [id],
    );
  const migrate = async (step: 'up' | 'down') => {
    const runner = db.createQueryRunner();
    try {
      await migration[step](runner);
    } finally {
      await runner.release();
    }
  };

  beforeAll(async () => {
    t = await startTestApp({ imports: [TestHandlersModule] });
    db = t.app.get(DataSource);
    user = await newUser(t.app, await loginAdmin(t.app));
  });
  afterAll(() => t.close());

  it('up drops the success rows an earlier version wrote, down writes them back from the job rows', async () => {
    const retried = await submitJob(t.app, user, {
      type: 'test.flaky',
      payload: { failTimes: 1 },
      backoff: { baseSeconds: 0.01, maxSeconds: 0.02 },
    });
    const failed = await submitJob(t.app, user, {
      type: 'test.flaky',
      payload: { failTimes: 5 },
      maxAttempts: 1,
    });
    const job = await waitForJob(t.app, user, retried.id);
    await waitForJob(t.app, user, failed.id);
    expect(job).toMatchObject({ status: 'succeeded', attempts: 2 });
    // What an earlier version left behind: the success as a history row too.
    await db.query(
      `INSERT INTO job_attempts (job_id, lease_token, attempt, worker_id, started_at, finished_at, outcome)
       SELECT id, lease_token, attempts, worker_id, started_at, finished_at, 'succeeded' FROM jobs WHERE id = $1`,
      [job.id],
    );
    const oldRows = await history(job.id);
    expect((await outcomes(job.id)).map((a) => a.outcome)).toEqual(['failed', 'succeeded', 'succeeded']);

    await migrate('up');
    expect(await outcomes(job.id)).toEqual([
      expect.objectContaining({ attempt: 1, outcome: 'failed' }),
      expect.objectContaining({ attempt: 2, outcome: 'succeeded' }),
    ]);
    expect((await history(job.id)).map((row) => row.outcome)).toEqual(['failed']);
    // A failed job's last attempt is a history row, and stays one.
    expect((await history(failed.id)).map((row) => row.outcome)).toEqual(['failed']);

    await migrate('down');
    expect(await history(job.id)).toEqual(oldRows);
    expect((await history(failed.id)).map((row) => row.outcome)).toEqual(['failed']);
    await migrate('up');
    expect((await outcomes(job.id)).map((a) => a.outcome)).toEqual(['failed', 'succeeded']);
  });
});
