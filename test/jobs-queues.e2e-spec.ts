import { DataSource } from 'typeorm';
import { loginAdmin, newUser, type Session } from './support/auth';
import { getJob, submitJob, waitForJob } from './support/jobs';
import { startTestApp, type TestApp } from './support/test-app';

interface Queue {
  type: string;
  paused: boolean;
  counts: Record<'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled', number>;
  oldestQueuedAgeSeconds: number | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('admin queues: counts, pause and resume (CONTRACT §5)', () => {
  // The API replica (worker off) and, on PostgreSQL, a separate worker replica on the same
  // database: a pause made through one must hold on the other. The embedded store serves one
  // process, so there the same app plays both parts.
  let api: TestApp;
  let worker: TestApp;
  let admin: Session;
  const onPostgres = Boolean(process.env.DATABASE_URL);

  beforeAll(async () => {
    api = await startTestApp({ env: { JOBS_WORKER_ENABLED: onPostgres ? 'false' : 'true' } });
    worker = onPostgres
      ? await startTestApp({
          store: api.store,
          env: { JOBS_WORKER_ENABLED: 'true', JOBS_POLL_INTERVAL_MS: '100' },
        })
      : api;
    admin = await loginAdmin(api.app);
  });
  afterAll(async () => {
    if (worker !== api) await worker.close();
    await api.close();
  });

  const queues = async (): Promise<Queue[]> => {
    const res = await api.app.inject({ method: 'GET', url: '/v1/admin/queues', headers: admin.headers });
    expect(res.statusCode).toBe(200);
    return res.json<{ items: Queue[] }>().items;
  };
  const queue = async (type: string): Promise<Queue> =>
    (await queues()).find((q) => q.type === type) as Queue;
  const action = (type: string, what: 'pause' | 'resume', session: Session = admin) =>
    api.app.inject({ method: 'POST', url: `/v1/admin/queues/${type}/${what}`, headers: session.headers });
  const auditRows = (action: string, type: string) =>
    api.app
      .get(DataSource)
      .query<{ success: boolean }[]>(
        'SELECT success FROM audit_logs WHERE action = $1 AND resource_id = $2',
        [action, type],
      );

  it('lists one queue per job type with exact live counts', async () => {
    const user = await newUser(api.app, admin);
    const before = await queue('sleep');
    for (let i = 0; i < 3; i += 1)
      await submitJob(api.app, user, { type: 'sleep', payload: { ms: 1 }, delaySeconds: 3600 });
    const after = await queue('sleep');
    expect(after.counts.queued).toBe(before.counts.queued + 3);
    // Delayed jobs are not waiting yet: no age.
    expect(after.oldestQueuedAgeSeconds).toBeNull();
    expect((await queues()).map((q) => q.type)).toEqual(expect.arrayContaining(['noop', 'sleep']));
  });

  it('pause: jobs are accepted but none starts, on every replica; resume: they run', async () => {
    const user = await newUser(api.app, admin);
    const paused = await action('noop', 'pause');
    expect(paused.statusCode).toBe(200);
    expect(paused.json()).toMatchObject({ type: 'noop', paused: true });
    // Within 1 s every replica has read the pause (CONTRACT §5).
    await sleep(1100);
    const job = await submitJob(api.app, user, { type: 'noop', payload: { n: 1 } });
    await sleep(1500);
    expect((await getJob(api.app, user, job.id)).status).toBe('queued');
    const waiting = await queue('noop');
    expect(waiting.paused).toBe(true);
    expect(waiting.oldestQueuedAgeSeconds).toBeGreaterThanOrEqual(1);

    const resumed = await action('noop', 'resume');
    expect(resumed.statusCode).toBe(200);
    expect(resumed.json()).toMatchObject({ type: 'noop', paused: false });
    expect((await waitForJob(api.app, user, job.id, undefined, 5000)).status).toBe('succeeded');
    expect(await auditRows('queue.paused', 'noop')).toEqual([{ success: true }]);
    expect(await auditRows('queue.resumed', 'noop')).toEqual([{ success: true }]);
  });

  it('pause and resume are idempotent: a repeat answers 200 and audits nothing new', async () => {
    expect((await action('sleep', 'pause')).statusCode).toBe(200);
    const again = await action('sleep', 'pause');
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ paused: true });
    expect(await auditRows('queue.paused', 'sleep')).toHaveLength(1);
    expect((await action('sleep', 'resume')).statusCode).toBe(200);
    expect((await action('sleep', 'resume')).json()).toMatchObject({ paused: false });
    expect(await auditRows('queue.resumed', 'sleep')).toHaveLength(1);
  });

  it('an unknown type is a 404 problem, changes nothing, and the refusal is audited', async () => {
    for (const what of ['pause', 'resume'] as const) {
      const res = await action('no-such-type', what);
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
    const [row] = await api.app
      .get(DataSource)
      .query<{ n: number }[]>("SELECT count(*)::int AS n FROM job_queues WHERE type = 'no-such-type'");
    expect(row.n).toBe(0);
    expect(await auditRows('queue.paused', 'no-such-type')).toEqual([{ success: false }]);
    expect(await auditRows('queue.resumed', 'no-such-type')).toEqual([{ success: false }]);
  });

  it('is for admins only: 403 for a user (audited), 401 without credentials', async () => {
    const user = await newUser(api.app, admin);
    expect(
      (await api.app.inject({ method: 'GET', url: '/v1/admin/queues', headers: user.headers })).statusCode,
    ).toBe(403);
    expect((await action('noop', 'pause', user)).statusCode).toBe(403);
    expect((await api.app.inject({ method: 'GET', url: '/v1/admin/queues' })).statusCode).toBe(401);
    expect((await queue('noop')).paused).toBe(false);
  });
});
