import { randomUUID } from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { DataSource } from 'typeorm';
import { loginAdmin, newUser, type Session } from '../support/auth';
import { submitJob, waitForJob } from '../support/jobs';
import { startTestApp, type TestApp } from '../support/test-app';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
const keys = (...names: string[]) => names.sort();

// The exact keys each response may carry (CONTRACT §4, §5, §6). A new column that leaks into a
// response (a hash, a lease token, a request hash, the session version) fails here.
const USER = keys(
  'id',
  'email',
  'role',
  'firstName',
  'lastName',
  'phone',
  'disabled',
  'createdAt',
  'updatedAt',
);
const API_KEY = keys('id', 'name', 'prefix', 'createdAt', 'expiresAt');
const JOB = keys(
  ...'id type name status priority payload progress progressMessage attempts maxAttempts runAt'.split(' '),
  ...'timeoutSeconds idempotencyKey ownerId cancelRequested lastError createdAt updatedAt'.split(' '),
  'startedAt',
  'finishedAt',
);
const ATTEMPT = keys('attempt', 'startedAt', 'finishedAt', 'outcome', 'error', 'workerId');
const AUDIT = keys(
  ...'id at actorType actorId action resourceType resourceId success errorCode ip userAgent'.split(' '),
  'requestId',
  'changes',
);
const PROBLEM = keys('type', 'title', 'status', 'detail', 'instance', 'requestId', 'code');

// OWASP API3:2023. Mass assignment: every write DTO refuses fields the caller may not set (400,
// unknown field, nothing written); test/users.e2e-spec.ts covers role/disabled/email on
// PATCH /v1/users/me. Excessive exposure: every read answers exactly its allow-listed keys.
describe('OWASP API3:2023 Broken Object Property Level Authorization', () => {
  let t: TestApp;
  let db: DataSource;
  let admin: Session;
  let user: Awaited<ReturnType<typeof newUser>>;

  const call = (
    method: Method,
    url: string,
    session: { headers: Record<string, string> },
    payload?: unknown,
  ) => t.app.inject({ method, url, headers: session.headers, payload: payload as InjectOptions['payload'] });
  const snapshot = () =>
    Promise.all([
      // Not status or attempts: jobs made by earlier tests may still be running.
      db.query('SELECT id, owner_id, priority, type, payload FROM jobs ORDER BY id'),
      db.query('SELECT * FROM users ORDER BY id'),
      db.query('SELECT * FROM api_keys ORDER BY id'),
      db.query('SELECT id, revoked_at, rotated_at FROM refresh_tokens ORDER BY id'),
    ]);
  const expectUnknownField = (res: LightMyRequestResponse, field: string) => {
    expect(`${res.statusCode} ${res.body}`).toMatch(/^400 /);
    expect(res.json()).toMatchObject({
      // A job payload is checked against its type's schema after the DTO (JOBS.INVALID).
      code: expect.stringMatching(/^(REQUEST\.VALIDATION_FAILED|JOBS\.INVALID)$/),
      errors: expect.arrayContaining([{ field, message: expect.stringContaining('should not exist') }]),
    });
  };

  beforeAll(async () => {
    t = await startTestApp();
    db = t.app.get(DataSource);
    admin = await loginAdmin(t.app);
    user = await newUser(t.app, admin);
  });
  afterAll(() => t.close());

  describe('mass assignment', () => {
    const jobFields: [string, unknown][] = [
      ['id', randomUUID()],
      ['ownerId', randomUUID()],
      ['status', 'succeeded'],
      ['attempts', 0],
      ['result', { forged: true }],
      ['createdAt', '2000-01-01T00:00:00.000Z'],
      ['finishedAt', '2000-01-01T00:00:00.000Z'],
      ['cancelRequested', true],
      ['leaseToken', '1'],
      ['workerId', 'mine'],
      ['progress', 100],
      ['lastError', null],
      ['requestHash', 'x'],
      ['role', 'admin'],
    ];

    it.each(jobFields)('POST /v1/jobs with %s → 400, no job', async (field, value) => {
      const before = await snapshot();
      expectUnknownField(
        await call('POST', '/v1/jobs', user, { type: 'noop', payload: {}, [field]: value }),
        field,
      );
      expect(await snapshot()).toEqual(before);
    });

    it('POST /v1/jobs/batch: an item with ownerId or status is refused on its own, the rest go in', async () => {
      const res = await call('POST', '/v1/jobs/batch', user, {
        jobs: [
          { type: 'noop', payload: {}, ownerId: randomUUID() },
          { type: 'noop', payload: {}, status: 'failed' },
          { type: 'noop', payload: {} },
        ],
      });
      expect(res.statusCode).toBe(202);
      const results = res.json<{ results: { index: number; job?: { ownerId: string }; error?: object }[] }>()
        .results;
      expect(results[0].error).toMatchObject({ status: 400, errors: [{ field: 'ownerId' }] });
      expect(results[1].error).toMatchObject({ status: 400, errors: [{ field: 'status' }] });
      expect(results[2].job?.ownerId).toBe(user.id);
      const rows = await db.query<{ n: number }[]>(
        'SELECT count(*)::int AS n FROM jobs WHERE owner_id = $1',
        [user.id],
      );
      expect(rows[0].n).toBe(1);
    });

    it.each([
      ['backoff.extra', { type: 'noop', payload: {}, backoff: { baseSeconds: 1, maxSeconds: 2, extra: 1 } }],
      [
        'payload.allowPrivate',
        { type: 'http', payload: { url: 'https://example.com/', allowPrivate: true } },
      ],
      ['payload.steps2', { type: 'sleep', payload: { ms: 1, steps2: 1 } }],
    ])('nested unknown fields are refused too (%s)', async (field, body) => {
      const before = await snapshot();
      expectUnknownField(await call('POST', '/v1/jobs', user, body), field);
      expect(await snapshot()).toEqual(before);
    });

    it.each([
      ['PATCH', '/v1/users/me', { passwordHash: 'x' }, 'passwordHash'],
      ['PATCH', '/v1/users/me', { sessionVersion: 0 }, 'sessionVersion'],
      ['PATCH', '/v1/users/me', { id: randomUUID() }, 'id'],
      ['PATCH', '/v1/users/me', { createdAt: '2000-01-01T00:00:00Z' }, 'createdAt'],
      [
        'POST',
        '/v1/users/me/password',
        { currentPassword: 'x', newPassword: 'y'.repeat(12), role: 'admin' },
        'role',
      ],
      ['POST', '/v1/users/me/api-keys', { name: 'k', userId: randomUUID() }, 'userId'],
      ['POST', '/v1/users/me/api-keys', { name: 'k', key: 'jsk_mine' }, 'key'],
      ['POST', '/v1/users/me/api-keys', { name: 'k', keyHash: 'a'.repeat(64) }, 'keyHash'],
      ['POST', '/v1/users/me/api-keys', { name: 'k', prefix: 'jsk_x' }, 'prefix'],
      ['POST', '/v1/users/me/api-keys', { name: 'k', revokedAt: null }, 'revokedAt'],
    ] as const)('%s %s with %j → 400, nothing written', async (method, url, body, field) => {
      const before = await snapshot();
      expectUnknownField(await call(method, url, user, body), field);
      expect(await snapshot()).toEqual(before);
    });

    it.each([
      ['disabled', true],
      ['id', randomUUID()],
      ['passwordHash', '$2b$04$abcdefghijklmnopqrstuv'],
      ['sessionVersion', 7],
      ['createdAt', '2000-01-01T00:00:00Z'],
    ])('admin POST /v1/admin/users with %s → 400, no user', async (field, value) => {
      const before = await snapshot();
      const email = `new-${randomUUID()}@test.local`;
      const body = { email, password: 'long-enough-password', role: 'user', [field]: value };
      expectUnknownField(await call('POST', '/v1/admin/users', admin, body), field);
      expect(await snapshot()).toEqual(before);
    });

    it.each([
      ['email', 'taken@test.local'],
      ['password', 'another-long-password'],
      ['passwordHash', 'x'],
      ['id', randomUUID()],
      ['phone', '+1 555 0100 00'],
    ])('admin PATCH /v1/admin/users/:id with %s → 400, unchanged', async (field, value) => {
      const before = await snapshot();
      expectUnknownField(await call('PATCH', `/v1/admin/users/${user.id}`, admin, { [field]: value }), field);
      expect(await snapshot()).toEqual(before);
    });

    it.each([
      ['/v1/auth/login', { email: 'a@test.local', password: 'x', mfa: false }, 'mfa'],
      ['/v1/auth/refresh', { refreshToken: 'x', userId: randomUUID() }, 'userId'],
      ['/v1/auth/logout', { refreshToken: 'x', all: true }, 'all'],
    ])('POST %s with an extra field → 400', async (url, body, field) => {
      const res = await t.app.inject({ method: 'POST', url, payload: body });
      expectUnknownField(res, field);
      expect(res.body).not.toContain('accessToken');
    });

    it.each([
      '{"type":"noop","__proto__":{"ownerId":"00000000-0000-4000-8000-000000000000"}}',
      '{"type":"noop","payload":{"constructor":{"prototype":{"role":"admin"}}}}',
    ])('prototype pollution %s → 400, nothing written', async (raw) => {
      const before = await snapshot();
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/jobs',
        headers: { ...user.headers, 'content-type': 'application/json' },
        payload: raw,
      });
      expect(res.statusCode).toBe(400);
      expect(await snapshot()).toEqual(before);
      expect(({} as Record<string, unknown>).ownerId).toBeUndefined();
    });
  });

  describe('exposure: every read answers exactly its allow-listed keys', () => {
    const keysOf = (value: unknown) => Object.keys(value as object).sort();

    it('users, API keys and tokens', async () => {
      const login = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: user.email, password: user.password },
      });
      expect(keysOf(login.json())).toEqual(keys('accessToken', 'refreshToken', 'tokenType', 'expiresIn'));
      const refreshed = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        payload: { refreshToken: login.json<{ refreshToken: string }>().refreshToken },
      });
      expect(keysOf(refreshed.json())).toEqual(keys('accessToken', 'refreshToken', 'tokenType', 'expiresIn'));

      const created = await call('POST', '/v1/admin/users', admin, {
        email: `x-${randomUUID()}@test.local`,
        password: 'long-enough-password',
        role: 'user',
      });
      const id = created.json<{ id: string }>().id;
      const users = [
        created.json(),
        (await call('GET', '/v1/users/me', user)).json(),
        (await call('PATCH', '/v1/users/me', user, { firstName: 'Ada' })).json(),
        (await call('GET', `/v1/admin/users/${id}`, admin)).json(),
        (await call('PATCH', `/v1/admin/users/${id}`, admin, { lastName: 'L' })).json(),
        ...(await call('GET', '/v1/admin/users?limit=100', admin)).json<{ items: unknown[] }>().items,
      ];
      for (const one of users) expect(keysOf(one)).toEqual(USER);
      expect(keysOf((await call('GET', '/v1/admin/users', admin)).json())).toEqual(
        keys('items', 'nextCursor'),
      );

      const key = await call('POST', '/v1/users/me/api-keys', user, { name: 'ci' });
      expect(keysOf(key.json())).toEqual(keys(...API_KEY, 'key'));
      const listed = (await call('GET', '/v1/users/me/api-keys', user)).json<{ items: unknown[] }>();
      expect(keysOf(listed)).toEqual(['items', 'nextCursor']);
      for (const one of listed.items) expect(keysOf(one)).toEqual(API_KEY);
      expect(JSON.stringify(listed)).not.toContain(key.json<{ key: string }>().key);

      // No response anywhere above carries a stored secret.
      const hashes = await db.query<{ h: string }[]>(
        `SELECT password_hash AS h FROM users UNION ALL SELECT key_hash FROM api_keys
         UNION ALL SELECT token_hash FROM refresh_tokens`,
      );
      const everything = JSON.stringify([users, key.json(), listed, login.json(), refreshed.json()]);
      for (const { h } of hashes) expect(everything).not.toContain(h);
      expect(everything).not.toMatch(/\$2[aby]\$/);
    });

    it('jobs in every shape: submit, get, list, batch, cancel, retry, attempts, result', async () => {
      const done = await submitJob(t.app, user, { type: 'noop', payload: { n: 1 } });
      await waitForJob(t.app, user, done.id, (j) => j.status === 'succeeded');
      const queued = await submitJob(t.app, user, { type: 'noop', payload: {}, delaySeconds: 3600 });
      const running = await submitJob(t.app, user, { type: 'sleep', payload: { ms: 30_000 } });
      await waitForJob(t.app, user, running.id, (j) => j.status === 'running');

      const batch = await call('POST', '/v1/jobs/batch', user, {
        jobs: [
          { type: 'noop', payload: {} },
          { type: 'nope', payload: {} },
        ],
      });
      const [ok, bad] = batch.json<{ results: { job?: object; error?: object }[] }>().results;
      expect(keysOf(ok)).toEqual(['index', 'job']);
      expect(keysOf(bad)).toEqual(['error', 'index']);
      const cancelled = await call('POST', `/v1/jobs/${queued.id}/cancel`, user);
      const jobs = [
        queued,
        ok.job,
        (await call('GET', `/v1/jobs/${done.id}`, user)).json(),
        (await call('GET', `/v1/jobs/${running.id}`, admin)).json(),
        cancelled.json(),
        (await call('POST', `/v1/jobs/${queued.id}/retry`, user)).json(),
        (await call('POST', `/v1/jobs/${running.id}/cancel`, user)).json(),
        ...(await call('GET', '/v1/jobs?limit=100', user)).json<{ items: unknown[] }>().items,
      ];
      for (const one of jobs) expect(keysOf(one)).toEqual(JOB);

      const attempts = (await call('GET', `/v1/jobs/${done.id}/attempts`, user)).json<{ items: unknown[] }>();
      expect(keysOf(attempts)).toEqual(['items']);
      expect(attempts.items).toHaveLength(1);
      for (const one of attempts.items) expect(keysOf(one)).toEqual(ATTEMPT);
      const result = (await call('GET', `/v1/jobs/${done.id}/result`, user)).json();
      expect(result).toEqual({ jobId: done.id, result: { n: 1 } });
    });

    it('admin reads: queues, job types, audit rows; and every problem body', async () => {
      const queues = (await call('GET', '/v1/admin/queues', admin)).json<{ items: object[] }>().items;
      for (const one of queues)
        expect(keysOf(one)).toEqual(keys('type', 'paused', 'counts', 'oldestQueuedAgeSeconds'));
      const types = (await call('GET', '/v1/job-types', user)).json<{ items: object[] }>().items;
      for (const one of types)
        expect(keysOf(one)).toEqual(
          keys('type', 'description', 'payloadSchema', 'defaultTimeoutSeconds', 'defaultMaxAttempts'),
        );
      const audit = (await call('GET', '/v1/admin/audit-logs?limit=100', admin)).json<{ items: object[] }>();
      expect(audit.items.length).toBeGreaterThan(5);
      for (const one of audit.items) expect(keysOf(one)).toEqual(AUDIT);
      // Audit `changes` never hold a secret, whatever the action (CONTRACT §6).
      const changes = JSON.stringify(audit.items.map((row) => (row as { changes: unknown }).changes));
      expect(changes).not.toMatch(/password|hash|\$2[aby]\$|jsr_|jsk_/i);

      for (const [method, url, session] of [
        ['GET', `/v1/jobs/${randomUUID()}`, user],
        ['GET', '/v1/admin/users', user],
        ['GET', '/v1/users/me', { headers: {} }],
      ] as const) {
        expect(keysOf((await call(method, url, session)).json())).toEqual(PROBLEM);
      }
    });
  });
});
