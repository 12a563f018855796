import { DataSource } from 'typeorm';
import { runMigrationsLocked } from '@lib/database';
import { loginAdmin } from './support/auth';
import { submitJob, waitForJob } from './support/jobs';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * CONTRACT §2: MIGRATIONS_RUN=false is for pipelines that apply the migrations themselves, which
 * may be after the replica has started. Until then it is up and not ready, not crashed; once they
 * are applied it becomes ready with its worker, retention and first admin, without a restart.
 */
describe('MIGRATIONS_RUN=false on an unmigrated store (CONTRACT §2, §7)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { MIGRATIONS_RUN: 'false' } });
  });
  afterAll(() => t.close());

  const ready = () => t.app.inject({ method: 'GET', url: '/health/ready' });

  it('starts, live but not ready, naming the migrations', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    const res = await ready();
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({
      status: 'error',
      error: { migrations: { status: 'down', message: 'migrations pending' } },
    });
    const [{ users }] = await t.app
      .get(DataSource)
      .query<{ users: string | null }[]>("SELECT to_regclass('public.users')::text AS users");
    expect(users).toBeNull();
  });

  it('answers the API with 503 and Retry-After meanwhile, not a 500 from a missing table', async () => {
    const requests = [
      {
        method: 'POST' as const,
        url: '/v1/auth/login',
        payload: { email: 'a@b.co', password: 'x'.repeat(12) },
      },
      { method: 'GET' as const, url: '/v1/users/me', headers: { authorization: 'Bearer abc.def.ghi' } },
      { method: 'GET' as const, url: '/v1/job-types' },
    ];
    for (const request of requests) {
      const res = await t.app.inject(request);
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json()).toMatchObject({ status: 503, code: 'STORE.MIGRATIONS_PENDING' });
    }
    expect((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
  });

  it('once a pipeline applies them: ready, with the first admin and a worker that runs jobs', async () => {
    // What `npm run migration:run` does, through the app's own connection: the embedded store's
    // data directory admits one process.
    await runMigrationsLocked(t.app.get(DataSource));
    const deadline = Date.now() + 15_000;
    let status = (await ready()).statusCode;
    while (status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = (await ready()).statusCode;
    }
    expect(status).toBe(200);

    const admin = await loginAdmin(t.app);
    const job = await submitJob(t.app, admin, { type: 'noop', payload: { pending: 'no more' } });
    expect((await waitForJob(t.app, admin, job.id)).status).toBe('succeeded');
  });
});
