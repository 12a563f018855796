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
});
