import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { login, loginAdmin, newApiKey, newUser, type Session } from './support/auth';
import { startTestApp, type TestApp } from './support/test-app';

// CONTRACT §6: "Audited at least: …". Each listed event, through the route that causes it.
describe('every audited event of CONTRACT §6', () => {
  let t: TestApp;
  let admin: Session;
  beforeAll(async () => {
    t = await startTestApp();
    admin = await loginAdmin(t.app);
  });
  afterAll(() => t.close());

  const actionsFor = async (resourceId: string) =>
    (
      await t.app
        .get(DataSource)
        .query<{ action: string; success: boolean }[]>(
          'SELECT action, success FROM audit_logs WHERE resource_id = $1 ORDER BY at, action',
          [resourceId],
        )
    ).map((r) => `${r.action}${r.success ? '' : ' (failed)'}`);

  it('a user account through its life', async () => {
    const user = await newUser(t.app, admin); // user.created, auth.login.succeeded
    const patch = (payload: object) =>
      t.app.inject({ method: 'PATCH', url: `/v1/admin/users/${user.id}`, headers: admin.headers, payload });
    expect((await patch({ firstName: 'Alan' })).statusCode).toBe(200);
    expect((await patch({ role: 'admin' })).statusCode).toBe(200);
    expect((await patch({ role: 'user' })).statusCode).toBe(200);
    const session = await login(t.app, user.email, user.password);
    const password = (currentPassword: string) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/users/me/password',
        headers: session.headers,
        payload: { currentPassword, newPassword: 'another-long-password' },
      });
    expect((await password('not-the-password')).statusCode).toBe(400);
    expect((await password(user.password)).statusCode).toBe(204);
    const again = await login(t.app, user.email, 'another-long-password');
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/v1/auth/logout',
          payload: { refreshToken: again.refreshToken },
        })
      ).statusCode,
    ).toBe(204);
    expect((await patch({ disabled: true })).statusCode).toBe(200);
    expect((await patch({ disabled: false })).statusCode).toBe(200);
    expect(
      (await t.app.inject({ method: 'DELETE', url: `/v1/admin/users/${user.id}`, headers: admin.headers }))
        .statusCode,
    ).toBe(204);

    expect(await actionsFor(user.id)).toEqual(
      expect.arrayContaining([
        'user.created',
        'auth.login.succeeded',
        'user.updated',
        'user.role_changed',
        'user.password_changed (failed)',
        'user.password_changed',
        'auth.logout',
        'user.disabled',
        'user.enabled',
        'user.deleted',
      ]),
    );
  });

  it("a refused refresh: a failed auth.refresh, against the token's user when the token is known", async () => {
    const user = await newUser(t.app, admin);
    const refresh = (refreshToken: string) =>
      t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken } });
    const rowsOf = (requestId: unknown) =>
      t.app
        .get(DataSource)
        .query<{ action: string; success: boolean; error_code: string; resource_id: string | null }[]>(
          'SELECT action, success, error_code, resource_id FROM audit_logs WHERE request_id = $1',
          [requestId],
        );
    const unknown = await refresh('rt_not-a-token-of-ours');
    expect(unknown.statusCode).toBe(401);
    expect(await rowsOf(unknown.headers['x-request-id'])).toEqual([
      { action: 'auth.refresh', success: false, error_code: 'AUTH.INVALID_REFRESH_TOKEN', resource_id: null },
    ]);
    await t.app.inject({
      method: 'POST',
      url: '/v1/auth/logout',
      payload: { refreshToken: user.refreshToken },
    });
    const revoked = await refresh(user.refreshToken);
    expect(revoked.statusCode).toBe(401);
    expect(await rowsOf(revoked.headers['x-request-id'])).toEqual([
      {
        action: 'auth.refresh',
        success: false,
        error_code: 'AUTH.INVALID_REFRESH_TOKEN',
        resource_id: user.id,
      },
    ]);
  });

  it('an API key created and revoked', async () => {
    const user = await newUser(t.app, admin);
    const key = await newApiKey(t.app, user, 'k');
    await t.app.inject({ method: 'DELETE', url: `/v1/users/me/api-keys/${key.id}`, headers: user.headers });
    expect(await actionsFor(key.id)).toEqual(['api_key.created', 'api_key.revoked']);
    // Revoking it again fails, and the failed attempt is audited too (CONTRACT §6).
    const again = await t.app.inject({
      method: 'DELETE',
      url: `/v1/users/me/api-keys/${key.id}`,
      headers: user.headers,
    });
    expect(again.statusCode).toBe(404);
    expect(await actionsFor(key.id)).toEqual([
      'api_key.created',
      'api_key.revoked',
      'api_key.revoked (failed)',
    ]);
  });

  it('a job refused at submit, alone or in a batch: a failed job.created with why, and no job', async () => {
    const user = await newUser(t.app, admin);
    const rowsOf = async (requestId: string) =>
      t.app
        .get(DataSource)
        .query<
          { action: string; success: boolean; error_code: string; actor_id: string; changes: unknown }[]
        >('SELECT action, success, error_code, actor_id, changes FROM audit_logs WHERE request_id = $1', [
          requestId,
        ]);
    const submit = (url: string, body: object, requestId: string, key?: string) =>
      t.app.inject({
        method: 'POST',
        url,
        payload: body,
        headers: { ...user.headers, 'x-request-id': requestId, ...(key ? { 'idempotency-key': key } : {}) },
      });
    const jobsOf = async () =>
      Number(
        (
          await t.app.get(DataSource).query('SELECT count(*) AS n FROM jobs WHERE owner_id = $1', [user.id])
        )[0].n,
      );

    expect((await submit('/v1/jobs', { type: 'no.such.type', payload: {} }, 'refused-type')).statusCode).toBe(
      400,
    );
    expect(await rowsOf('refused-type')).toEqual([
      {
        action: 'job.created',
        success: false,
        error_code: 'JOBS.UNKNOWN_TYPE',
        actor_id: user.id,
        changes: { type: { after: 'no.such.type' } },
      },
    ]);
    expect(
      (await submit('/v1/jobs', { type: 'sleep', payload: { ms: -1 } }, 'refused-payload')).statusCode,
    ).toBe(400);
    expect(await rowsOf('refused-payload')).toMatchObject([{ success: false, error_code: 'JOBS.INVALID' }]);

    expect((await submit('/v1/jobs', { type: 'noop', payload: { a: 1 } }, 'keyed', 'k-1')).statusCode).toBe(
      202,
    );
    expect((await submit('/v1/jobs', { type: 'noop', payload: { a: 2 } }, 'reused', 'k-1')).statusCode).toBe(
      409,
    );
    expect(await rowsOf('reused')).toMatchObject([
      { success: false, error_code: 'JOBS.IDEMPOTENCY_CONFLICT' },
    ]);

    const batch = await submit(
      '/v1/jobs/batch',
      { jobs: [{ type: 'noop', payload: {} }, { type: 'no.such.type', payload: {} }, { type: 'noop' }] },
      'mixed-batch',
    );
    expect(batch.statusCode).toBe(202);
    const rows = await rowsOf('mixed-batch');
    expect(rows.map((r) => `${r.action}${r.success ? '' : ' (failed)'}`).sort()).toEqual([
      'job.created',
      'job.created (failed)',
    ]);
    expect(rows.find((r) => !r.success)).toMatchObject({
      error_code: 'JOBS.UNKNOWN_TYPE',
      changes: {
        refusedItems: {
          after: [
            { index: 1, code: 'JOBS.UNKNOWN_TYPE' },
            { index: 2, code: 'REQUEST.VALIDATION_FAILED' },
          ],
        },
      },
    });
    // The keyed job and the batch's one valid item; none of the refused ones.
    expect(await jobsOf()).toBe(2);
  });
  it('input refused by validation before any service runs: one failed row per attempt, on every audited route', async () => {
    const user = await newUser(t.app, admin);
    const key = await newApiKey(t.app, user);
    const job = (
      await t.app.inject({
        method: 'POST',
        url: '/v1/jobs',
        headers: user.headers,
        payload: { type: 'noop', payload: {} },
      })
    ).json<{ id: string }>();
    // [method, url, who, body, action, resource id the row names]
    const attempts: [string, string, Session | null, object | undefined, string, string | null][] = [
      ['POST', '/v1/jobs', user, { type: 'noop', payload: {}, priority: 0 }, 'job.created', null],
      ['POST', '/v1/jobs', user, { type: 'noop', payload: {}, foo: 1 }, 'job.created', null],
      ['POST', '/v1/jobs/batch', user, { jobs: 'not a list' }, 'job.created', null],
      ['POST', '/v1/jobs/not-a-uuid/cancel', user, undefined, 'job.cancelled', 'not-a-uuid'],
      ['POST', '/v1/jobs/not-a-uuid/retry', user, undefined, 'job.retried', 'not-a-uuid'],
      // The NUL that got it refused cannot go into a text column as it is.
      ['POST', '/v1/jobs/a%00b/retry', user, undefined, 'job.retried', 'a\ufffdb'],
      ['DELETE', '/v1/jobs/not-a-uuid', user, undefined, 'job.deleted', 'not-a-uuid'],
      [
        'POST',
        '/v1/admin/users',
        admin,
        { email: 'nope', password: 'x', role: 'user' },
        'user.created',
        null,
      ],
      ['PATCH', `/v1/admin/users/${user.id}`, admin, { role: 'root' }, 'user.updated', user.id],
      ['DELETE', '/v1/admin/users/not-a-uuid', admin, undefined, 'user.deleted', 'not-a-uuid'],
      ['PATCH', '/v1/users/me', user, { phone: 'x' }, 'user.updated', user.id],
      ['POST', '/v1/users/me/password', user, { currentPassword: 'x' }, 'user.password_changed', user.id],
      ['POST', '/v1/users/me/api-keys', user, { name: '' }, 'api_key.created', null],
      ['DELETE', '/v1/users/me/api-keys/not-a-uuid', user, undefined, 'api_key.revoked', 'not-a-uuid'],
      ['POST', '/v1/auth/login', null, { email: user.email }, 'auth.login.failed', null],
      ['POST', '/v1/auth/refresh', null, { refreshToken: 42 }, 'auth.refresh', null],
      ['POST', '/v1/auth/logout', null, {}, 'auth.logout', null],
    ];
    const db = t.app.get(DataSource);
    for (const [method, url, who, payload, action, resourceId] of attempts) {
      const requestId = `refused-${randomUUID()}`;
      const res = await t.app.inject({
        method: method as 'POST',
        url,
        headers: { ...(who?.headers ?? {}), 'x-request-id': requestId },
        ...(payload === undefined ? {} : { payload }),
      });
      expect([url, res.statusCode, res.json<{ code: string }>().code]).toEqual([
        url,
        400,
        'REQUEST.VALIDATION_FAILED',
      ]);
      const rows = await db.query<Record<string, unknown>[]>(
        `SELECT action, resource_type, resource_id, success, error_code, actor_type, actor_id
         FROM audit_logs WHERE request_id = $1`,
        [requestId],
      );
      expect([url, rows]).toEqual([
        url,
        [
          expect.objectContaining({
            action,
            resource_id: resourceId,
            success: false,
            error_code: 'REQUEST.VALIDATION_FAILED',
            actor_type: who ? 'user' : 'anonymous',
            actor_id: who === user ? user.id : who === admin ? expect.any(String) : null,
          }),
        ],
      ]);
    }
    // A refusal the service itself audits (a payload its type's schema refuses) stays one row.
    const requestId = `refused-${randomUUID()}`;
    const refused = await t.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: { ...user.headers, 'x-request-id': requestId },
      payload: { type: 'sleep', payload: { ms: -1 } },
    });
    expect(refused.statusCode).toBe(400);
    const [{ n }] = await db.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM audit_logs WHERE request_id = $1',
      [requestId],
    );
    expect(n).toBe(1);
    // Through an API key too; and nothing the refused attempts named changed.
    const viaKey = await t.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: { 'x-api-key': key.key, 'x-request-id': `refused-key-${job.id}` },
      payload: { type: 'noop' },
    });
    expect(viaKey.statusCode).toBe(400);
    expect(
      await db.query<{ actor_type: string }[]>('SELECT actor_type FROM audit_logs WHERE request_id = $1', [
        `refused-key-${job.id}`,
      ]),
    ).toEqual([{ actor_type: 'apikey' }]);
    const [state] = await db.query<{ jobs: number; role: string }[]>(
      `SELECT (SELECT count(*)::int FROM jobs WHERE owner_id = $1) AS jobs,
         (SELECT role FROM users WHERE id = $1) AS role`,
      [user.id],
    );
    expect(state).toEqual({ jobs: 1, role: 'user' });
  });
});
