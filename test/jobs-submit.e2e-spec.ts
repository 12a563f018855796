import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { DataSource } from 'typeorm';
import { loginAdmin, newUser, type Session } from './support/auth';
import { getJob, type JobJson, submitJob, waitForJob } from './support/jobs';
import { startTestApp, type TestApp } from './support/test-app';
import { observed, TestHandlersModule } from './support/test-handlers';

// CONTRACT §5 (POST /v1/jobs, POST /v1/jobs/batch, GET /v1/job-types) with §3's error conventions.

const ISO_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const JOB_KEYS = (
  'id type name status priority payload progress progressMessage attempts maxAttempts runAt ' +
  'timeoutSeconds idempotencyKey ownerId cancelRequested lastError createdAt updatedAt startedAt finishedAt'
).split(' ');

interface FieldProblem {
  status: number;
  code: string;
  errors?: { field: string; message: string }[];
}
interface JobType {
  type: string;
  payloadSchema: {
    properties?: Record<string, unknown>;
    required?: string[];
    additionalProperties?: unknown;
  };
  defaultTimeoutSeconds: number;
  defaultMaxAttempts: number;
}
type Caller = { headers: Record<string, string> };
type BatchItem =
  { index: number; job: JobJson } | { index: number; error: FieldProblem & { instance: string } };

function expectProblem(res: LightMyRequestResponse, status: number, field?: string | RegExp): FieldProblem {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json<FieldProblem>();
  expect(body).toMatchObject({ status, type: expect.any(String), title: expect.any(String) });
  if (field !== undefined) {
    const matcher = typeof field === 'string' ? field : expect.stringMatching(field);
    expect(body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: matcher })]));
  }
  return body;
}

describe('submitting jobs (CONTRACT §5)', () => {
  let t: TestApp;
  let admin: Session;
  let user: Session & { id: string };
  beforeAll(async () => {
    t = await startTestApp({ imports: [TestHandlersModule] });
    admin = await loginAdmin(t.app);
    user = await newUser(t.app, admin);
  });
  afterAll(() => t.close());

  const inject = (url: string, caller: Caller, payload: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url,
      headers: { ...caller.headers, ...headers },
      payload: payload as InjectOptions['payload'],
    });
  const post = (caller: Caller, payload: unknown, headers?: Record<string, string>) =>
    inject('/v1/jobs', caller, payload, headers);
  const postBatch = (caller: Caller, jobs: unknown, headers?: Record<string, string>) =>
    inject('/v1/jobs/batch', caller, { jobs }, headers);
  const query = <T>(sql: string, params: unknown[] = []) => t.app.get(DataSource).query<T[]>(sql, params);
  const countJobs = async (where = 'true', params: unknown[] = []) =>
    (await query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE ${where}`, params))[0].n;
  const jobTypes = async () =>
    (await t.app.inject({ method: 'GET', url: '/v1/job-types', headers: user.headers })).json<{
      items: JobType[];
    }>().items;

  describe('POST /v1/jobs', () => {
    it('answers 202 with Location and the whole job, defaults filled in', async () => {
      const sleepType = (await jobTypes()).find((type) => type.type === 'sleep') as JobType;
      const res = await post(user, { type: 'sleep', payload: { ms: 1 } });
      expect(res.statusCode).toBe(202);
      const job = res.json<JobJson>();
      expect(res.headers.location).toBe(`/v1/jobs/${job.id}`);
      expect(Object.keys(job).sort()).toEqual([...JOB_KEYS].sort());
      expect(job).toEqual({
        id: expect.stringMatching(UUID),
        type: 'sleep',
        name: null,
        status: 'queued',
        priority: 5,
        payload: { ms: 1 },
        progress: 0,
        progressMessage: null,
        attempts: 0,
        maxAttempts: 3,
        runAt: expect.stringMatching(ISO_MS_UTC),
        timeoutSeconds: sleepType.defaultTimeoutSeconds,
        idempotencyKey: null,
        ownerId: user.id,
        cancelRequested: false,
        lastError: null,
        createdAt: expect.stringMatching(ISO_MS_UTC),
        updatedAt: expect.stringMatching(ISO_MS_UTC),
        startedAt: null,
        finishedAt: null,
      });
      expect(Math.abs(Date.parse(job.runAt) - Date.parse(job.createdAt))).toBeLessThan(1000);
      const done = await waitForJob(t.app, user, job.id);
      expect(done.status).toBe('succeeded');
      expect(done.startedAt).toMatch(ISO_MS_UTC);
      expect(done.finishedAt).toMatch(ISO_MS_UTC);
    });

    it("takes the type's default maxAttempts and timeout, and the caller's overrides", async () => {
      const flaky = (await jobTypes()).find((type) => type.type === 'test.flaky') as JobType;
      expect(flaky.defaultMaxAttempts).toBe(5);
      const byDefault = await submitJob(t.app, user, { type: 'test.flaky', payload: { failTimes: 0 } });
      expect(byDefault).toMatchObject({
        maxAttempts: 5,
        timeoutSeconds: flaky.defaultTimeoutSeconds,
      });
      const custom = await submitJob(t.app, user, {
        type: 'noop',
        name: 'nightly',
        payload: { a: [1, { b: null }] },
        priority: 10,
        maxAttempts: 25,
        timeoutSeconds: 3600,
        backoff: { baseSeconds: 0.5, maxSeconds: 10 },
      });
      expect(custom).toMatchObject({
        name: 'nightly',
        payload: { a: [1, { b: null }] },
        priority: 10,
        maxAttempts: 25,
        timeoutSeconds: 3600,
      });
    });

    it('takes a backoff with one field, the other at its default (1 s base, 3600 s cap)', async () => {
      const db = t.app.get(DataSource);
      const stored = async (id: string) =>
        (
          await db.query<{ base: number; max: number }[]>(
            'SELECT backoff_base_seconds AS base, backoff_max_seconds AS max FROM jobs WHERE id = $1',
            [id],
          )
        )[0];
      const baseOnly = await submitJob(t.app, user, {
        type: 'noop',
        payload: {},
        backoff: { baseSeconds: 2 },
      });
      expect(await stored(baseOnly.id)).toEqual({ base: 2, max: 3600 });
      const capOnly = await submitJob(t.app, user, {
        type: 'noop',
        payload: {},
        backoff: { maxSeconds: 30 },
      });
      expect(await stored(capOnly.id)).toEqual({ base: 1, max: 30 });
      // The default base against a cap below it: refused as if both were given.
      const before = await countJobs();
      const problem = expectProblem(
        await post(user, { type: 'noop', payload: {}, backoff: { maxSeconds: 0.5 } }),
        400,
      );
      expect(problem.errors).toEqual([
        { field: 'backoff.baseSeconds', message: 'baseSeconds must not exceed maxSeconds' },
      ]);
      expect(await countJobs()).toBe(before);
    });

    it.each([
      ['an omitted payload', { type: 'noop' }],
      ['payload: null', { type: 'noop', payload: null }],
    ])('refuses %s with 400 naming payload (it is required), and creates nothing', async (_, body) => {
      const before = await countJobs();
      const problem = expectProblem(await post(user, body), 400);
      expect(problem.errors).toEqual([{ field: 'payload', message: 'payload must be an object' }]);
      expect(await countJobs()).toBe(before);
    });

    it('takes an empty payload for a type that needs none', async () => {
      const job = await submitJob(t.app, user, { type: 'noop', payload: {} });
      expect(job.payload).toEqual({});
      expect((await getJob(t.app, user, job.id)).payload).toEqual({});
    });

    const invalid: [string, Record<string, unknown>, string | RegExp][] = [
      ['no type', { payload: {} }, 'type'],
      ['an unknown type', { type: 'no-such-type', payload: {} }, 'type'],
      ['a sleep payload without ms', { type: 'sleep', payload: {} }, 'payload.ms'],
      ['a sleep payload with ms "x"', { type: 'sleep', payload: { ms: 'x' } }, 'payload.ms'],
      ['an extra payload field', { type: 'sleep', payload: { ms: 1, extra: true } }, /^payload\.extra$/],
      ['priority 0', { type: 'noop', payload: {}, priority: 0 }, 'priority'],
      ['priority 11', { type: 'noop', payload: {}, priority: 11 }, 'priority'],
      ['priority 2.5', { type: 'noop', payload: {}, priority: 2.5 }, 'priority'],
      ['maxAttempts 0', { type: 'noop', payload: {}, maxAttempts: 0 }, 'maxAttempts'],
      ['maxAttempts 26', { type: 'noop', payload: {}, maxAttempts: 26 }, 'maxAttempts'],
      ['timeoutSeconds 0', { type: 'noop', payload: {}, timeoutSeconds: 0 }, 'timeoutSeconds'],
      ['timeoutSeconds 3601', { type: 'noop', payload: {}, timeoutSeconds: 3601 }, 'timeoutSeconds'],
      ['runAt not ISO 8601', { type: 'noop', payload: {}, runAt: 'tomorrow' }, 'runAt'],
      [
        'runAt and delaySeconds together',
        { type: 'noop', payload: {}, runAt: new Date(Date.now() + 60_000).toISOString(), delaySeconds: 5 },
        /^(runAt|delaySeconds)$/,
      ],
      ['delaySeconds -1', { type: 'noop', payload: {}, delaySeconds: -1 }, 'delaySeconds'],
      ['an unknown top-level field', { type: 'noop', payload: {}, colour: 'red' }, 'colour'],
      [
        'backoff.baseSeconds > maxSeconds',
        { type: 'noop', payload: {}, backoff: { baseSeconds: 10, maxSeconds: 5 } },
        /^backoff\./,
      ],
      [
        'backoff.baseSeconds 0',
        { type: 'noop', payload: {}, backoff: { baseSeconds: 0, maxSeconds: 5 } },
        'backoff.baseSeconds',
      ],
      ['an array payload', { type: 'noop', payload: [1, 2] }, 'payload'],
      ['a string payload', { type: 'noop', payload: 'hello' }, 'payload'],
      ['a name over 200 characters', { type: 'noop', payload: {}, name: 'n'.repeat(201) }, 'name'],
    ];
    it.each(invalid)('refuses %s with 400 naming the field, and creates nothing', async (_, body, field) => {
      const before = await countJobs();
      expectProblem(await post(user, body), 400, field);
      expect(await countJobs()).toBe(before);
    });

    it.each([
      ['201 characters', 'k'.repeat(201)],
      ['a space', 'two words'],
    ])('refuses an Idempotency-Key header with %s (400), and creates nothing', async (_, key) => {
      const before = await countJobs();
      expectProblem(
        await post(user, { type: 'noop', payload: {} }, { 'idempotency-key': key }),
        400,
        'Idempotency-Key',
      );
      expect(await countJobs()).toBe(before);
    });
  });

  describe('runAt and delaySeconds', () => {
    it('a job due later stays queued while the worker runs due jobs', async () => {
      const later = new Date(Date.now() + 3_600_000);
      const atLater = await submitJob(t.app, user, {
        type: 'test.counting',
        payload: {},
        runAt: later.toISOString().replace('Z', '+00:00'),
      });
      expect(atLater.runAt).toBe(later.toISOString());
      const delayed = await submitJob(t.app, user, {
        type: 'test.counting',
        payload: {},
        delaySeconds: 3600,
      });
      expect(Date.parse(delayed.runAt) - Date.parse(delayed.createdAt)).toBeGreaterThan(3_590_000);
      // A job submitted afterwards and due now proves the worker has claimed since.
      const now = await submitJob(t.app, user, { type: 'test.counting', payload: {} });
      expect((await waitForJob(t.app, user, now.id)).status).toBe('succeeded');
      await sleep(300);
      for (const job of [atLater, delayed]) {
        expect(await getJob(t.app, user, job.id)).toMatchObject({
          status: 'queued',
          attempts: 0,
          startedAt: null,
        });
        expect(observed.invocations.get(job.id)).toBeUndefined();
      }
    });

    it('a runAt with an offset is stored as the same instant in UTC', async () => {
      const job = await submitJob(t.app, user, {
        type: 'noop',
        payload: {},
        runAt: '2099-06-01T12:00:00+02:00',
      });
      expect(job.runAt).toBe('2099-06-01T10:00:00.000Z');
    });

    it('a runAt already past is stored as now, so it cannot jump older jobs of its priority', async () => {
      const job = await submitJob(t.app, user, { type: 'noop', payload: {}, runAt: '1970-01-01T00:00:00Z' });
      expect(Math.abs(Date.parse(job.runAt) - Date.parse(job.createdAt))).toBeLessThan(1000);
      const stored = await query<{ late: boolean }>(
        "SELECT run_at < created_at - interval '1 second' AS late FROM jobs WHERE id = $1",
        [job.id],
      );
      expect(stored).toEqual([{ late: false }]);
    });

    it('an explicit runAt: null is refused or means now, never the epoch', async () => {
      const res = await post(user, { type: 'noop', payload: {}, runAt: null });
      if (res.statusCode === 400) return void expectProblem(res, 400, 'runAt');
      expect(res.statusCode).toBe(202);
      const job = res.json<JobJson>();
      expect(Math.abs(Date.parse(job.runAt) - Date.parse(job.createdAt))).toBeLessThan(1000);
    });

    it('delaySeconds: 2 runs the job after about 2 s, not before', async () => {
      const job = await submitJob(t.app, user, { type: 'test.counting', payload: {}, delaySeconds: 2 });
      const delay = Date.parse(job.runAt) - Date.parse(job.createdAt);
      expect(delay).toBeGreaterThan(1500);
      expect(delay).toBeLessThan(3000);
      await sleep(1000);
      expect(observed.invocations.get(job.id)).toBeUndefined();
      expect((await getJob(t.app, user, job.id)).status).toBe('queued');
      const done = await waitForJob(t.app, user, job.id, undefined, 6000);
      expect(done.status).toBe('succeeded');
      expect(observed.invocations.get(job.id)).toBe(1);
      expect(Date.parse(done.startedAt as string)).toBeGreaterThanOrEqual(Date.parse(job.runAt));
    });
  });

  describe('idempotency (owner-scoped)', () => {
    const rowsFor = (ownerId: string, key: string) =>
      countJobs('owner_id = $1 AND idempotency_key = $2', [ownerId, key]);

    it('Idempotency-Key header: same body → 200 with the original, another body → 409', async () => {
      const caller = await newUser(t.app, admin);
      const key = `k-${randomUUID()}`;
      const body = { type: 'sleep', payload: { ms: 5 }, priority: 7 };
      const first = await post(caller, body, { 'idempotency-key': key });
      expect(first.statusCode).toBe(202);
      const job = first.json<JobJson>();
      expect(job.idempotencyKey).toBe(key);
      const before = await countJobs();

      const again = await post(caller, body, { 'idempotency-key': key });
      expect(again.statusCode).toBe(200);
      expect(again.json<JobJson>().id).toBe(job.id);
      expect(again.headers.location).toBe(`/v1/jobs/${job.id}`);
      // The body field names the same key as the header.
      const asField = await post(caller, { ...body, idempotencyKey: key });
      expect(asField.statusCode).toBe(200);
      expect(asField.json<JobJson>().id).toBe(job.id);

      const other = await post(caller, { ...body, priority: 8 }, { 'idempotency-key': key });
      expect(expectProblem(other, 409).code).toBe('JOBS.IDEMPOTENCY_CONFLICT');
      expect(await countJobs()).toBe(before);
      expect(await rowsFor(caller.id, key)).toBe(1);
    });

    it('idempotencyKey body field: same body → 200, another body → 409', async () => {
      const caller = await newUser(t.app, admin);
      const body = { type: 'noop', payload: { n: 1 }, idempotencyKey: `k-${randomUUID()}` };
      const job = await submitJob(t.app, caller, body);
      const before = await countJobs();
      const again = await post(caller, body);
      expect(again.statusCode).toBe(200);
      expect(again.json<JobJson>().id).toBe(job.id);
      expectProblem(await post(caller, { ...body, payload: { n: 2 } }), 409);
      expect(await countJobs()).toBe(before);
    });

    it('a header and a body key that differ → 400, nothing created', async () => {
      const before = await countJobs();
      const res = await post(
        user,
        { type: 'noop', payload: {}, idempotencyKey: 'body-key' },
        { 'idempotency-key': 'header-key' },
      );
      expectProblem(res, 400, /idempotency/i);
      expect(await countJobs()).toBe(before);
    });

    it("another user's identical key makes a separate job", async () => {
      const [a, b] = [await newUser(t.app, admin), await newUser(t.app, admin)];
      const key = `shared-${randomUUID()}`;
      const first = await submitJob(t.app, a, { type: 'noop', payload: {} }, { 'idempotency-key': key });
      const second = await post(b, { type: 'noop', payload: {} }, { 'idempotency-key': key });
      expect(second.statusCode).toBe(202);
      expect(second.json<JobJson>()).toMatchObject({ ownerId: b.id, idempotencyKey: key });
      expect(second.json<JobJson>().id).not.toBe(first.id);
    });

    it('key order in the body does not matter', async () => {
      const key = `order-${randomUUID()}`;
      const job = await submitJob(
        t.app,
        user,
        {
          type: 'sleep',
          priority: 3,
          payload: { ms: 1, steps: 1 },
          backoff: { baseSeconds: 1, maxSeconds: 9 },
        },
        { 'idempotency-key': key },
      );
      const again = await post(
        user,
        {
          backoff: { maxSeconds: 9, baseSeconds: 1 },
          payload: { steps: 1, ms: 1 },
          priority: 3,
          type: 'sleep',
        },
        { 'idempotency-key': key },
      );
      expect(again.statusCode).toBe(200);
      expect(again.json<JobJson>().id).toBe(job.id);
    });

    it('20 concurrent identical requests make exactly one job and one audit row', async () => {
      const caller = await newUser(t.app, admin);
      const key = `race-${randomUUID()}`;
      const responses = await Promise.all(
        Array.from({ length: 20 }, () =>
          post(caller, { type: 'noop', payload: { race: true } }, { 'idempotency-key': key }),
        ),
      );
      const statuses = responses.map((res) => res.statusCode).sort((a, b) => a - b);
      expect(statuses).toEqual([...Array<number>(19).fill(200), 202]);
      const ids = new Set(responses.map((res) => res.json<JobJson>().id));
      expect(ids.size).toBe(1);
      const [id] = [...ids];
      expect(await rowsFor(caller.id, key)).toBe(1);
      const audit = await query<{ n: number }>(
        "SELECT count(*)::int AS n FROM audit_logs WHERE action = 'job.created' AND resource_id = $1",
        [id],
      );
      expect(audit[0].n).toBe(1);
    });
  });

  describe('POST /v1/jobs/batch', () => {
    it('creates the valid items, reports each invalid one, in index order, with one audit row', async () => {
      const caller = await newUser(t.app, admin);
      const key = `b-${randomUUID()}`;
      const original = await submitJob(
        t.app,
        caller,
        { type: 'noop', payload: { v: 1 } },
        { 'idempotency-key': key },
      );
      const before = await countJobs();
      const requestId = `batch-${randomUUID()}`;
      const res = await postBatch(
        caller,
        [
          { type: 'noop', payload: { a: 1 } },
          { type: 'no-such-type', payload: {} },
          { type: 'sleep', payload: { ms: 1 }, priority: 9 },
          { type: 'sleep', payload: {} },
          { type: 'noop', payload: {}, bogus: 1 },
          { type: 'noop', payload: { v: 1 }, idempotencyKey: key },
          { type: 'noop', payload: { v: 2 }, idempotencyKey: key },
          { type: 'noop', payload: {}, priority: 11 },
          { type: 'noop', name: 'no payload' },
          { type: 'noop', payload: {}, name: 'after' },
        ],
        { 'x-request-id': requestId },
      );
      expect(res.statusCode).toBe(202);
      const { results } = res.json<{ results: BatchItem[] }>();
      expect(results.map((item) => item.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const fieldOf = (i: number) => {
        const item = results[i];
        if (!('error' in item)) throw new Error(`item ${i} has no error`);
        expect(item.error).toMatchObject({
          status: 400,
          type: expect.any(String),
          title: expect.any(String),
          instance: '/v1/jobs/batch',
        });
        return item.error.errors?.map((e) => e.field);
      };
      expect(fieldOf(1)).toContain('type');
      expect(fieldOf(3)).toContain('payload.ms');
      expect(fieldOf(4)).toContain('bogus');
      expect(fieldOf(7)).toContain('priority');
      expect(fieldOf(8)).toEqual(['payload']);
      expect(results[6]).toMatchObject({ error: { status: 409, code: 'JOBS.IDEMPOTENCY_CONFLICT' } });
      expect(results[5]).toMatchObject({ job: { id: original.id } });
      expect(results[0]).toMatchObject({ job: { type: 'noop', payload: { a: 1 }, ownerId: caller.id } });
      expect(results[2]).toMatchObject({ job: { type: 'sleep', priority: 9, status: 'queued' } });
      expect(results[9]).toMatchObject({ job: { type: 'noop', name: 'after', payload: {} } });

      const created = [results[0], results[2], results[9]].map((item) => ('job' in item ? item.job.id : ''));
      expect(await countJobs('id = ANY($1::uuid[])', [created])).toBe(3);
      expect(await countJobs()).toBe(before + 3);
      // The service writes one row for a multi-job insert: no resource id, the new ids in changes
      // (and one failed row for the refused items: test/audit-events).
      const audit = await query<{ resource_id: string | null; changes: { jobIds: { after: string[] } } }>(
        "SELECT resource_id, changes FROM audit_logs WHERE action = 'job.created' AND success AND request_id = $1",
        [requestId],
      );
      expect(audit).toHaveLength(1);
      expect(audit[0].resource_id).toBeNull();
      expect([...audit[0].changes.jobIds.after].sort()).toEqual([...created].sort());
    });

    it('answers each job exactly as it reads back (the batch answer is built, not read)', async () => {
      // Paused, so that no worker moves a job on between the answer and the read.
      const queue = (type: string, what: 'pause' | 'resume') =>
        t.app.inject({ method: 'POST', url: `/v1/admin/queues/${type}/${what}`, headers: admin.headers });
      for (const type of ['noop', 'sleep']) expect((await queue(type, 'pause')).statusCode).toBe(200);
      const runAt = new Date(Date.now() + 3_600_000).toISOString();
      const res = await postBatch(user, [
        { type: 'noop', payload: {} },
        { type: 'noop', payload: { b: [1, 'x'], a: { c: null } }, name: 'n', priority: 2, runAt },
        { type: 'sleep', payload: { ms: 5 }, delaySeconds: 30, maxAttempts: 7, timeoutSeconds: 9 },
        {
          type: 'noop',
          payload: {},
          idempotencyKey: `k-${randomUUID()}`,
          backoff: { baseSeconds: 2, maxSeconds: 5 },
        },
        // What an array literal must quote (the batch's columns travel as array literals).
        { type: 'noop', name: 'NULL', payload: { s: 'a"b\\c,{d}', t: ' NULL ', u: 'é☃' } },
        { type: 'noop', payload: {}, name: '"{,}\\"', idempotencyKey: 'NULL' },
      ]);
      expect(res.statusCode).toBe(202);
      for (const item of res.json<{ results: BatchItem[] }>().results) {
        if (!('job' in item)) throw new Error(`item ${item.index} refused`);
        expect(item.job).toEqual(await getJob(t.app, user, item.job.id));
      }
      for (const type of ['noop', 'sleep']) expect((await queue(type, 'resume')).statusCode).toBe(200);
    });

    it('refuses an empty batch with 400', async () => {
      const before = await countJobs();
      expectProblem(await postBatch(user, []), 400, 'jobs');
      expect(await countJobs()).toBe(before);
    });

    it('refuses an Idempotency-Key header with 400: a retried batch would not be idempotent', async () => {
      const before = await countJobs();
      const jobs = [{ type: 'noop', payload: {} }];
      expectProblem(
        await postBatch(user, jobs, { 'idempotency-key': `h-${randomUUID()}` }),
        400,
        'Idempotency-Key',
      );
      expect(await countJobs()).toBe(before);
    });

    it('accepts 1000 noop jobs and stores them all', async () => {
      const res = await postBatch(
        user,
        Array.from({ length: 1000 }, (_, i) => ({ type: 'noop', payload: { i } })),
      );
      expect(res.statusCode).toBe(202);
      const { results } = res.json<{ results: BatchItem[] }>();
      expect(results).toHaveLength(1000);
      expect(results.every((item, i) => item.index === i && 'job' in item)).toBe(true);
      const ids = results.map((item) => ('job' in item ? item.job.id : ''));
      expect(await countJobs('id = ANY($1::uuid[])', [ids])).toBe(1000);
    });

    // A full batch goes in as several statements (JobsService.insertMany): still one transaction,
    // and idempotency keys hold across its statements.
    it('resolves an idempotency key repeated across the statements of one batch', async () => {
      const caller = await newUser(t.app, admin);
      const key = `x-${randomUUID()}`;
      const items: object[] = Array.from({ length: 900 }, (_, i) => ({ type: 'noop', payload: { i } }));
      items[10] = { type: 'noop', payload: { same: true }, idempotencyKey: key };
      items[600] = { type: 'noop', payload: { same: true }, idempotencyKey: key };
      items[800] = { type: 'noop', payload: { same: false }, idempotencyKey: key };
      const res = await postBatch(caller, items);
      expect(res.statusCode).toBe(202);
      const { results } = res.json<{ results: BatchItem[] }>();
      const first = results[10];
      if (!('job' in first)) throw new Error('item 10 refused');
      expect(results[600]).toEqual({ index: 600, job: first.job });
      expect(results[800]).toMatchObject({ error: { status: 409, code: 'JOBS.IDEMPOTENCY_CONFLICT' } });
      expect(await countJobs('owner_id = $1', [caller.id])).toBe(898);
    });

    it('stores nothing of a batch whose last statement fails', async () => {
      const caller = await newUser(t.app, admin);
      // A constraint only item 650 breaks: the statements before its own went in, and the
      // transaction must take them back with it.
      const items = Array.from({ length: 700 }, () => ({ type: 'noop', payload: {} }));
      await query('ALTER TABLE jobs ADD CONSTRAINT "CHK_test_batch" CHECK (priority <> 3) NOT VALID');
      try {
        (items[650] as { priority?: number }).priority = 3;
        const res = await postBatch(caller, items);
        expect(res.statusCode).toBe(500);
        expect(await countJobs('owner_id = $1', [caller.id])).toBe(0);
      } finally {
        await query('ALTER TABLE jobs DROP CONSTRAINT "CHK_test_batch"');
      }
    });
  });

  describe('GET /v1/job-types', () => {
    it('lists the built-in and test types with their payload schema and defaults', async () => {
      const types = await jobTypes();
      expect(types.map((type) => type.type)).toEqual(
        expect.arrayContaining(['noop', 'sleep', 'test.counting', 'test.flaky']),
      );
      for (const type of types) {
        expect(type).toMatchObject({
          payloadSchema: expect.objectContaining({ type: 'object' }),
          defaultTimeoutSeconds: expect.any(Number),
          defaultMaxAttempts: expect.any(Number),
        });
      }
      const sleepType = types.find((type) => type.type === 'sleep') as JobType;
      expect(sleepType.payloadSchema.properties).toHaveProperty('ms');
      expect(sleepType.payloadSchema.required).toContain('ms');
      // What the schema says about unknown fields is what submit does with them.
      expect(sleepType.payloadSchema.additionalProperties).toBe(false);
      const extra = expectProblem(await post(user, { type: 'sleep', payload: { ms: 1, zzz: 1 } }), 400);
      expect(extra.errors).toEqual([expect.objectContaining({ field: 'payload.zzz' })]);
      const noop = types.find((type) => type.type === 'noop') as JobType;
      expect(noop.payloadSchema).toEqual({ type: 'object' });
    });

    it('needs authentication', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/v1/job-types' });
      expectProblem(res, 401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
    });
  });

  describe('authentication', () => {
    it('refuses an unauthenticated submission with 401 and WWW-Authenticate: Bearer', async () => {
      const before = await countJobs();
      for (const headers of [{}, { authorization: 'Bearer not-a-token' }] as Record<string, string>[]) {
        const res = await post({ headers }, { type: 'noop', payload: {} });
        expectProblem(res, 401);
        expect(res.headers['www-authenticate']).toBe('Bearer');
      }
      expect(await countJobs()).toBe(before);
    });

    it("accepts an API key, owned by the key's owner", async () => {
      const owner = await newUser(t.app, admin);
      const created = await t.app.inject({
        method: 'POST',
        url: '/v1/users/me/api-keys',
        headers: owner.headers,
        payload: { name: 'submitter' },
      });
      expect(created.statusCode).toBe(201);
      const { key } = created.json<{ key: string }>();
      const res = await post({ headers: { 'x-api-key': key } }, { type: 'noop', payload: {} });
      expect(res.statusCode).toBe(202);
      expect(res.json<JobJson>().ownerId).toBe(owner.id);
    });
  });
});

describe('batch size limit (JOBS_BATCH_MAX)', () => {
  let t: TestApp;
  let user: Session;
  beforeAll(async () => {
    t = await startTestApp({ env: { JOBS_BATCH_MAX: '5' } });
    user = await newUser(t.app, await loginAdmin(t.app));
  });
  afterAll(() => t.close());

  const batch = (n: number) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/jobs/batch',
      headers: user.headers,
      payload: { jobs: Array.from({ length: n }, () => ({ type: 'noop', payload: {} })) },
    });
  const countJobs = async () =>
    (await t.app.get(DataSource).query<{ n: number }[]>('SELECT count(*)::int AS n FROM jobs'))[0].n;

  it('refuses 6 jobs with 400 and creates none, accepts 5', async () => {
    const over = await batch(6);
    expectProblem(over, 400, 'jobs');
    expect(await countJobs()).toBe(0);
    expect((await batch(5)).statusCode).toBe(202);
    expect(await countJobs()).toBe(5);
  });
});
