import { randomInt } from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { DataSource } from 'typeorm';
import { loginAdmin, newUser, type Session } from '../support/auth';
import { submitJob, waitForJob } from '../support/jobs';
import { startTestApp, type TestApp } from '../support/test-app';

const MAX_BODY = 4096;
const BATCH_MAX = 3;
const MAX_RESULT = 1024;
const PER_MINUTE = 25;

// OWASP API4:2023. Every knob a caller turns to make the service work harder has a ceiling, and
// going over it is refused before any work is done. The http type's response cap is proven in
// api10-unsafe-consumption-of-apis; JOBS_BATCH_MAX at its default in test/jobs-submit.e2e-spec.ts.
describe('OWASP API4:2023 Unrestricted Resource Consumption', () => {
  let t: TestApp;
  let admin: Session;
  let user: Session & { id: string };
  const post = (
    url: string,
    session: Pick<Session, 'headers'>,
    payload: unknown,
    method: 'POST' | 'PATCH' = 'POST',
  ) => t.app.inject({ method, url, headers: session.headers, payload: payload as InjectOptions['payload'] });
  const countJobs = async () =>
    (await t.app.get(DataSource).query<{ n: number }[]>('SELECT count(*)::int AS n FROM jobs'))[0].n;
  const expectStatus = (res: LightMyRequestResponse, status: number, code?: string) => {
    expect(`${res.statusCode}`).toBe(`${status}`);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    if (code) expect(res.json<{ code: string }>().code).toBe(code);
  };

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        MAX_BODY_BYTES: String(MAX_BODY),
        JOBS_BATCH_MAX: String(BATCH_MAX),
        JOBS_MAX_RESULT_BYTES: String(MAX_RESULT),
        RATE_LIMIT_PER_MINUTE: String(PER_MINUTE),
      },
    });
    admin = await loginAdmin(t.app);
    user = await newUser(t.app, admin);
  });
  afterAll(() => t.close());

  it.each([
    ['POST /v1/jobs', '/v1/jobs', { type: 'noop', payload: { blob: 'x'.repeat(MAX_BODY) } }, 'POST'],
    [
      'POST /v1/jobs/batch',
      '/v1/jobs/batch',
      { jobs: [{ type: 'noop', payload: { b: 'x'.repeat(MAX_BODY) } }] },
      'POST',
    ],
    ['PATCH /v1/users/me', '/v1/users/me', { firstName: 'x'.repeat(MAX_BODY) }, 'PATCH'],
    [
      'POST /v1/auth/login (anonymous)',
      '/v1/auth/login',
      { email: 'a@test.local', password: 'x'.repeat(MAX_BODY) },
      'POST',
    ],
  ] as const)('%s with a body over MAX_BODY_BYTES → 413, nothing stored', async (_, url, body, method) => {
    const before = await countJobs();
    expectStatus(await post(url, user, body, method), 413, 'REQUEST.TOO_LARGE');
    expect(await countJobs()).toBe(before);
  });

  it('a body just under MAX_BODY_BYTES is served', async () => {
    const payload = { blob: 'x'.repeat(MAX_BODY - 200) };
    const res = await post('/v1/jobs', user, { type: 'noop', payload, delaySeconds: 3600 });
    expect(res.statusCode).toBe(202);
  });

  it('a batch over JOBS_BATCH_MAX → 400 naming jobs, and none of it is created', async () => {
    const before = await countJobs();
    const res = await post('/v1/jobs/batch', user, {
      jobs: Array.from({ length: BATCH_MAX + 1 }, () => ({ type: 'noop', payload: {} })),
    });
    expectStatus(res, 400);
    expect(res.json<{ errors: { field: string }[] }>().errors).toContainEqual(
      expect.objectContaining({ field: 'jobs' }),
    );
    expect(await countJobs()).toBe(before);
  });

  it.each(['/v1/jobs', '/v1/admin/users', '/v1/admin/audit-logs'])(
    '%s?limit=101 → 400; 100 is served',
    async (url) => {
      for (const limit of ['101', '1000000', '-1', '0', '1e3']) {
        const res = await t.app.inject({
          method: 'GET',
          url: `${url}?limit=${limit}`,
          headers: admin.headers,
        });
        expectStatus(res, 400);
      }
      const ok = await t.app.inject({ method: 'GET', url: `${url}?limit=100`, headers: admin.headers });
      expect(ok.statusCode).toBe(200);
    },
  );

  it.each([
    ['priority', { type: 'noop', payload: {}, priority: 11 }],
    ['maxAttempts', { type: 'noop', payload: {}, maxAttempts: 26 }],
    ['timeoutSeconds', { type: 'noop', payload: {}, timeoutSeconds: 3601 }],
    ['delaySeconds', { type: 'noop', payload: {}, delaySeconds: 31_536_001 }],
    ['backoff.maxSeconds', { type: 'noop', payload: {}, backoff: { baseSeconds: 1, maxSeconds: 604_801 } }],
    ['name', { type: 'noop', payload: {}, name: 'n'.repeat(201) }],
    ['type', { type: 't'.repeat(65), payload: {} }],
    ['idempotencyKey', { type: 'noop', payload: {}, idempotencyKey: 'k'.repeat(201) }],
    ['payload.ms', { type: 'sleep', payload: { ms: 1e12 } }],
    ['payload.timeoutMs', { type: 'http', payload: { url: 'https://example.com/', timeoutMs: 300_001 } }],
    ['payload.url', { type: 'http', payload: { url: `https://example.com/${'a'.repeat(2048)}` } }],
    [
      'payload.expectStatus',
      { type: 'http', payload: { url: 'https://example.com/', expectStatus: Array(21).fill(200) } },
    ],
  ])('a job asking for too much %s → 400, not created', async (field, body) => {
    const before = await countJobs();
    const res = await post('/v1/jobs', user, body);
    expectStatus(res, 400);
    expect(res.json<{ errors: { field: string }[] }>().errors).toContainEqual(
      expect.objectContaining({ field }),
    );
    expect(await countJobs()).toBe(before);
  });

  it('a result over JOBS_MAX_RESULT_BYTES fails the job at once (RESULT_TOO_LARGE) and stores no result', async () => {
    // noop returns its payload: a payload under the body limit but over the result limit.
    const job = await submitJob(t.app, user, {
      type: 'noop',
      payload: { blob: 'x'.repeat(MAX_RESULT) },
      maxAttempts: 5,
    });
    const done = await waitForJob(t.app, user, job.id);
    expect(done).toMatchObject({ status: 'failed', attempts: 1, lastError: { code: 'RESULT_TOO_LARGE' } });
    const res = await t.app.inject({
      method: 'GET',
      url: `/v1/jobs/${job.id}/result`,
      headers: user.headers,
    });
    expectStatus(res, 409, 'JOBS.NO_RESULT');
    const [row] = await t.app
      .get(DataSource)
      .query<{ result: unknown }[]>('SELECT result FROM jobs WHERE id = $1', [job.id]);
    expect(row.result).toBeNull();
  });

  it('RATE_LIMIT_PER_MINUTE per caller, one budget for all of /v1: then 429 with Retry-After; other callers carry on', async () => {
    const hog = await newUser(t.app, admin);
    // The hog's API key is made first: that request is the first of the hog's budget.
    const key = (await post('/v1/users/me/api-keys', hog, { name: 'k' })).json<{ key: string }>().key;
    const statuses: number[] = [];
    let limited: LightMyRequestResponse | undefined;
    for (let i = 1; i <= PER_MINUTE; i++) {
      const res = await t.app.inject({ method: 'GET', url: '/v1/jobs', headers: hog.headers });
      statuses.push(res.statusCode);
      limited = res;
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(PER_MINUTE - 1);
    expectStatus(limited!, 429, 'RATE_LIMITED');
    const retryAfter = Number(limited!.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // The budget is the caller's, not the route's: another route is refused as well.
    const elsewhere = await t.app.inject({ method: 'GET', url: '/v1/users/me', headers: hog.headers });
    expectStatus(elsewhere, 429, 'RATE_LIMITED');
    // Per caller, not per IP (CONTRACT §3): another user from the same address, the hog's own
    // API key, and anonymous callers are not affected.
    expect((await t.app.inject({ method: 'GET', url: '/v1/jobs', headers: user.headers })).statusCode).toBe(
      200,
    );
    const asKey = await t.app.inject({ method: 'GET', url: '/v1/jobs', headers: { 'x-api-key': key } });
    expect(asKey.statusCode).toBe(200);
    const ip = `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
    const anonymous = await t.app.inject({ method: 'GET', url: '/v1/jobs', remoteAddress: ip });
    expect(anonymous.statusCode).toBe(401);
  });

  it('garbage credentials are counted too: anonymous floods are limited per IP', async () => {
    const ip = `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
    const statuses = new Set<number>();
    for (let i = 0; i <= PER_MINUTE; i++) {
      const res = await t.app.inject({
        method: 'GET',
        url: '/v1/jobs',
        remoteAddress: ip,
        headers: { authorization: `Bearer garbage-${i}` },
      });
      statuses.add(res.statusCode);
    }
    expect([...statuses].sort()).toEqual([401, 429]);
  });
});
