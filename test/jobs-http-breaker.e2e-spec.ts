import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { loginAdmin, newUser, type Session } from './support/auth';
import { getJob, submitJob, waitForJob } from './support/jobs';
import { startTestApp, type TestApp } from './support/test-app';

// CONTRACT §5: a circuit breaker per target origin fails fast while that origin is down.
describe('http jobs: the circuit breaker of a target origin (CONTRACT §5, §7)', () => {
  let up = false;
  let hits = 0;
  const target = createServer((req, res) => {
    if (req.url === '/slow') {
      // A healthy page that takes 100 ms: only a caller's too-short timeoutMs makes it fail.
      setTimeout(() => res.writeHead(200, { 'content-length': '2' }).end('ok'), 100);
      return;
    }
    hits += 1;
    res.writeHead(up ? 200 : 503, { 'content-length': '2' }).end('ok');
  });
  let origin: string;
  let t: TestApp;
  let user: Session;
  let admin: Session;
  beforeAll(async () => {
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
    t = await startTestApp({
      env: {
        JOBS_HTTP_ALLOWED_HOSTS: '127.0.0.1',
        JOBS_HTTP_BREAKER_FAILURES: '2',
        JOBS_HTTP_BREAKER_HALF_OPEN_SECONDS: '1',
      },
    });
    admin = await loginAdmin(t.app);
    user = await newUser(t.app, admin);
  });
  afterAll(async () => {
    await t.close();
    target.closeAllConnections();
    await new Promise((resolve) => target.close(resolve));
  });

  const submit = () =>
    submitJob(t.app, user, { type: 'http', payload: { url: `${origin}/x` }, maxAttempts: 1 });
  const run = async () => waitForJob(t.app, user, (await submit()).id);
  const metric = async (series: string) => {
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    const line = metrics.body.split('\n').find((l) => l.startsWith(`${series} `));
    return line?.split(' ')[1];
  };
  const state = () => metric(`circuit_breaker_state{target="${origin}"}`);

  it('opens after consecutive failures, defers jobs without calling the target or spending attempts, and closes after a good probe', async () => {
    expect((await run()).lastError?.code).toBe('HTTP_SERVER_ERROR');
    expect((await run()).lastError?.code).toBe('HTTP_SERVER_ERROR');
    expect(hits).toBe(2);

    // Open: the attempt is deferred at once, the target is not called, and the job's only
    // attempt is not spent: it waits queued for the half-open moment.
    const submittedAt = Date.now();
    const { id } = await submit();
    const deferred = await waitForJob(t.app, user, id, (job) => job.lastError?.code === 'CIRCUIT_OPEN');
    expect(deferred).toMatchObject({ status: 'queued', attempts: 0, maxAttempts: 1 });
    expect(Date.parse(deferred.runAt)).toBeGreaterThan(submittedAt);
    expect(Date.parse(deferred.runAt)).toBeLessThanOrEqual(Date.now() + 1000);
    const history = await t.app.inject({
      method: 'GET',
      url: `/v1/jobs/${id}/attempts`,
      headers: user.headers,
    });
    expect(history.json<{ items: unknown[] }>().items).toEqual([]);
    expect(hits).toBe(2);
    expect(await state()).toBe('1');
    expect(Number(await metric('job_attempts_total{type="http",outcome="deferred"}'))).toBeGreaterThanOrEqual(
      1,
    );
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ info: { circuits: { open: 1 } } });
    expect(ready.body).not.toContain(origin);

    // The target recovers; after the half-open time the deferred job itself is the probe that
    // goes through and closes the circuit, on its first and only attempt.
    up = true;
    const probe = await waitForJob(t.app, user, id);
    expect(probe).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(hits).toBe(3);
    expect(await state()).toBe('0');
    const after = await t.app.inject({
      method: 'GET',
      url: `/v1/jobs/${id}/attempts`,
      headers: user.headers,
    });
    // The deferred attempt sent nothing, so its number went to the probe: attempt 1.
    expect(
      after
        .json<{ items: { attempt: number; outcome: string }[] }>()
        .items.map((a) => [a.attempt, a.outcome]),
    ).toEqual([[1, 'succeeded']]);
  });

  it("one user's failing jobs open only their own circuit: another user's jobs to that origin still run", async () => {
    const noisy = await newUser(t.app, admin);
    const slow = (session: Session, payload: Record<string, unknown>) =>
      submitJob(t.app, session, {
        type: 'http',
        payload: { url: `${origin}/slow`, ...payload },
        maxAttempts: 1,
      });
    for (let i = 0; i < 2; i++) {
      const { id } = await slow(noisy, { timeoutMs: 1 });
      expect((await waitForJob(t.app, noisy, id)).lastError?.code).toBe('HTTP_TIMEOUT');
    }
    const { id: held } = await slow(noisy, {});
    await waitForJob(t.app, noisy, held, (job) => job.lastError?.code === 'CIRCUIT_OPEN');

    const { id } = await slow(user, {});
    expect(await waitForJob(t.app, user, id)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(await state()).toBe('1');
  });

  it('a deferred job that is cancelled ends cancelled without ever calling the target', async () => {
    up = false;
    expect((await run()).lastError?.code).toBe('HTTP_SERVER_ERROR');
    expect((await run()).lastError?.code).toBe('HTTP_SERVER_ERROR');
    const before = hits;
    const { id } = await submit();
    await waitForJob(t.app, user, id, (job) => job.lastError?.code === 'CIRCUIT_OPEN');
    const cancel = await t.app.inject({
      method: 'POST',
      url: `/v1/jobs/${id}/cancel`,
      headers: user.headers,
    });
    expect(cancel.statusCode).toBe(200);
    await sleep(1200);
    expect(await getJob(t.app, user, id)).toMatchObject({ status: 'cancelled', attempts: 0 });
    expect(hits).toBe(before);
  });
});
