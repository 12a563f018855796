import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { JobTarget } from './support/job-target';
import { ProbeModule } from './support/probe.module';
import { type Answer, ServiceClient } from './support/service-client';
import { spawnService, type SpawnedService } from './support/spawn-service';
import { TcpProxy } from './support/tcp-proxy';
import { startTestApp, type TestApp } from './support/test-app';
import { BASE_TEST_ENV, SERVER_URL } from './support/test-env';
import { createTestStore, startRawStore, type TestStore } from './support/test-store';

describe('store outage (CONTRACT §3, §7)', () => {
  let store: { url: string; stop(): Promise<void> };
  let proxy: TcpProxy;
  let t: TestApp;

  beforeAll(async () => {
    store = await startRawStore();
    const target = new URL(store.url);
    proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    t = await startTestApp({
      imports: [ProbeModule],
      env: { DATABASE_URL: proxy.urlFor(store.url), DATABASE_POOL_SIZE: '1' },
    });
  });
  afterAll(async () => {
    await t.close();
    await proxy.stop();
    await store.stop();
  });

  it('serves normally while the store answers', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/v1/probe/store' })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
  });

  it('while the store is cut: API 503 problem with Retry-After, ready 503 naming the store, live 200', async () => {
    proxy.cut();
    try {
      const api = await t.app.inject({ method: 'GET', url: '/v1/probe/store' });
      expect(api.statusCode).toBe(503);
      expect(api.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(api.headers['retry-after']).toBe('5');
      expect(api.json()).toMatchObject({ status: 503, code: 'STORE.UNAVAILABLE' });
      expect(api.body).not.toMatch(/ECONN|Connection terminated|127\.0\.0\.1/);

      const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ status: 'error', error: { store: { status: 'down' } } });
      expect(ready.body).not.toMatch(/ECONN|Connection terminated|127\.0\.0\.1/);

      const live = await t.app.inject({ method: 'GET', url: '/health/live' });
      expect(live.statusCode).toBe(200);
    } finally {
      proxy.restore();
    }
  });

  it.each([
    ['53300', 'sorry, too many clients already'],
    ['55000', 'database "jobs" is not currently accepting connections'],
    ['28P01', 'password authentication failed for user "jobs"'],
  ])('while the store refuses new sessions (%s): API 503 problem with Retry-After', async (code, message) => {
    proxy.refuse(code, message);
    try {
      const api = await t.app.inject({ method: 'GET', url: '/v1/probe/store' });
      expect(api.statusCode).toBe(503);
      expect(api.headers['retry-after']).toBe('5');
      expect(api.json()).toMatchObject({ status: 503, code: 'STORE.UNAVAILABLE' });
      expect(api.body).not.toContain(message);
      // The probe is anonymous: a fixed message, not the driver's (which names the database or role).
      const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({
        error: { store: { status: 'down', message: 'store unavailable' } },
      });
      expect(ready.body).not.toContain(message);
    } finally {
      proxy.restore();
    }
  });

  it('recovers by itself once the store is back', async () => {
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await t.app.inject({ method: 'GET', url: '/v1/probe/store' })).statusCode;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
  });
});

// With jobs running, the service runs as its own process (so "it did not crash" means something)
// behind a proxy the test cuts. PostgreSQL only: the embedded store lives inside the service's
// process, so there is no connection to cut; a PGlite socket behind a proxy would test a
// single-connection stand-in (it refuses the LISTEN connection), not the product.
if (SERVER_URL) {
  const LEASE_SECONDS = 6;
  const FINAL = "status IN ('succeeded', 'failed', 'cancelled')";

  describe('store outage while jobs run and API traffic flows (CONTRACT §1, §3, §5, §7)', () => {
    let store: TestStore;
    let db: Client;
    let target: JobTarget;
    const services: SpawnedService[] = [];
    const proxies: TcpProxy[] = [];

    const start = async (
      env: Record<string, string>,
    ): Promise<{ service: SpawnedService; api: ServiceClient }> => {
      const service = await spawnService({
        ...store.env,
        JOBS_LEASE_SECONDS: String(LEASE_SECONDS),
        JOBS_CONCURRENCY: '20',
        JOBS_HTTP_ALLOWED_HOSTS: '127.0.0.1',
        ...env,
      });
      services.push(service);
      const { ADMIN_EMAIL, ADMIN_PASSWORD } = BASE_TEST_ENV;
      return { service, api: await ServiceClient.login(service.url, ADMIN_EMAIL, ADMIN_PASSWORD) };
    };
    const proxied = async (): Promise<{ proxy: TcpProxy; url: string }> => {
      const url = new URL(store.env.DATABASE_URL as string);
      const proxy = await new TcpProxy(url.hostname, Number(url.port || 5432)).start();
      proxies.push(proxy);
      return { proxy, url: proxy.urlFor(url.toString()) };
    };
    const httpJob = (path: string) => ({
      type: 'http',
      payload: { url: `${target.url}${path}`, timeoutMs: 60_000 },
      timeoutSeconds: 120,
    });

    beforeEach(async () => {
      store = await createTestStore();
      target = await new JobTarget().start();
      db = new Client({ connectionString: store.env.DATABASE_URL });
      await db.connect();
    });
    afterEach(async () => {
      for (const service of services.splice(0)) {
        service.child.kill('SIGCONT');
        await service.stop('SIGKILL');
      }
      for (const proxy of proxies.splice(0)) await proxy.stop();
      await target.stop();
      await db.end();
      await store.drop();
    });

    /** Waits (on a direct connection) until every job in `ids` is final. */
    const untilFinal = async (ids: string[], timeoutMs = 60_000): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { rows } = await db.query<{ open: number }>(
          `SELECT count(*)::int AS open FROM jobs WHERE id = ANY($1::uuid[]) AND NOT (${FINAL})`,
          [ids],
        );
        if (rows[0].open === 0) return;
        if (Date.now() > deadline) throw new Error(`${rows[0].open} job(s) not final after ${timeoutMs} ms`);
        await sleep(200);
      }
    };
    /** Polls /health/ready until it answers `status`; returns the ms it took. */
    const readyTurns = async (api: ServiceClient, status: number, from: number, limitMs: number) => {
      while (Date.now() - from < limitMs + 2000) {
        const res = await api.request('GET', '/health/ready', undefined, 2000);
        if (res.status === status) return Date.now() - from;
        await sleep(50);
      }
      return Number.POSITIVE_INFINITY;
    };

    it('a cut longer than a heartbeat, shorter than the lease: 503s, readiness, no crash, every job once', async () => {
      const { proxy, url } = await proxied();
      const { service, api } = await start({ DATABASE_URL: url });

      // Traffic: a submit and a list every 100 ms, each bounded, from before the cut to after it.
      const answers: { kind: 'submit' | 'list'; res: Answer }[] = [];
      const accepted: string[] = [];
      let traffic = true;
      const loop = (async () => {
        for (let i = 0; traffic; i += 1) {
          const ms = 200 + ((i * 397) % 2300);
          const [submit, list] = await Promise.all([
            api.request('POST', '/v1/jobs', httpJob(`/work?ms=${ms}`), 4000),
            api.request('GET', '/v1/jobs?limit=5', undefined, 4000),
          ]);
          answers.push({ kind: 'submit', res: submit }, { kind: 'list', res: list });
          if (submit.status === 202) accepted.push((JSON.parse(submit.body) as { id: string }).id);
          await sleep(100);
        }
      })();

      await sleep(3000);
      const cutAt = Date.now();
      proxy.cut();
      const downMs = await readyTurns(api, 503, cutAt, 2000);
      const cutMs = (LEASE_SECONDS * 1000) / 3 + 2000; // > the heartbeat interval, < the lease
      await sleep(cutAt + cutMs - Date.now());
      const refused = proxy.refused;
      const restoredAt = Date.now();
      proxy.restore();
      const upMs = await readyTurns(api, 200, restoredAt, 5000);
      await sleep(2000);
      traffic = false;
      await loop;
      await untilFinal(accepted);

      const during = answers.filter(
        (a) => a.res.startedAt > cutAt + 100 && a.res.startedAt + a.res.ms < restoredAt,
      );
      const duringRequests = answers.filter(
        (a) => a.res.startedAt < restoredAt && a.res.startedAt + a.res.ms > cutAt,
      );
      const finishedDuringCut = target.calls.filter(
        (c) => c.answeredAt !== undefined && c.answeredAt > cutAt && c.answeredAt < restoredAt,
      );
      const background = (refused - duringRequests.length) / (cutMs / 1000);
      console.log(
        `outage ${cutMs} ms (lease ${LEASE_SECONDS} s): ready 503 after ${downMs} ms, 200 after ${upMs} ms ` +
          `from the restore; ${answers.length} requests (${during.length} inside the cut, slowest ` +
          `${Math.max(...answers.map((a) => a.res.ms))} ms); ${accepted.length} jobs accepted, ` +
          `${finishedDuringCut.length} attempts ended during the cut; ${background.toFixed(1)} background ` +
          `connection attempts/s while cut`,
      );

      expect(service.child.exitCode).toBeNull();
      expect(service.child.signalCode).toBeNull();
      expect(downMs).toBeLessThanOrEqual(2000);
      expect(upMs).toBeLessThanOrEqual(5000);
      // Every request answered in time, with success or a 503, never a 500 or a hang.
      expect(
        answers.filter((a) => a.res.status !== 503 && (a.res.status < 200 || a.res.status >= 300)),
      ).toEqual([]);
      expect(during.length).toBeGreaterThan(10);
      for (const { res } of during) {
        expect(res.status).toBe(503);
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(res.headers.get('retry-after')).toBe('5');
        expect(JSON.parse(res.body)).toMatchObject({ status: 503, code: 'STORE.UNAVAILABLE' });
      }
      expect(answers.slice(-4).every((a) => a.res.status >= 200 && a.res.status < 300)).toBe(true);
      // Workers back off instead of spinning on a store that is down.
      expect(background).toBeLessThan(20);

      // The attempt writer had ends to record while the store was down, and retried them.
      expect(finishedDuringCut.length).toBeGreaterThan(0);
      expect(service.lines.some((l) => l.includes('attempt(s) failed, retrying'))).toBe(true);
      // Every accepted job ran once and succeeded once: no re-run, no lost or doubled write.
      const calls = target.counts();
      expect(accepted.filter((id) => calls.get(id) !== 1)).toEqual([]);
      // One attempt each, which succeeded: the success is on the job row, any other attempt
      // would have left a history row.
      const { rows } = await db.query<{ id: string; status: string; attempts: number; history: number }>(
        `SELECT j.id, j.status, j.attempts, count(a.job_id)::int AS history
         FROM jobs j LEFT JOIN job_attempts a ON a.job_id = j.id WHERE j.id = ANY($1::uuid[]) GROUP BY j.id`,
        [accepted],
      );
      expect(rows).toHaveLength(accepted.length);
      expect(rows.filter((r) => r.status !== 'succeeded' || r.attempts !== 1 || r.history !== 0)).toEqual([]);
      // Nothing is left behind, the jobs of unanswered submits included: a submit whose insert
      // committed as the cut fell got a 503 or no answer, and its job, inserted claimed by the
      // idle worker, runs once its lease has expired and the reaper has put it back.
      const { rows: all } = await db.query<{ id: string }>('SELECT id FROM jobs');
      await untilFinal(
        all.map((r) => r.id),
        LEASE_SECONDS * 1000 + 10_000,
      );
    });

    it('a cut longer than the lease: another replica re-runs the jobs once their leases expire, and the cut-off one cannot write', async () => {
      const lease = 5; // the shortest JOBS_LEASE_SECONDS allows
      const { proxy, url } = await proxied();
      const cutOff = await start({ DATABASE_URL: url, JOBS_LEASE_SECONDS: String(lease) });
      const jobs: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        const res = await cutOff.api.request('POST', '/v1/jobs', httpJob('/hold'));
        expect(res.status).toBe(202);
        jobs.push((JSON.parse(res.body) as { id: string }).id);
      }
      while (target.calls.length < jobs.length) await sleep(50);
      // The other replica reaches the store directly; it starts only now, so the cut-off one holds every job.
      const other = await start({ JOBS_LEASE_SECONDS: String(lease) });

      proxy.cut();
      const cutAt = Date.now();
      const { rows: leases } = await db.query<{ expires: Date }>(
        'SELECT max(expires_at) AS expires FROM job_leases WHERE id = ANY($1::uuid[])',
        [jobs],
      );
      const expiresAt = leases[0].expires.getTime();
      const downMs = await readyTurns(cutOff.api, 503, cutAt, 2000);
      // The other replica reaps the expired leases and runs every job again (attempt 2) ...
      while (target.calls.length < 2 * jobs.length) await sleep(50);
      const reruns = target.calls.filter((c) => c.attempt === 2);
      // ... then both attempts' calls are answered: the other replica records its success, while
      // the cut-off one's handlers end too, with a store it cannot reach.
      target.release();
      await untilFinal(jobs);
      const { rows: before } = await db.query(
        'SELECT id, status, attempts, result, finished_at, updated_at FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id',
        [jobs],
      );
      await sleep(1000);
      const restoredAt = Date.now();
      proxy.restore();
      const upMs = await readyTurns(cutOff.api, 200, restoredAt, 5000);

      // Its finished attempts reach the store and are refused: the lease is someone else's.
      let stale = 0;
      for (let i = 0; i < 100 && stale < jobs.length; i += 1) {
        stale = await cutOff.api.counter('job_stale_writes_total', 'kind="finish"');
        if (stale < jobs.length) await sleep(200);
      }
      const rerunAfterMs = reruns.map((c) => c.receivedAt - expiresAt);
      console.log(
        `cut ${restoredAt - cutAt} ms with a ${lease} s lease: ready 503 after ${downMs} ms, 200 after ${upMs} ms ` +
          `from the restore; re-runs started ${Math.min(...rerunAfterMs)}..${Math.max(...rerunAfterMs)} ms ` +
          `after the leases expired; ${stale} stale finish writes refused`,
      );

      expect(cutOff.service.child.exitCode).toBeNull();
      expect(other.service.child.exitCode).toBeNull();
      expect(downMs).toBeLessThanOrEqual(2000);
      expect(upMs).toBeLessThanOrEqual(5000);
      expect(stale).toBe(jobs.length);
      // Re-run only once the lease ran out (not before), and soon after: a reaper pass (lease/2) plus a claim.
      expect(Math.min(...rerunAfterMs)).toBeGreaterThanOrEqual(-50);
      expect(Math.max(...rerunAfterMs)).toBeLessThanOrEqual((lease / 2) * 1000 + 1500);
      const { rows: after } = await db.query(
        'SELECT id, status, attempts, result, finished_at, updated_at FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id',
        [jobs],
      );
      expect(after).toEqual(before);
      const { rows: history } = await db.query<{ outcomes: string[] }>(
        `SELECT array_agg(outcome ORDER BY attempt) AS outcomes FROM job_attempts
         WHERE job_id = ANY($1::uuid[]) GROUP BY job_id`,
        [jobs],
      );
      // The second attempt's success is the job row itself.
      expect(history.map((h) => h.outcomes.join())).toEqual(jobs.map(() => 'lease_expired'));
      expect(
        after.every(
          (j: { status: string; attempts: number }) => j.status === 'succeeded' && j.attempts === 2,
        ),
      ).toBe(true);
      expect([...target.counts().values()]).toEqual(jobs.map(() => 2));
    });
  });
}
