import { DataSource } from 'typeorm';
import { loginAdmin, newUser } from './support/auth';
import { type JobJson, narrowTableDisagreements } from './support/jobs';
import { startTestApp, type TestApp } from './support/test-app';
import { observed, TestHandlersModule } from './support/test-handlers';

const JOBS = 600;
/**
 * Cancels and deletes in flight at once: on PostgreSQL each holds its own pooled connection. They
 * walk the jobs in claim order, from the end the worker claims from, while a small worker
 * (4 slots, 5 ms jobs) claims a few at a time: the two fronts meet at the start.
 */
const IN_FLIGHT = 8;

/**
 * Cancels and deletes racing the claim (migration 1796200000000). The claim locks a job's
 * job_queue row, then its job row; a cancel or delete of a queued job locks the job row, then
 * takes the queue row unless a claim holds it. Under load the two meet on the same jobs: none may
 * deadlock or fail, and a job cancelled or deleted while queued must never start.
 */
describe('cancel and delete of queued jobs racing the claim (CONTRACT §5)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { JOBS_CONCURRENCY: '4' }, imports: [TestHandlersModule] });
  });
  afterAll(() => t.close());

  it('every action answers as the job stood, no job stopped while queued runs, and the queue tables agree', async () => {
    observed.reset();
    const user = await newUser(t.app, await loginAdmin(t.app));
    const submitted = await t.app.inject({
      method: 'POST',
      url: '/v1/jobs/batch',
      headers: user.headers,
      payload: {
        jobs: Array.from({ length: JOBS }, () => ({ type: 'test.counting', payload: { sleepMs: 5 } })),
      },
    });
    expect(submitted.statusCode).toBe(202);
    const ids = submitted.json<{ results: { job: JobJson }[] }>().results.map((item) => item.job.id);

    // Every third job is deleted, the others cancelled, while the worker claims them.
    const answers = new Map<string, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < ids.length) {
          const i = next++;
          const id = ids[i];
          const res = await t.app.inject(
            i % 3 === 0
              ? { method: 'DELETE', url: `/v1/jobs/${id}`, headers: user.headers }
              : { method: 'POST', url: `/v1/jobs/${id}/cancel`, headers: user.headers },
          );
          answers.set(id, res.statusCode);
        }
      }),
    );

    const statuses = [...answers.values()];
    // Cancel: 200 stopped while queued, 202 asked to stop while running, 409 already finished.
    // Delete: 204 for a queued or finished job, 409 for a running one.
    expect(statuses.filter((s) => ![200, 202, 204, 409].includes(s))).toEqual([]);
    const db = t.app.get(DataSource);
    // Which deletes took a queued job, as their audit rows record it.
    const deletedQueued = await db.query<{ id: string }[]>(
      `SELECT resource_id AS id FROM audit_logs WHERE action = 'job.deleted' AND success
         AND changes -> 'status' ->> 'before' = 'queued' AND resource_id = ANY($1::text[])`,
      [ids],
    );
    const stoppedQueued = [
      ...ids.filter((id) => answers.get(id) === 200),
      ...deletedQueued.map((row) => row.id),
    ];
    expect(ids.filter((id) => answers.get(id) === 200).length).toBeGreaterThan(0);
    expect(deletedQueued.length).toBeGreaterThan(0);

    const deadline = Date.now() + 30_000;
    let open = Infinity;
    while (open > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const [row] = await db.query<{ open: number }[]>(
        "SELECT count(*)::int AS open FROM jobs WHERE id = ANY($1::uuid[]) AND status IN ('queued', 'running')",
        [ids],
      );
      open = row.open;
    }
    expect(open).toBe(0);
    expect(stoppedQueued.filter((id) => observed.invocations.has(id))).toEqual([]);
    expect([...observed.invocations.values()].filter((n) => n !== 1)).toEqual([]);
    const deleted = ids.filter((id) => answers.get(id) === 204);
    const [left] = await db.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[])',
      [deleted],
    );
    expect(left.n).toBe(0);
    expect(await narrowTableDisagreements(db)).toEqual([]);
  });
});
