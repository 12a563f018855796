import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { loginAdmin, type Session } from './support/auth';
import { getJob, submitJob, waitForJob } from './support/jobs';
import { startTestApp, type TestApp } from './support/test-app';
import { TestHandlersModule } from './support/test-handlers';
import { JobEngine } from '../src/jobs/job-engine';
import { type ClaimedJob, JobStore } from '../src/jobs/job-store';

/**
 * An idle worker takes a job straight from its submit (JobEngine.reserveSlot): the row goes in
 * already claimed, so no claim round trip stands between the submit and the handler. The claim
 * order (CONTRACT §5) still holds: a job is taken this way only when no ready job comes before it.
 * The worker polls once a minute, so what starts here started through a submit or a wake-up; the
 * claims the store answered tell which.
 */
describe('an idle worker takes a new job from its submit', () => {
  let t: TestApp;
  let admin: Session;
  let claimed: ClaimedJob[];

  beforeAll(async () => {
    t = await startTestApp({
      env: { JOBS_CONCURRENCY: '1', JOBS_POLL_INTERVAL_MS: '60000', JOBS_WORKER_ENABLED: undefined },
      imports: [TestHandlersModule],
    });
    admin = await loginAdmin(t.app);
    const store = t.app.get(JobStore);
    const claim = store.claim.bind(store);
    jest.spyOn(store, 'claim').mockImplementation(async (...args) => {
      const jobs = await claim(...args);
      claimed.push(...jobs);
      return jobs;
    });
  });
  afterAll(() => t.close());
  beforeEach(async () => {
    // Whatever the previous test left (its last finish wakes the worker once) has settled.
    await sleep(200);
    claimed = [];
  });

  it('starts the job without a claim, and answers it as accepted', async () => {
    for (let i = 0; i < 5; i += 1) {
      const job = await submitJob(t.app, admin, { type: 'noop', payload: {} });
      expect(job).toMatchObject({ status: 'queued', attempts: 0, startedAt: null });
      const done = await waitForJob(t.app, admin, job.id, undefined, 10_000);
      expect(done).toMatchObject({ status: 'succeeded', attempts: 1 });
      const [row] = await t.app
        .get(DataSource)
        .query<{ worker: string }[]>('SELECT worker_id AS worker FROM jobs WHERE id = $1', [job.id]);
      expect(row.worker).toBe(t.app.get(JobEngine).workerId);
    }
    expect(claimed).toEqual([]);
  });

  it('leaves the job queued when a ready job of the same priority is ahead of it', async () => {
    const ahead = await insertReady(5);
    const job = await submitJob(t.app, admin, { type: 'noop', payload: {}, priority: 5 });
    const [first, second] = await Promise.all([
      waitForJob(t.app, admin, ahead.id, undefined, 10_000),
      waitForJob(t.app, admin, job.id, undefined, 10_000),
    ]);
    expect([first.status, second.status]).toEqual(['succeeded', 'succeeded']);
    // Both went through the claim, in claim order.
    expect(claimed.map((c) => c.id)).toEqual([ahead.id, job.id]);
    expect(Date.parse(first.startedAt as string)).toBeLessThanOrEqual(Date.parse(second.startedAt as string));
  });

  it('takes a job that outranks the ready ones; the one behind it is claimed after', async () => {
    const behind = await insertReady(1);
    const job = await submitJob(t.app, admin, { type: 'noop', payload: {}, priority: 9 });
    const [first, second] = await Promise.all([
      waitForJob(t.app, admin, job.id, undefined, 10_000),
      waitForJob(t.app, admin, behind.id, undefined, 10_000),
    ]);
    expect([first.status, second.status]).toEqual(['succeeded', 'succeeded']);
    expect(claimed.map((c) => c.id)).toEqual([behind.id]);
    expect(Date.parse(first.startedAt as string)).toBeLessThanOrEqual(Date.parse(second.startedAt as string));
  });

  it('queues the job when every slot is busy', async () => {
    const slow = await submitJob(t.app, admin, { type: 'test.counting', payload: { sleepMs: 300 } });
    await waitForJob(t.app, admin, slow.id, (j) => j.status === 'running', 10_000);
    const job = await submitJob(t.app, admin, { type: 'noop', payload: {}, priority: 10 });
    const done = await waitForJob(t.app, admin, job.id, undefined, 10_000);
    expect(done.status).toBe('succeeded');
    expect(Date.parse(done.startedAt as string)).toBeGreaterThanOrEqual(
      Date.parse((await getJob(t.app, admin, slow.id)).finishedAt as string),
    );
    // Taken by the claim loop, not at its submit. A claim while the slot was young may have
    // buffered it, and 250 ms in the buffer hands it back for the next claim (claim-capacity.ts).
    expect([...new Set(claimed.map((c) => c.id))]).toEqual([job.id]);
  });

  /** A ready row the worker has not heard of: written behind its back, so no wake-up. */
  async function insertReady(priority: number): Promise<{ id: string }> {
    const [row] = await t.app.get(DataSource).query<{ id: string }[]>(
      `WITH j AS (
         INSERT INTO jobs (id, type, priority, payload, max_attempts, run_at, timeout_seconds,
           backoff_base_seconds, backoff_max_seconds, owner_id)
         SELECT gen_random_uuid(), 'noop', $1, '{}', 1, now() - interval '1 second', 60, 1, 60, id
         FROM users WHERE role = 'admin' LIMIT 1
         RETURNING id, type, priority, run_at, created_at
       ), q AS (INSERT INTO job_queue SELECT id, type, priority, run_at, created_at FROM j)
       SELECT id FROM j`,
      [priority],
    );
    return row;
  }
});
