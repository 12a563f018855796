import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { loginAdmin, newUser, type Session } from './support/auth';
import { submitJob, waitForJob } from './support/jobs';
import { startTestApp, type TestApp } from './support/test-app';

// CONTRACT §5: a circuit breaker per target origin fails fast while that origin is down.
describe('http jobs: the circuit breaker of a target origin (CONTRACT §5, §7)', () => {
  let up = false;
  let hits = 0;
  const target = createServer((_req, res) => {
    hits += 1;
    res.writeHead(up ? 200 : 503, { 'content-length': '2' }).end('ok');
  });
  let origin: string;
  let t: TestApp;
  let user: Session;
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
    user = await newUser(t.app, await loginAdmin(t.app));
  });
  afterAll(async () => {
    await t.close();
    target.closeAllConnections();
    await new Promise((resolve) => target.close(resolve));
  });

  const run = async () => {
    const job = await submitJob(t.app, user, {
      type: 'http',
      payload: { url: `${origin}/x` },
      maxAttempts: 1,
    });
    return waitForJob(t.app, user, job.id);
  };
  const state = async () => {
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    const line = metrics.body
      .split('\n')
      .find((l) => l.startsWith(`circuit_breaker_state{target="${origin}"}`));
    return line?.split(' ')[1];
  };

  it('opens after consecutive failures, fails fast without calling the target, and closes after a good probe', async () => {
    expect((await run()).lastError?.code).toBe('HTTP_SERVER_ERROR');
    expect((await run()).lastError?.code).toBe('HTTP_SERVER_ERROR');
    expect(hits).toBe(2);

    // Open: the attempt fails at once and the target is not called.
    expect((await run()).lastError?.code).toBe('CIRCUIT_OPEN');
    expect(hits).toBe(2);
    expect(await state()).toBe('1');
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.body).toContain(origin);

    // The target recovers; after the half-open time one probe goes through and closes it.
    up = true;
    await sleep(1100);
    const probe = await run();
    expect(probe.status).toBe('succeeded');
    expect(hits).toBe(3);
    expect(await state()).toBe('0');
  });
});
