import { loginAdmin, newUser, type Session } from './support/auth';
import { submitJob, waitForJob } from './support/jobs';
import { startTestApp, type TestApp } from './support/test-app';

// CONTRACT §2, §5: wake-ups use LISTEN/NOTIFY (in-process on the embedded store), polling is only
// the fallback. The worker polls once a minute and renews leases every 100 s, so a job that
// starts, or a cancel that lands, within seconds can only have come through a wake-up. On
// PostgreSQL the API and the worker are separate replicas; the embedded store serves one process.
describe('wake-ups reach the worker without polling (CONTRACT §2, §5)', () => {
  const onPostgres = Boolean(process.env.DATABASE_URL);
  const slowFallback = { JOBS_POLL_INTERVAL_MS: '60000', JOBS_LEASE_SECONDS: '300' };
  let api: TestApp;
  let worker: TestApp;
  let user: Session;
  beforeAll(async () => {
    api = await startTestApp({
      env: { ...slowFallback, JOBS_WORKER_ENABLED: onPostgres ? 'false' : 'true' },
    });
    worker = onPostgres
      ? await startTestApp({ store: api.store, env: { ...slowFallback, JOBS_WORKER_ENABLED: 'true' } })
      : api;
    user = await newUser(api.app, await loginAdmin(api.app));
  });
  afterAll(async () => {
    if (worker !== api) await worker.close();
    await api.close();
  });

  it('a job submitted to an idle worker starts without waiting for the poll', async () => {
    // Let the start-up claim and the LISTEN connection's first look pass.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const job = await submitJob(api.app, user, { type: 'noop', payload: {} });
    expect((await waitForJob(api.app, user, job.id, undefined, 10_000)).status).toBe('succeeded');
  });

  // After a job ends, a worker that found the queue empty stops looking after each job (it looks
  // again only within 250 ms); the next job's wake-up must still reach it.
  it('so does the next job, submitted after the worker found the queue empty again', async () => {
    const first = await submitJob(api.app, user, { type: 'noop', payload: {} });
    await waitForJob(api.app, user, first.id, undefined, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const next = await submitJob(api.app, user, { type: 'noop', payload: {} });
    expect((await waitForJob(api.app, user, next.id, undefined, 10_000)).status).toBe('succeeded');
  });

  it('a cancel reaches the running handler without waiting for a heartbeat', async () => {
    const job = await submitJob(api.app, user, { type: 'sleep', payload: { ms: 120_000 } });
    await waitForJob(api.app, user, job.id, (j) => j.status === 'running', 10_000);
    const res = await api.app.inject({
      method: 'POST',
      url: `/v1/jobs/${job.id}/cancel`,
      headers: user.headers,
    });
    expect(res.statusCode).toBe(202);
    expect((await waitForJob(api.app, user, job.id, undefined, 10_000)).status).toBe('cancelled');
  });
});
