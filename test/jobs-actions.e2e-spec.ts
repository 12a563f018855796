import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LightMyRequestResponse as Response } from 'fastify';
import { DataSource } from 'typeorm';
import { loginAdmin, newUser, type Session } from './support/auth';
import {
  getJob,
  JOB_ID_ROUTES,
  type JobJson,
  narrowTableDisagreements,
  submitJob,
  waitForJob,
} from './support/jobs';
import { startTestApp, type TestApp } from './support/test-app';
import { observed, TestHandlersModule } from './support/test-handlers';

type Method = 'GET' | 'POST' | 'DELETE';

// The job actions and reads of CONTRACT §5, their audit rows (§6) and job metrics (§7), over HTTP
// against the real store.
describe('job reads and actions (CONTRACT §5)', () => {
  let t: TestApp;
  let admin: Session;
  let db: DataSource;
  beforeAll(async () => {
    t = await startTestApp({ imports: [TestHandlersModule] });
    admin = await loginAdmin(t.app);
    db = t.app.get(DataSource);
  });
  afterAll(async () => {
    for (const release of observed.gates.values()) release();
    await t.close();
  });

  const call = (method: Method, url: string, session: Pick<Session, 'headers'>): Promise<Response> =>
    t.app.inject({ method, url, headers: session.headers });
  const queued = (session: Session, extra: Record<string, unknown> = {}) =>
    submitJob(t.app, session, { type: 'noop', payload: {}, delaySeconds: 3600, ...extra });
  const succeeded = async (session: Session, extra: Record<string, unknown> = {}) => {
    const job = await submitJob(t.app, session, { type: 'noop', payload: { n: 1 }, ...extra });
    return waitForJob(t.app, session, job.id, (j) => j.status === 'succeeded');
  };
  const failed = async (session: Session, extra: Record<string, unknown> = {}) => {
    const job = await submitJob(t.app, session, {
      type: 'test.flaky',
      payload: { failTimes: 10 },
      maxAttempts: 1,
      ...extra,
    });
    return waitForJob(t.app, session, job.id, (j) => j.status === 'failed');
  };
  const running = async (session: Session, type: 'sleep' | 'test.gate') => {
    const payload = type === 'sleep' ? { ms: 30_000, steps: 30 } : {};
    const job = await submitJob(t.app, session, { type, payload });
    return waitForJob(t.app, session, job.id, (j) => j.status === 'running');
  };
  const attemptsOf = async (session: Session, id: string) =>
    (await call('GET', `/v1/jobs/${id}/attempts`, session)).json<{ items: Attempt[] }>().items;
  const listIds = async (session: Session, query: string) => {
    const res = await call('GET', `/v1/jobs?${query}`, session);
    expect(res.statusCode).toBe(200);
    return res.json<{ items: JobJson[] }>().items.map((job: JobJson) => job.id);
  };

  describe('reads', () => {
    let user: Session;
    beforeAll(async () => {
      user = await newUser(t.app, admin);
    });

    it('GET /v1/jobs/:id answers the job; an unknown id is a 404 problem, a non-UUID a 400', async () => {
      const job = await queued(user, { name: 'read-me' });
      const res = await call('GET', `/v1/jobs/${job.id}`, user);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual(job);
      expect(job).toMatchObject({ status: 'queued', name: 'read-me', ownerId: expect.any(String) });

      const unknown = await call('GET', `/v1/jobs/${randomUUID()}`, user);
      expectProblem(unknown, 404, 'JOBS.NOT_FOUND');
      const malformed = await call('GET', '/v1/jobs/not-a-uuid', user);
      expectProblem(malformed, 400, 'REQUEST.VALIDATION_FAILED');
      expect(malformed.json()).toMatchObject({ errors: [{ field: 'id', message: expect.any(String) }] });
    });

    it('GET /:id/result → {jobId, result} once succeeded', async () => {
      const job = await succeeded(user, { payload: { answer: 42 } });
      const res = await call('GET', `/v1/jobs/${job.id}/result`, user);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ jobId: job.id, result: { answer: 42 } });
    });

    it.each([
      ['queued', () => queued(user)],
      ['failed', () => failed(user)],
    ])('GET /:id/result of a %s job → 409 problem', async (status, make) => {
      const job = await make();
      expect(job.status).toBe(status);
      expectProblem(await call('GET', `/v1/jobs/${job.id}/result`, user), 409, 'JOBS.NO_RESULT');
    });

    it('GET /:id/attempts lists every attempt; lastError survives the final success', async () => {
      const submitted = await submitJob(t.app, user, {
        type: 'test.flaky',
        payload: { failTimes: 2 },
        maxAttempts: 5,
        backoff: { baseSeconds: 0.01, maxSeconds: 0.02 },
      });
      const job = await waitForJob(t.app, user, submitted.id);
      expect(job).toMatchObject({
        status: 'succeeded',
        attempts: 3,
        lastError: { code: 'HANDLER_ERROR', message: expect.stringContaining('boom on attempt 2') },
      });
      const res = await call('GET', `/v1/jobs/${job.id}/attempts`, user);
      expect(res.statusCode).toBe(200);
      const { items } = res.json<{ items: Attempt[] }>();
      const shape = (attempt: number, outcome: string, code: string | null) => ({
        attempt,
        outcome,
        startedAt: expect.stringMatching(ISO_MS),
        finishedAt: expect.stringMatching(ISO_MS),
        error: code ? { code, message: expect.any(String) } : null,
        workerId: expect.any(String),
      });
      expect(items).toEqual([
        shape(1, 'failed', 'HANDLER_ERROR'),
        shape(2, 'failed', 'HANDLER_ERROR'),
        shape(3, 'succeeded', null),
      ]);
      // The success is the job's own row (no history row of its own), read back as the job says it.
      expect(items[2]).toMatchObject({ startedAt: job.startedAt, finishedAt: job.finishedAt });
      expect(items[2].startedAt >= (items[1].finishedAt as string)).toBe(true);
      const history = await db.query<{ outcome: string }[]>(
        'SELECT outcome FROM job_attempts WHERE job_id = $1 ORDER BY attempt',
        [job.id],
      );
      expect(history).toEqual([{ outcome: 'failed' }, { outcome: 'failed' }]);
    });
  });

  describe('list', () => {
    it('is newest first and filters by status, type, name and creation time', async () => {
      const user = await newUser(t.app, admin);
      const done = await succeeded(user, { name: 'alpha' });
      const waiting = await queued(user, { name: 'beta' });
      await sleep(5); // distinct creation milliseconds, so createdFrom/createdTo split them
      const broken = await failed(user, { name: 'alpha' });

      expect(await listIds(user, '')).toEqual([broken.id, waiting.id, done.id]);
      expect(await listIds(user, 'status=queued')).toEqual([waiting.id]);
      expect(await listIds(user, 'status=succeeded')).toEqual([done.id]);
      expect(await listIds(user, 'type=test.flaky')).toEqual([broken.id]);
      expect(await listIds(user, 'name=alpha')).toEqual([broken.id, done.id]);
      expect(await listIds(user, 'name=alpha&status=failed')).toEqual([broken.id]);
      const from = encodeURIComponent(broken.createdAt);
      expect(await listIds(user, `createdFrom=${from}`)).toEqual([broken.id]);
      expect(await listIds(user, `createdTo=${from}`)).toEqual([waiting.id, done.id]);
    });

    it('pages with a cursor: 25 jobs at limit=10 → 10, 10, 5, no duplicates, then null', async () => {
      const user = await newUser(t.app, admin);
      // One batch: all 25 share created_at, so the id tie-break of the keyset is exercised too.
      const batch = await t.app.inject({
        method: 'POST',
        url: '/v1/jobs/batch',
        headers: user.headers,
        payload: {
          jobs: Array.from({ length: 25 }, () => ({ type: 'noop', payload: {}, delaySeconds: 3600 })),
        },
      });
      expect(batch.statusCode).toBe(202);
      const created = batch.json<{ results: { job: JobJson }[] }>().results.map((r) => r.job.id);

      const sizes: number[] = [];
      const seen: JobJson[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
        const res = await call('GET', `/v1/jobs?limit=10${query}`, user);
        expect(res.statusCode).toBe(200);
        const page = res.json<{ items: JobJson[]; nextCursor: string | null }>();
        sizes.push(page.items.length);
        seen.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor !== null && sizes.length < 5);

      expect(sizes).toEqual([10, 10, 5]);
      expect(new Set(seen.map((j) => j.id)).size).toBe(25);
      expect([...seen.map((j) => j.id)].sort()).toEqual([...created].sort());
      const keys = seen.map((j) => `${j.createdAt}|${j.id}`);
      expect(keys).toEqual([...keys].sort().reverse());
    });

    it.each([
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=x', 'limit'],
      ['cursor=not-a-cursor', 'cursor'],
      ['cursor=WyJ4IiwieSJd', 'cursor'], // base64url of ["x","y"]: well-formed JSON, not a position
      ['status=done', 'status'],
    ])('?%s → 400 problem naming %s', async (query, field) => {
      const res = await call('GET', `/v1/jobs?${query}`, admin);
      expectProblem(res, 400);
      expect(res.json<{ errors: { field: string }[] }>().errors).toContainEqual(
        expect.objectContaining({ field }),
      );
    });

    it("a user sees only their own jobs; an admin sees everyone's and filters by ownerId", async () => {
      const a = await newUser(t.app, admin);
      const b = await newUser(t.app, admin);
      const jobA = await queued(a);
      const jobB = await queued(b);

      expect(await listIds(a, '')).toEqual([jobA.id]);
      expect(await listIds(b, '')).toEqual([jobB.id]);
      expect(await listIds(a, `ownerId=${b.id}`)).toEqual([]);
      expect(await listIds(a, `ownerId=${a.id}`)).toEqual([jobA.id]);
      expect(await listIds(admin, `ownerId=${b.id}`)).toEqual([jobB.id]);
      const all = await listIds(admin, `createdFrom=${encodeURIComponent(jobA.createdAt)}`);
      expect(all).toEqual(expect.arrayContaining([jobA.id, jobB.id]));
    });
  });

  describe("ownership: others' jobs do not exist", () => {
    let owner: Session;
    let stranger: Session;
    let job: JobJson;
    beforeAll(async () => {
      owner = await newUser(t.app, admin);
      stranger = await newUser(t.app, admin);
      job = await queued(owner);
    });

    it.each(JOB_ID_ROUTES)(
      '%s /v1/jobs/:id%s by another user → the same 404 as an unknown id',
      async (method, suffix) => {
        const theirs = await call(method, `/v1/jobs/${job.id}${suffix}`, stranger);
        const unknown = await call(method, `/v1/jobs/${randomUUID()}${suffix}`, stranger);
        expectProblem(theirs, 404, 'JOBS.NOT_FOUND');
        const { instance: _i1, requestId: _r1, ...theirBody } = theirs.json<Record<string, unknown>>();
        const { instance: _i2, requestId: _r2, ...unknownBody } = unknown.json<Record<string, unknown>>();
        expect(theirBody).toEqual(unknownBody);
        expect(await getJob(t.app, owner, job.id)).toEqual(job);
      },
    );

    it('an admin can read, cancel and delete any job', async () => {
      const target = await queued(owner);
      expect((await call('GET', `/v1/jobs/${target.id}`, admin)).json()).toEqual(target);
      const cancel = await call('POST', `/v1/jobs/${target.id}/cancel`, admin);
      expect(cancel.statusCode).toBe(200);
      expect(cancel.json()).toMatchObject({ status: 'cancelled' });
      expect((await call('DELETE', `/v1/jobs/${target.id}`, admin)).statusCode).toBe(204);
      expectProblem(await call('GET', `/v1/jobs/${target.id}`, owner), 404, 'JOBS.NOT_FOUND');
    });
  });

  describe('cancel', () => {
    let user: Session;
    beforeAll(async () => {
      user = await newUser(t.app, admin);
    });

    it('a queued job is cancelled at once (200)', async () => {
      const job = await queued(user);
      const res = await call('POST', `/v1/jobs/${job.id}/cancel`, user);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        id: job.id,
        status: 'cancelled',
        finishedAt: expect.stringMatching(ISO_MS),
      });
      expect(await getJob(t.app, user, job.id)).toMatchObject({ status: 'cancelled' });
    });

    it('a running job is asked to stop (202) and ends cancelled long before its 30 s sleep', async () => {
      const job = await running(user, 'sleep');
      const res = await call('POST', `/v1/jobs/${job.id}/cancel`, user);
      expect(res.statusCode).toBe(202);
      expect(res.json()).toMatchObject({ id: job.id, status: 'running', cancelRequested: true });
      const ended = await waitForJob(t.app, user, job.id, undefined, 10_000);
      expect(ended).toMatchObject({ status: 'cancelled', finishedAt: expect.stringMatching(ISO_MS) });
      const attempts = await attemptsOf(user, job.id);
      expect(attempts.at(-1)).toMatchObject({ attempt: 1, outcome: 'cancelled' });
    });

    it.each([
      ['succeeded', () => succeeded(user)],
      [
        'cancelled',
        async () => (await call('POST', `/v1/jobs/${(await queued(user)).id}/cancel`, user)).json<JobJson>(),
      ],
    ])('a %s job → 409 problem, unchanged', async (status, make) => {
      const job = await make();
      expect(job.status).toBe(status);
      expectProblem(await call('POST', `/v1/jobs/${job.id}/cancel`, user), 409, 'JOBS.ILLEGAL_STATE');
      expect(await getJob(t.app, user, job.id)).toEqual(job);
    });
  });

  describe('retry', () => {
    let user: Session;
    beforeAll(async () => {
      user = await newUser(t.app, admin);
    });

    it('a failed job is queued again with a fresh budget, and runs again', async () => {
      const job = await failed(user);
      expect(await attemptsOf(user, job.id)).toHaveLength(1);
      const res = await call('POST', `/v1/jobs/${job.id}/retry`, user);
      expect(res.statusCode).toBe(202);
      expect(res.json()).toMatchObject({ id: job.id, status: 'queued', attempts: 0, finishedAt: null });
      const again = await waitForJob(t.app, user, job.id, (j) => j.status === 'failed' && j.attempts === 1);
      expect(again.lastError).toMatchObject({ code: 'HANDLER_ERROR' });
      const attempts = await attemptsOf(user, job.id);
      expect(attempts.map((a: Attempt) => a.outcome)).toEqual(['failed', 'failed']);
    });

    it('a cancelled job → 202 queued', async () => {
      const job = await queued(user);
      await call('POST', `/v1/jobs/${job.id}/cancel`, user);
      const res = await call('POST', `/v1/jobs/${job.id}/retry`, user);
      expect(res.statusCode).toBe(202);
      expect(res.json()).toMatchObject({ status: 'queued', cancelRequested: false, finishedAt: null });
    });

    it.each([
      ['queued', () => queued(user)],
      ['succeeded', () => succeeded(user)],
    ])('a %s job → 409 problem, unchanged', async (status, make) => {
      const job = await make();
      expect(job.status).toBe(status);
      expectProblem(await call('POST', `/v1/jobs/${job.id}/retry`, user), 409, 'JOBS.ILLEGAL_STATE');
      expect(await getJob(t.app, user, job.id)).toEqual(job);
    });
  });

  describe('delete', () => {
    let user: Session;
    beforeAll(async () => {
      user = await newUser(t.app, admin);
    });
    const attemptRows = async (id: string) =>
      (
        await db.query<{ n: number }[]>('SELECT count(*)::int AS n FROM job_attempts WHERE job_id = $1', [id])
      )[0].n;

    it('a queued job (with attempt history) → 204, then 404, and its attempt rows are gone', async () => {
      // A day-long backoff keeps it queued after its first failure (P(retry < 10 s) ≈ 1e-4).
      const submitted = await submitJob(t.app, user, {
        type: 'test.flaky',
        payload: { failTimes: 1 },
        backoff: { baseSeconds: 86_400, maxSeconds: 86_400 },
      });
      const job = await waitForJob(
        t.app,
        user,
        submitted.id,
        (j) => j.status === 'queued' && j.attempts === 1,
      );
      expect(await attemptRows(job.id)).toBe(1);
      expect((await call('DELETE', `/v1/jobs/${job.id}`, user)).statusCode).toBe(204);
      expectProblem(await call('GET', `/v1/jobs/${job.id}`, user), 404, 'JOBS.NOT_FOUND');
      expect(await attemptRows(job.id)).toBe(0);
    });

    it('a succeeded job → 204', async () => {
      const job = await succeeded(user);
      expect((await call('DELETE', `/v1/jobs/${job.id}`, user)).statusCode).toBe(204);
      expect(await db.query('SELECT id FROM jobs WHERE id = $1', [job.id])).toEqual([]);
    });

    it('a running job → 409, and it is still there', async () => {
      const job = await running(user, 'test.gate');
      try {
        expectProblem(await call('DELETE', `/v1/jobs/${job.id}`, user), 409, 'JOBS.ILLEGAL_STATE');
        expect(await getJob(t.app, user, job.id)).toMatchObject({ status: 'running' });
        expect(await attemptsOf(user, job.id)).toEqual([
          expect.objectContaining({ attempt: 1, finishedAt: null, outcome: null, error: null }),
        ]);
      } finally {
        observed.gates.get(job.id)?.();
      }
      await expect(waitForJob(t.app, user, job.id)).resolves.toMatchObject({ status: 'succeeded' });
    });
  });

  describe('audit (CONTRACT §6)', () => {
    let user: Session & { id: string };
    beforeAll(async () => {
      user = await newUser(t.app, admin);
    });
    const rowsFor = (id: string) =>
      db.query<AuditRow[]>(
        `SELECT action, resource_type, resource_id, success, error_code, actor_id, request_id
         FROM audit_logs WHERE resource_id = $1 ORDER BY at, action`,
        [id],
      );

    it('job.created carries the actor and the request id of the submit', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/jobs',
        headers: user.headers,
        payload: { type: 'noop', payload: {}, delaySeconds: 3600 },
      });
      expect(res.statusCode).toBe(202);
      const id = res.json<JobJson>().id;
      expect(await rowsFor(id)).toEqual([
        {
          action: 'job.created',
          resource_type: 'job',
          resource_id: id,
          success: true,
          error_code: null,
          actor_id: user.id,
          request_id: res.headers['x-request-id'],
        },
      ]);
    });

    it('cancel, retry and delete are audited; a refused cancel is audited as failed', async () => {
      const job = await queued(user);
      expect((await call('POST', `/v1/jobs/${job.id}/cancel`, user)).statusCode).toBe(200);
      expect((await call('POST', `/v1/jobs/${job.id}/cancel`, user)).statusCode).toBe(409);
      expect((await call('POST', `/v1/jobs/${job.id}/retry`, user)).statusCode).toBe(202);
      await waitForJob(t.app, user, job.id);
      expect((await call('DELETE', `/v1/jobs/${job.id}`, user)).statusCode).toBe(204);

      const rows = await rowsFor(job.id);
      const summary = rows.map((r) => `${r.action} ${r.success ? 'ok' : `failed ${r.error_code}`}`).sort();
      expect(summary).toEqual([
        'job.cancelled failed JOBS.ILLEGAL_STATE',
        'job.cancelled ok',
        'job.created ok',
        'job.deleted ok',
        'job.retried ok',
      ]);
      for (const row of rows) expect(row).toMatchObject({ resource_type: 'job', actor_id: user.id });
    });

    it('never records the job payload', async () => {
      const job = await succeeded(user, { payload: { password: 'hunter2-secret' } });
      expect(job.payload).toEqual({ password: 'hunter2-secret' });
      // Refused: one more row about this job.
      expect((await call('POST', `/v1/jobs/${job.id}/cancel`, user)).statusCode).toBe(409);
      const leaks = await db.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM audit_logs a WHERE a::text LIKE '%hunter2%'`,
      );
      expect(leaks[0].n).toBe(0);
      expect((await rowsFor(job.id)).length).toBeGreaterThanOrEqual(2);
    });
  });

  describe('metrics (CONTRACT §7)', () => {
    it('count created, finished and attempted jobs, and jobs_in_state matches the store', async () => {
      const user = await newUser(t.app, admin);
      await Promise.all([succeeded(user), succeeded(user), succeeded(user)]);
      // Nothing else of type noop may move while we compare (earlier tests' noops are settled).
      await waitUntil(async () => {
        const [row] = await db.query<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM jobs WHERE type = 'noop'
             AND (status = 'running' OR (status = 'queued' AND run_at <= now()))`,
        );
        return row.n === 0;
      });
      // Final-state counts are cached for up to 5 s (job-state-counts.ts): outwait the cache.
      await sleep(5200);
      const counts = await db.query<{ status: string; n: number }[]>(
        `SELECT status, count(*)::int AS n FROM jobs WHERE type = 'noop' GROUP BY status`,
      );
      const inDb = (status: string) => counts.find((row) => row.status === status)?.n ?? 0;
      const n = inDb('succeeded');
      const res = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      const body = res.body;
      expect(body).toMatch(/^jobs_created_total\{type="noop"\} \d+/m);
      expect(body).toMatch(/^jobs_finished_total\{type="noop",outcome="succeeded"\} \d+/m);
      expect(body).toMatch(/^job_attempts_total\{type="noop",outcome="succeeded"\} \d+/m);
      expect(body).toMatch(/^job_run_duration_seconds_bucket\{le="[^"]+",type="noop"\} \d+/m);
      expect(body).toMatch(/^job_queue_wait_seconds_bucket\{le="[^"]+",type="noop"\} \d+/m);
      expect(body).toMatch(/^jobs_finished_total\{type="test\.flaky",outcome="failed"\} \d+/m);
      const inState = /^jobs_in_state\{type="noop",status="succeeded"\} (\d+)$/m.exec(body);
      expect(Number(inState?.[1])).toBe(n);
      expect(n).toBeGreaterThanOrEqual(3);
      // Live states are never cached.
      expect(body).toContain(`jobs_in_state{type="noop",status="queued"} ${inDb('queued')}\n`);
      // This file ran exactly one sleep job, cancelled while running.
      expect(body).toMatch(/^jobs_finished_total\{type="sleep",outcome="cancelled"\} 1$/m);
      expect(body).toMatch(/^job_attempts_total\{type="sleep",outcome="cancelled"\} 1$/m);
    });

    it('job_queue_wait_seconds counts from creation for a job submitted with a past runAt', async () => {
      const user = await newUser(t.app, admin);
      const waited = async () => {
        const body = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
        return Number(/^job_queue_wait_seconds_sum\{type="noop"\} (\S+)$/m.exec(body)?.[1] ?? 0);
      };
      const before = await waited();
      const job = await submitJob(t.app, user, { type: 'noop', payload: {}, runAt: '2000-01-01T00:00:00Z' });
      expect((await waitForJob(t.app, user, job.id)).status).toBe('succeeded');
      // Counted from its runAt, this one job would add 26 years.
      expect(await waited()).toBeGreaterThanOrEqual(before);
      expect((await waited()) - before).toBeLessThan(60);
    });
  });

  it('after every action above, each job is in job_queue exactly while queued and in job_leases exactly while running', async () => {
    expect(await narrowTableDisagreements(db)).toEqual([]);
  });
});

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

interface Attempt {
  attempt: number;
  startedAt: string;
  finishedAt: string | null;
  outcome: string | null;
  error: { code: string; message: string } | null;
  workerId: string | null;
}

interface AuditRow {
  action: string;
  resource_type: string;
  resource_id: string;
  success: boolean;
  error_code: string | null;
  actor_id: string | null;
  request_id: string | null;
}

function expectProblem(res: Response, status: number, code?: string): void {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json()).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status,
    detail: expect.any(String),
    instance: expect.any(String),
    requestId: res.headers['x-request-id'],
    ...(code ? { code } : {}),
  });
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition still false after ${timeoutMs} ms`);
    await sleep(20);
  }
}
