import { setTimeout as sleep } from 'node:timers/promises';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { JobStore } from '../src/jobs/job-store';
import { loginAdmin, type Session } from './support/auth';
import { getJob, type JobJson, narrowTableDisagreements, submitJob, waitForJob } from './support/jobs';
import { startTestApp, type TestApp } from './support/test-app';
import { observed, TestHandlersModule } from './support/test-handlers';
import { createTestStore, type TestStore } from './support/test-store';

/**
 * The worker engine end to end (CONTRACT §5): jobs go in over HTTP; what the API, the rows and
 * /metrics show afterwards is the verdict. Several apps in this process play replicas of one
 * store. The embedded store serves one app per data dir, so where a test needs a second replica
 * it gets one only on PostgreSQL; on the embedded store the same app plays both parts, and every
 * test still runs (and asserts the same contract) on both stores.
 */
const onPostgres = Boolean(process.env.DATABASE_URL);

interface AttemptJson {
  attempt: number;
  startedAt: string;
  finishedAt: string | null;
  outcome: string;
  error: { code: string; message: string } | null;
  workerId: string | null;
}

interface LeaseRow {
  status: string;
  token: string;
  workerId: string | null;
}

/** Apps in one process share process.env: every engine setting a test does not name is reset. */
function engineEnv(overrides: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    JOBS_CONCURRENCY: undefined,
    JOBS_WORKER_ENABLED: undefined,
    JOBS_POLL_INTERVAL_MS: undefined,
    JOBS_LEASE_SECONDS: undefined,
    JOBS_MAX_RESULT_BYTES: undefined,
    SHUTDOWN_GRACE_SECONDS: '1',
    ...overrides,
  };
}

function startWorker(env: Record<string, string> = {}, store?: TestStore): Promise<TestApp> {
  return startTestApp({ env: engineEnv(env), imports: [TestHandlersModule], store });
}

/** Polls `probe` until it yields something truthy; throws after `timeoutMs`. */
async function until<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

async function attemptsOf(app: NestFastifyApplication, session: Session, id: string): Promise<AttemptJson[]> {
  const res = await app.inject({ method: 'GET', url: `/v1/jobs/${id}/attempts`, headers: session.headers });
  expect(res.statusCode).toBe(200);
  return res.json<{ items: AttemptJson[] }>().items.sort((a, b) => a.attempt - b.attempt);
}

/** Sum of a Prometheus series over the samples whose labels include `labels`. */
async function metric(
  app: NestFastifyApplication,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const body = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  let total = 0;
  for (const line of body.split('\n')) {
    const sample = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample || sample[1] !== name) continue;
    const have = new Map(
      [...(sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => have.get(key) === value)) total += Number(sample[3]);
  }
  return total;
}

function db(t: TestApp): DataSource {
  return t.app.get(DataSource);
}

async function leaseRow(t: TestApp, id: string): Promise<LeaseRow> {
  const [row] = await db(t).query<LeaseRow[]>(
    'SELECT status, lease_token::text AS token, worker_id AS "workerId" FROM jobs WHERE id = $1',
    [id],
  );
  return row;
}

/**
 * Plays a worker frozen mid-attempt: keeps the lease of attempt `token` in the past until a
 * reaper has taken the job from it. Heartbeats of that worker, were one due, would revive the
 * lease; pushing it back every 100 ms is what "stopped renewing" means.
 */
async function freezeLease(t: TestApp, id: string, token: string): Promise<void> {
  await until(async () => {
    const row = await leaseRow(t, id);
    if (row.status !== 'running' || row.token !== token) return true;
    await db(t).query(
      `UPDATE job_leases SET expires_at = now() - interval '1 second' WHERE id = $1 AND lease_token = $2`,
      [id, token],
    );
    await sleep(80);
    return undefined;
  }, `job ${id} to be reaped`);
}

/** Every gate a test took, so none stays shut after it: observed.gates keeps only the newest. */
const takenGates = new Set<() => void>();

/** The gate of a test.gate job's newest invocation, once it differs from `previous`. */
async function gateOf(id: string, previous?: () => void): Promise<() => void> {
  const gate = await until(() => {
    const newest = observed.gates.get(id);
    return newest !== previous ? newest : undefined;
  }, `a new invocation of ${id}`);
  takenGates.add(gate);
  return gate;
}

/** Lets every waiting test.gate handler finish (an orphaned one would outlive its app). */
function openAllGates(): void {
  for (const release of [...takenGates, ...observed.gates.values()]) release();
  takenGates.clear();
}

describe('job engine (CONTRACT §5)', () => {
  afterEach(() => {
    openAllGates();
    observed.reset();
  });

  describe('on one worker', () => {
    let t: TestApp;
    let admin: Session;
    beforeAll(async () => {
      t = await startWorker();
      admin = await loginAdmin(t.app);
    });
    afterAll(() => t.close());

    it('leaves the store alone while idle: it claims on wake-ups and polls, never in a loop', async () => {
      await sleep(300);
      const statements = jest.spyOn(db(t), 'query');
      try {
        await sleep(2000);
        // A poll a second (JOBS_POLL_INTERVAL_MS), a reaper pass, lease upkeep: a handful.
        expect(statements.mock.calls.length).toBeLessThanOrEqual(20);
      } finally {
        statements.mockRestore();
      }
    });

    it('retries a failing handler with the job’s backoff until it succeeds', async () => {
      const backoff = { baseSeconds: 0.2, maxSeconds: 0.5 };
      const job = await submitJob(t.app, admin, {
        type: 'test.flaky',
        payload: { failTimes: 3 },
        maxAttempts: 5,
        backoff,
      });
      const done = await waitForJob(t.app, admin, job.id);
      expect(done).toMatchObject({ status: 'succeeded', attempts: 4, progress: 100 });
      // lastError keeps the latest failure after a later success.
      expect(done.lastError?.code).toBe('HANDLER_ERROR');
      const result = await t.app.inject({
        method: 'GET',
        url: `/v1/jobs/${job.id}/result`,
        headers: admin.headers,
      });
      expect(result.json()).toEqual({ jobId: job.id, result: { attempt: 4 } });

      const starts = observed.startTimes.get(job.id) ?? [];
      expect(starts).toHaveLength(4);
      // Full jitter: each wait is anywhere in [0, ceiling]; the slack covers claiming and polling.
      for (let n = 1; n < starts.length; n++) {
        const ceilingMs = Math.min(backoff.maxSeconds, backoff.baseSeconds * 2 ** (n - 1)) * 1000;
        const gap = starts[n] - starts[n - 1];
        expect(gap).toBeGreaterThanOrEqual(0);
        expect(gap).toBeLessThanOrEqual(ceilingMs + 1500);
      }
      const history = await attemptsOf(t.app, admin, job.id);
      expect(history.map((a) => [a.attempt, a.outcome, a.error?.code ?? null])).toEqual([
        [1, 'failed', 'HANDLER_ERROR'],
        [2, 'failed', 'HANDLER_ERROR'],
        [3, 'failed', 'HANDLER_ERROR'],
        [4, 'succeeded', null],
      ]);
    });

    it('fails the job once maxAttempts attempts have failed', async () => {
      const labels = { type: 'test.flaky', outcome: 'failed' };
      const before = await metric(t.app, 'jobs_finished_total', labels);
      const job = await submitJob(t.app, admin, {
        type: 'test.flaky',
        payload: { failTimes: 5 },
        maxAttempts: 2,
        backoff: { baseSeconds: 0.2, maxSeconds: 0.5 },
      });
      const done = await waitForJob(t.app, admin, job.id);
      expect(done).toMatchObject({ status: 'failed', attempts: 2, lastError: { code: 'HANDLER_ERROR' } });
      expect(done.finishedAt).not.toBeNull();
      expect(observed.invocations.get(job.id)).toBe(2);
      expect((await attemptsOf(t.app, admin, job.id)).map((a) => a.outcome)).toEqual(['failed', 'failed']);
      await until(
        async () => (await metric(t.app, 'jobs_finished_total', labels)) === before + 1,
        'the metric',
      );
    });

    it('fails at once on a non-retryable error, whatever attempts remain', async () => {
      const job = await submitJob(t.app, admin, {
        type: 'test.flaky',
        payload: { failTimes: 5, nonRetryable: true },
        maxAttempts: 5,
      });
      const done = await waitForJob(t.app, admin, job.id);
      expect(done).toMatchObject({ status: 'failed', attempts: 1, lastError: { code: 'TEST_REFUSED' } });
      expect(observed.invocations.get(job.id)).toBe(1);
      const history = await attemptsOf(t.app, admin, job.id);
      expect(history.map((a) => [a.outcome, a.error?.code])).toEqual([['failed', 'TEST_REFUSED']]);
    });

    it('aborts an attempt that outlives timeoutSeconds (TIMEOUT)', async () => {
      const job = await submitJob(t.app, admin, {
        type: 'sleep',
        payload: { ms: 10_000 },
        timeoutSeconds: 1,
        maxAttempts: 1,
      });
      const done = await waitForJob(t.app, admin, job.id);
      expect(done).toMatchObject({ status: 'failed', attempts: 1, lastError: { code: 'TIMEOUT' } });
      const ranMs = Date.parse(done.finishedAt ?? '') - Date.parse(done.startedAt ?? '');
      expect(ranMs).toBeGreaterThanOrEqual(900);
      expect(ranMs).toBeLessThan(3000);
      const history = await attemptsOf(t.app, admin, job.id);
      expect(history.map((a) => [a.outcome, a.error?.code])).toEqual([['timeout', 'TIMEOUT']]);
    });

    it('does not wait for a handler that ignores its signal past the timeout', async () => {
      const submittedAt = Date.now();
      const job = await submitJob(t.app, admin, {
        type: 'test.stubborn',
        payload: { sleepMs: 8000 },
        timeoutSeconds: 1,
        maxAttempts: 1,
      });
      const done = await waitForJob(t.app, admin, job.id, undefined, 5000);
      expect(Date.now() - submittedAt).toBeLessThan(3000);
      expect(done).toMatchObject({ status: 'failed', attempts: 1, lastError: { code: 'TIMEOUT' } });
      expect(observed.aborts.get(job.id)).toBe('timeout');
    });

    it('starts a delayed job only once its delay has passed', async () => {
      const job = await submitJob(t.app, admin, { type: 'test.counting', payload: {}, delaySeconds: 2 });
      await sleep(1000);
      expect(await getJob(t.app, admin, job.id)).toMatchObject({ status: 'queued', attempts: 0 });
      expect(observed.invocations.has(job.id)).toBe(false);

      const done = await waitForJob(t.app, admin, job.id, undefined, 5000);
      expect(done.status).toBe('succeeded');
      const [start] = observed.startTimes.get(job.id) ?? [];
      expect(start).toBeGreaterThanOrEqual(Date.parse(job.runAt) - 50);
      expect(start - Date.parse(job.createdAt)).toBeLessThan(5000);
      // The claim reads the times as epoch milliseconds: the handler sees the API's times exactly.
      expect(observed.jobs.get(job.id)).toEqual({
        id: job.id,
        type: 'test.counting',
        name: null,
        ownerId: job.ownerId,
        priority: 5,
        maxAttempts: job.maxAttempts,
        timeoutSeconds: job.timeoutSeconds,
        createdAt: new Date(job.createdAt),
      });
    });

    it('shows progress while a job runs, and 100 when it is done', async () => {
      // 1.5 s per step: progress is written at most once a second, so each step stays visible.
      const job = await submitJob(t.app, admin, { type: 'sleep', payload: { ms: 4500, steps: 3 } });
      const seen: [number, string | null][] = [];
      let view: JobJson = job;
      while (!['succeeded', 'failed', 'cancelled'].includes(view.status)) {
        view = await getJob(t.app, admin, job.id);
        const last = seen.at(-1);
        if (view.status === 'running' && view.progress > 0 && last?.[0] !== view.progress) {
          seen.push([view.progress, view.progressMessage]);
        }
        await sleep(50);
      }
      expect(seen).toEqual([
        [33, 'step 1 of 3'],
        [66, 'step 2 of 3'],
      ]);
      expect(view).toMatchObject({ status: 'succeeded', progress: 100 });
    });

    it('cancels a job waiting for its retry at once (200), without another attempt', async () => {
      const job = await submitJob(t.app, admin, {
        type: 'test.flaky',
        payload: { failTimes: 5 },
        maxAttempts: 5,
        // An hour-wide jitter window: the retry is (all but surely) still ahead when we cancel.
        backoff: { baseSeconds: 3600, maxSeconds: 3600 },
      });
      const waiting = await waitForJob(
        t.app,
        admin,
        job.id,
        (j) => j.status === 'queued' && j.attempts === 1,
      );
      expect(waiting.lastError?.code).toBe('HANDLER_ERROR');
      expect(Date.parse(waiting.runAt)).toBeGreaterThan(Date.now());

      const res = await t.app.inject({
        method: 'POST',
        url: `/v1/jobs/${job.id}/cancel`,
        headers: admin.headers,
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ status: 'cancelled', attempts: 1 });
      await sleep(300);
      const after = await getJob(t.app, admin, job.id);
      expect(after).toMatchObject({ status: 'cancelled', attempts: 1 });
      expect(after.finishedAt).not.toBeNull();
      expect(observed.invocations.get(job.id)).toBe(1);
      expect((await attemptsOf(t.app, admin, job.id)).map((a) => a.outcome)).toEqual(['failed']);
    });

    it('cancels a running handler that ignores its signal (202) without waiting for it', async () => {
      const job = await submitJob(t.app, admin, { type: 'test.stubborn', payload: { sleepMs: 5000 } });
      await until(() => observed.invocations.get(job.id), 'the handler to start');
      const res = await t.app.inject({
        method: 'POST',
        url: `/v1/jobs/${job.id}/cancel`,
        headers: admin.headers,
      });
      expect(res.statusCode).toBe(202);
      expect(res.json()).toMatchObject({ status: 'running', cancelRequested: true });
      const cancelledAt = Date.now();

      const done = await waitForJob(t.app, admin, job.id, undefined, 4000);
      expect(Date.now() - cancelledAt).toBeLessThan(2000);
      expect(done).toMatchObject({ status: 'cancelled', attempts: 1 });
      expect(done.finishedAt).not.toBeNull();
      expect(observed.aborts.get(job.id)).toBe('cancel');
      expect((await attemptsOf(t.app, admin, job.id)).map((a) => a.outcome)).toEqual(['cancelled']);
    });

    it('kept each job above in job_queue exactly while queued and in job_leases exactly while running', async () => {
      expect(await narrowTableDisagreements(t.app.get(DataSource))).toEqual([]);
    });
  });

  describe('shutdown', () => {
    it('lets a periodic task finish its store call before the store closes', async () => {
      const t = await startWorker();
      const store = t.app.get(JobStore);
      const read = store.pausedTypes.bind(store);
      let outcome = 'not called';
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      // The next read of the paused types (a tick a second) waits for the test, then reads.
      jest.spyOn(store, 'pausedTypes').mockImplementationOnce(async () => {
        outcome = 'waiting';
        await released;
        try {
          const paused = await read();
          outcome = 'read';
          return paused;
        } catch (error) {
          outcome = `failed: ${String(error)}`;
          throw error;
        }
      });
      await until(() => outcome === 'waiting', 'a read of the paused types');
      const closing = t.close();
      await sleep(300);
      expect(outcome).toBe('waiting');
      release();
      await closing;
      expect(outcome).toBe('read');
    });
  });

  describe('with JOBS_MAX_RESULT_BYTES=1024', () => {
    let t: TestApp;
    let admin: Session;
    beforeAll(async () => {
      t = await startWorker({ JOBS_MAX_RESULT_BYTES: '1024' });
      admin = await loginAdmin(t.app);
    });
    afterAll(() => t.close());

    it('fails a job whose result is over the cap (RESULT_TOO_LARGE), without retrying', async () => {
      const job = await submitJob(t.app, admin, { type: 'test.big-result', payload: { bytes: 2000 } });
      const done = await waitForJob(t.app, admin, job.id);
      expect(done).toMatchObject({ status: 'failed', attempts: 1, lastError: { code: 'RESULT_TOO_LARGE' } });
      const res = await t.app.inject({
        method: 'GET',
        url: `/v1/jobs/${job.id}/result`,
        headers: admin.headers,
      });
      expect(res.statusCode).toBe(409);
    });

    it('keeps a result under the cap, byte for byte', async () => {
      const job = await submitJob(t.app, admin, { type: 'test.big-result', payload: { bytes: 500 } });
      expect((await waitForJob(t.app, admin, job.id)).status).toBe('succeeded');
      const res = await t.app.inject({
        method: 'GET',
        url: `/v1/jobs/${job.id}/result`,
        headers: admin.headers,
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ jobId: job.id, result: 'x'.repeat(500) });
    });
  });

  describe('with JOBS_CONCURRENCY=3', () => {
    let t: TestApp;
    let admin: Session;
    beforeAll(async () => {
      // A long lease spaces heartbeats 100 s apart: a cancel must reach a handler by itself,
      // not by luck of a heartbeat falling while it runs.
      t = await startWorker({ JOBS_CONCURRENCY: '3', JOBS_LEASE_SECONDS: '300' });
      admin = await loginAdmin(t.app);
    });
    afterAll(() => t.close());

    it('never runs more than 3 jobs at once', async () => {
      const sleepMs = 500;
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/jobs/batch',
        headers: admin.headers,
        payload: { jobs: Array.from({ length: 9 }, () => ({ type: 'test.counting', payload: { sleepMs } })) },
      });
      expect(res.statusCode).toBe(202);
      const ids = res.json<{ results: { job: JobJson }[] }>().results.map((r) => r.job.id);

      let maxRunning = 0;
      let maxListed = 0;
      const deadline = Date.now() + 15_000;
      for (let finished = 0; finished < ids.length && Date.now() < deadline;) {
        const [{ running, done }] = await db(t).query<{ running: number; done: number }[]>(
          `SELECT count(*) FILTER (WHERE status = 'running')::int AS running,
             count(*) FILTER (WHERE status IN ('succeeded', 'failed', 'cancelled'))::int AS done
           FROM jobs WHERE id = ANY($1::uuid[])`,
          [ids],
        );
        const listed = await t.app.inject({
          method: 'GET',
          url: '/v1/jobs?status=running&limit=100',
          headers: admin.headers,
        });
        maxRunning = Math.max(maxRunning, running);
        maxListed = Math.max(maxListed, listed.json<{ items: unknown[] }>().items.length);
        finished = done;
        await sleep(50);
      }

      // Handlers: each runs ≥ sleepMs, so any job started in the sleepMs before another's start
      // was still running then.
      const starts = ids.map((id) => observed.startTimes.get(id)?.[0] ?? Number.NaN).sort((a, b) => a - b);
      const overlap = Math.max(
        ...starts.map((s) => starts.filter((o) => o <= s && o > s - (sleepMs - 10)).length),
      );
      expect(overlap).toBe(3);
      for (const id of ids) expect((await getJob(t.app, admin, id)).status).toBe('succeeded');
      // What the API and the rows call running: no more than run at once.
      expect({ maxRunning, maxListed }).toEqual({ maxRunning: 3, maxListed: 3 });
    });

    it('cancels a job waiting for a free slot: its handler never runs with a live signal', async () => {
      const busy = await Promise.all(
        [1, 2, 3].map(() => submitJob(t.app, admin, { type: 'test.gate', payload: {}, timeoutSeconds: 120 })),
      );
      const gates = await Promise.all(busy.map((job) => gateOf(job.id)));
      const waiting = await submitJob(t.app, admin, { type: 'test.counting', payload: { sleepMs: 3000 } });
      await sleep(300);
      expect(observed.invocations.has(waiting.id)).toBe(false);

      const res = await t.app.inject({
        method: 'POST',
        url: `/v1/jobs/${waiting.id}/cancel`,
        headers: admin.headers,
      });
      expect([200, 202]).toContain(res.statusCode);
      // The cancel reaches every listener (NOTIFY included) before a slot frees.
      await sleep(300);
      for (const release of gates) release();
      const releasedAt = Date.now();
      const done = await waitForJob(t.app, admin, waiting.id, undefined, 5000);
      expect(done.status).toBe('cancelled');
      // Either it never starts (it was queued) or its signal fires at once (it was running).
      const seen = {
        invocations: observed.invocations.get(waiting.id) ?? 0,
        abort: observed.aborts.get(waiting.id) ?? null,
      };
      expect([
        { invocations: 0, abort: null },
        { invocations: 1, abort: 'cancel' },
      ]).toContainEqual(seen);
      expect(Date.now() - releasedAt).toBeLessThan(1500);
    });
  });

  describe('claim order across replicas', () => {
    let store: TestStore;
    const apps: TestApp[] = [];
    beforeAll(async () => {
      store = await createTestStore();
    });
    afterAll(async () => {
      for (const app of apps.reverse()) await app.close();
      await store.drop();
    });

    it('an API-only replica runs nothing; a worker then starts jobs by priority, runAt, createdAt', async () => {
      const api = await startWorker({ JOBS_WORKER_ENABLED: 'false' }, store);
      apps.push(api);
      const admin = await loginAdmin(api.app);
      // Due before the worker starts below, later than every job submitted without a runAt (a
      // runAt already past would mean now).
      const soon = new Date(Date.now() + 1000).toISOString();
      // [priority, runAt?]: equal priorities differ by runAt, or share it and differ by creation.
      const specs: [number, string?][] = [
        [5],
        [10],
        [1],
        [5, soon],
        [10],
        [5, soon],
        [3],
        [5],
        [1, soon],
        [10, soon],
      ];
      const jobs: JobJson[] = [];
      for (const [priority, runAt] of specs) {
        // A short sleep keeps the start times of consecutive jobs apart (concurrency 1).
        const payload = { sleepMs: 20 };
        jobs.push(await submitJob(api.app, admin, { type: 'test.counting', payload, priority, runAt }));
      }
      const expected = jobs
        .map((job, created) => ({
          id: job.id,
          priority: job.priority,
          runAt: Date.parse(job.runAt),
          created,
        }))
        .sort((a, b) => b.priority - a.priority || a.runAt - b.runAt || a.created - b.created)
        .map((job) => job.id);
      expect(expected.map((id) => jobs.findIndex((job) => job.id === id))).toEqual([
        1, 4, 9, 0, 7, 3, 5, 6, 2, 8,
      ]);

      await sleep(1500);
      for (const job of jobs)
        expect(await getJob(api.app, admin, job.id)).toMatchObject({ status: 'queued' });
      expect(jobs.filter((job) => observed.invocations.has(job.id))).toEqual([]);

      // The embedded store serves one app at a time: there the worker replaces the API replica.
      if (!onPostgres) await apps.pop()?.close();
      const worker = await startWorker({ JOBS_CONCURRENCY: '1' }, store);
      apps.push(worker);
      for (const job of jobs) expect((await waitForJob(worker.app, admin, job.id)).status).toBe('succeeded');
      const started = [...jobs].sort(
        (a, b) => (observed.startTimes.get(a.id)?.[0] ?? 0) - (observed.startTimes.get(b.id)?.[0] ?? 0),
      );
      expect(started.map((job) => job.id)).toEqual(expected);
    });
  });

  describe('fencing (an attempt whose lease was taken over writes nothing)', () => {
    let store: TestStore;
    let apps: TestApp[];
    beforeEach(async () => {
      store = await createTestStore();
      apps = [];
    });
    afterEach(async () => {
      openAllGates();
      for (const app of apps.reverse()) await app.close();
      await store.drop();
    });
    async function start(env: Record<string, string>): Promise<TestApp> {
      const app = await startWorker(env, store);
      apps.push(app);
      return app;
    }
    // A's lease is long, so it sends no heartbeat during the test: it is "frozen" to the store,
    // and its late result has to be refused by the finish write itself.
    const frozenEnv = { JOBS_LEASE_SECONDS: '300' };
    const reaperEnv = { JOBS_LEASE_SECONDS: '5', JOBS_POLL_INTERVAL_MS: '50' };

    it('reaps an expired lease, runs attempt 2 elsewhere and refuses the stale worker’s result', async () => {
      // On PostgreSQL, attempt 2 must go to replica B: A runs one job at a time and fillers take
      // whatever room its engine has for claiming ahead, so it cannot take the job back.
      const a = await start({ ...frozenEnv, JOBS_CONCURRENCY: onPostgres ? '1' : '10' });
      const admin = await loginAdmin(a.app);
      const job = await submitJob(a.app, admin, {
        type: 'test.gate',
        payload: {},
        maxAttempts: 3,
        timeoutSeconds: 120,
      });
      const firstGate = await gateOf(job.id);
      const first = await leaseRow(a, job.id);
      expect(first.status).toBe('running');
      let b = a;
      if (onPostgres) {
        const res = await a.app.inject({
          method: 'POST',
          url: '/v1/jobs/batch',
          headers: admin.headers,
          payload: { jobs: Array.from({ length: 5 }, () => ({ type: 'test.counting', payload: {} })) },
        });
        const fillers = res.json<{ results: { job: JobJson }[] }>().results.map((r) => r.job.id);
        await sleep(500);
        const left = await db(a).query<{ id: string }[]>(
          `SELECT id FROM jobs WHERE id = ANY($1::uuid[]) AND status = 'queued'`,
          [fillers],
        );
        expect(left.length).toBeGreaterThan(0);
        b = await start(reaperEnv);
      }

      await freezeLease(a, job.id, first.token);
      const secondGate = await gateOf(job.id, firstGate);
      const second = await leaseRow(a, job.id);
      expect(second.status).toBe('running');
      expect(Number(second.token)).toBe(Number(first.token) + 1);
      if (onPostgres) expect(second.workerId).not.toBe(first.workerId);
      expect(await getJob(a.app, admin, job.id)).toMatchObject({
        status: 'running',
        attempts: 2,
        lastError: { code: 'LEASE_EXPIRED' },
      });

      secondGate();
      const finished = await waitForJob(b.app, admin, job.id);
      expect(finished).toMatchObject({ status: 'succeeded', attempts: 2, progress: 100 });

      const stale = { kind: 'finish' };
      const before = await metric(a.app, 'job_stale_writes_total', stale);
      firstGate();
      await until(
        async () => (await metric(a.app, 'job_stale_writes_total', stale)) > before,
        'a refused write',
      );

      expect(await getJob(a.app, admin, job.id)).toEqual(finished);
      const result = await a.app.inject({
        method: 'GET',
        url: `/v1/jobs/${job.id}/result`,
        headers: admin.headers,
      });
      expect(result.json()).toEqual({ jobId: job.id, result: { released: true } });
      const history = await attemptsOf(a.app, admin, job.id);
      expect(history.map((h) => [h.attempt, h.outcome, h.error?.code ?? null, h.workerId])).toEqual([
        [1, 'lease_expired', 'LEASE_EXPIRED', first.workerId],
        [2, 'succeeded', null, second.workerId],
      ]);
      expect(observed.invocations.get(job.id)).toBe(2);
      expect(await narrowTableDisagreements(a.app.get(DataSource))).toEqual([]);
    });

    it('fails a job whose lease expired on its last attempt (LEASE_EXPIRED), and keeps it failed', async () => {
      const a = await start(frozenEnv);
      const admin = await loginAdmin(a.app);
      const job = await submitJob(a.app, admin, {
        type: 'test.gate',
        payload: {},
        maxAttempts: 1,
        timeoutSeconds: 120,
      });
      const gate = await gateOf(job.id);
      const held = await leaseRow(a, job.id);
      if (onPostgres) await start(reaperEnv);

      await freezeLease(a, job.id, held.token);
      const failed = await waitForJob(a.app, admin, job.id);
      expect(failed).toMatchObject({ status: 'failed', attempts: 1, lastError: { code: 'LEASE_EXPIRED' } });
      expect(failed.finishedAt).not.toBeNull();

      const stale = { kind: 'finish' };
      const before = await metric(a.app, 'job_stale_writes_total', stale);
      gate();
      await until(
        async () => (await metric(a.app, 'job_stale_writes_total', stale)) > before,
        'a refused write',
      );

      expect(await getJob(a.app, admin, job.id)).toEqual(failed);
      const result = await a.app.inject({
        method: 'GET',
        url: `/v1/jobs/${job.id}/result`,
        headers: admin.headers,
      });
      expect(result.statusCode).toBe(409);
      const history = await attemptsOf(a.app, admin, job.id);
      expect(history.map((h) => [h.attempt, h.outcome, h.workerId])).toEqual([
        [1, 'lease_expired', held.workerId],
      ]);
      expect(observed.invocations.get(job.id)).toBe(1);
    });

    it('keeps the lease of a re-claimed job after the same worker’s stale attempt of it ends', async () => {
      // One replica whose own reaper took the job back (its heartbeats had stalled) and claimed
      // it again while the stale attempt still ran.
      const a = await start({ JOBS_LEASE_SECONDS: '5' });
      const admin = await loginAdmin(a.app);
      const job = await submitJob(a.app, admin, {
        type: 'test.gate',
        payload: {},
        maxAttempts: 5,
        timeoutSeconds: 120,
      });
      const firstGate = await gateOf(job.id);
      const first = await leaseRow(a, job.id);
      await freezeLease(a, job.id, first.token);
      const secondGate = await gateOf(job.id, firstGate);
      const second = await leaseRow(a, job.id);
      const reclaimedAt = Date.now();

      // The stale attempt ends first; its result is refused, and attempt 2 must keep its lease:
      // its worker is alive and renewing. Past lease (5 s) + reaper period (2.5 s) + slack:
      firstGate();
      await sleep(Math.max(0, reclaimedAt + 9000 - Date.now()));
      expect(await leaseRow(a, job.id)).toEqual(second);
      expect(observed.invocations.get(job.id)).toBe(2);

      secondGate();
      const done = await waitForJob(a.app, admin, job.id);
      expect(done).toMatchObject({ status: 'succeeded', attempts: 2 });
      const history = await attemptsOf(a.app, admin, job.id);
      expect(history.map((h) => h.outcome)).toEqual(['lease_expired', 'succeeded']);
    });
  });
});
