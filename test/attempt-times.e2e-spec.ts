import { DataSource } from 'typeorm';
import { type ClaimedJob, JobStore } from '../src/jobs/job-store';
import { loginAdmin, type Session } from './support/auth';
import { getJob, submitJob } from './support/jobs';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * The worker hands jobs_finish an attempt's times as epoch milliseconds (migration
 * 1796500000000). What the API shows afterwards must be those times to the millisecond: the
 * job's startedAt, finishedAt and next runAt, and the attempt-history row's. The worker is off,
 * so this test plays it through the store and the times are its own.
 */
describe("an attempt's times, as the worker recorded them", () => {
  let t: TestApp;
  let admin: Session;
  let store: JobStore;
  const base = Date.UTC(2026, 11, 6, 3, 4, 5, 678);

  beforeAll(async () => {
    t = await startTestApp({ env: { JOBS_WORKER_ENABLED: 'false' } });
    admin = await loginAdmin(t.app);
    store = t.app.get(JobStore);
  });
  afterAll(() => t.close());

  /** Submits a noop job over HTTP and claims it as a worker would. */
  async function submitAndClaim(maxAttempts?: number): Promise<ClaimedJob> {
    const { id } = await submitJob(t.app, admin, { type: 'noop', payload: {}, maxAttempts });
    const [job] = await store.claim(['noop'], 1, 30, 'test-worker');
    expect(job?.id).toBe(id);
    return job;
  }

  /** What GET /v1/jobs/:id shows of a succeeded job's only attempt. */
  async function expectSucceeded(id: string, startedAt: Date, finishedAt: Date): Promise<void> {
    expect(await getJob(t.app, admin, id)).toMatchObject({
      status: 'succeeded',
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
    });
  }

  it('keeps a failed attempt’s start, end and retry time to the millisecond', async () => {
    const job = await submitAndClaim(3);
    const { id } = job;
    const startedAt = new Date(base + 1);
    const finishedAt = new Date(base + 999);
    // A year ahead: nothing claims it again while the test reads.
    const runAt = new Date(base + 365 * 86_400_000 + 7);
    const moves = await store.finish([
      {
        id,
        leaseToken: job.leaseToken,
        status: 'queued',
        outcome: 'failed',
        errorCode: 'TEST.FAILED',
        errorMessage: 'failed on purpose',
        runAt,
        startedAt,
        finishedAt,
      },
    ]);
    expect(moves).toEqual([{ id, type: 'noop', status: 'queued', leaseToken: job.leaseToken }]);

    expect(await getJob(t.app, admin, id)).toMatchObject({
      status: 'queued',
      runAt: runAt.toISOString(),
      startedAt: startedAt.toISOString(),
      finishedAt: null,
      updatedAt: finishedAt.toISOString(),
    });
    const res = await t.app.inject({ method: 'GET', url: `/v1/jobs/${id}/attempts`, headers: admin.headers });
    expect(res.json<{ items: unknown[] }>().items).toEqual([
      expect.objectContaining({
        outcome: 'failed',
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
      }),
    ]);
  });

  it('keeps a succeeded attempt’s start and end to the millisecond', async () => {
    const job = await submitAndClaim();
    const { id } = job;
    const startedAt = new Date(base + 2_000);
    const finishedAt = new Date(base + 2_001);
    const moves = await store.finish([
      {
        id,
        leaseToken: job.leaseToken,
        status: 'succeeded',
        outcome: 'succeeded',
        resultJson: '{}',
        startedAt,
        finishedAt,
      },
    ]);
    expect(moves).toEqual([{ id, type: 'noop', status: 'succeeded', leaseToken: job.leaseToken }]);

    await expectSucceeded(id, startedAt, finishedAt);
  });

  // README "Migrations": replicas on either side of migration 1796500000000 run together.
  it('still finishes a job through the text-time signature a replica of an earlier version calls', async () => {
    const job = await submitAndClaim();
    const { id } = job;
    const startedAt = new Date(base + 3_000);
    const finishedAt = new Date(base + 3_004);
    const moved = await t.app.get(DataSource).query<{ job_status: string }[]>(
      `SELECT job_status FROM jobs_finish($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::jsonb[],
         $6::text[], $7::text[], $8::timestamptz[], $9::int[], $10::smallint[], $11::text[],
         $12::timestamptz[], $13::timestamptz[])`,
      [
        [id],
        [job.leaseToken],
        ['succeeded'],
        ['succeeded'],
        ['{}'],
        [null],
        [null],
        [null],
        [0],
        [null],
        [null],
        [startedAt],
        [finishedAt],
      ],
    );
    expect(moved).toEqual([{ job_status: 'succeeded' }]);
    await expectSucceeded(id, startedAt, finishedAt);
  });
});
