import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { login, loginAdmin, newUser, type Session } from './support/auth';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * Account changes sent at the same moment. On PostgreSQL they run side by side, each on its own
 * connection; the embedded store runs transactions one at a time, where these hold trivially.
 * Each race is repeated: the defects they guard against showed in 15-60 % of single races.
 */
describe('concurrent account changes (CONTRACT §4)', () => {
  let t: TestApp;
  let admin: Session;
  const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url, payload, headers });
  const refresh = (refreshToken: string) => post('/v1/auth/refresh', { refreshToken });

  beforeAll(async () => {
    t = await startTestApp();
    admin = await loginAdmin(t.app);
  });
  afterAll(() => t.close());

  it('a reused token revokes its family, even the token a rotation adds at that moment', async () => {
    const user = await newUser(t.app, admin);
    for (let i = 0; i < 12; i++) {
      const stolen = await login(t.app, user.email, user.password);
      const rotated = await refresh(stolen.refreshToken);
      expect(rotated.statusCode).toBe(200);
      const next = rotated.json<{ refreshToken: string }>().refreshToken;
      // The thief rotates the current token while the victim presents the rotated one.
      const [thief, reuse] = await Promise.all([refresh(next), refresh(stolen.refreshToken)]);
      expect(reuse.statusCode).toBe(401);
      if (thief.statusCode === 200) {
        expect((await refresh(thief.json<{ refreshToken: string }>().refreshToken)).statusCode).toBe(401);
      } else {
        expect(thief.statusCode).toBe(401);
      }
    }
  });

  it('a logout ends the session, even the token a rotation adds at that moment', async () => {
    const user = await newUser(t.app, admin);
    for (let i = 0; i < 12; i++) {
      const session = await login(t.app, user.email, user.password);
      const [rotated, logout] = await Promise.all([
        refresh(session.refreshToken),
        post('/v1/auth/logout', { refreshToken: session.refreshToken }),
      ]);
      expect(logout.statusCode).toBe(204);
      if (rotated.statusCode === 200) {
        expect((await refresh(rotated.json<{ refreshToken: string }>().refreshToken)).statusCode).toBe(401);
      } else {
        expect(rotated.statusCode).toBe(401);
      }
    }
  });

  it('disabling a user who is refreshing succeeds, and leaves no live session', async () => {
    for (let i = 0; i < 10; i++) {
      const user = await newUser(t.app, admin);
      const [rotated, disabled] = await Promise.all([
        refresh(user.refreshToken),
        t.app.inject({
          method: 'PATCH',
          url: `/v1/admin/users/${user.id}`,
          headers: admin.headers,
          payload: { disabled: true },
        }),
      ]);
      expect(disabled.statusCode).toBe(200);
      expect(disabled.json()).toMatchObject({ disabled: true });
      if (rotated.statusCode === 200) {
        expect((await refresh(rotated.json<{ refreshToken: string }>().refreshToken)).statusCode).toBe(401);
      } else {
        expect(rotated.statusCode).toBe(401);
      }
    }
  });

  it('changing a role while the user refreshes succeeds every time', async () => {
    const user = await newUser(t.app, admin);
    let session: string = user.refreshToken;
    for (let i = 0; i < 10; i++) {
      const role = i % 2 === 0 ? 'admin' : 'user';
      const [rotated, changed] = await Promise.all([
        refresh(session),
        t.app.inject({
          method: 'PATCH',
          url: `/v1/admin/users/${user.id}`,
          headers: admin.headers,
          payload: { role },
        }),
      ]);
      expect(changed.statusCode).toBe(200);
      expect(changed.json()).toMatchObject({ role });
      expect([200, 401]).toContain(rotated.statusCode);
      session = (await login(t.app, user.email, user.password)).refreshToken;
    }
  });

  it('of two password changes sent at once, one wins and the other is refused', async () => {
    const user = await newUser(t.app, admin);
    let current = user.password;
    for (let i = 0; i < 5; i++) {
      const session = await login(t.app, user.email, current);
      const candidates = [`new-a-${randomUUID()}`, `new-b-${randomUUID()}`];
      const answers = await Promise.all(
        candidates.map((newPassword) =>
          post('/v1/users/me/password', { currentPassword: current, newPassword }, session.headers),
        ),
      );
      const won = answers.findIndex((res) => res.statusCode === 204);
      expect(won).toBeGreaterThanOrEqual(0);
      expect(answers[1 - won].statusCode).not.toBe(204);
      current = candidates[won];
      const tryLogin = (password: string) => post('/v1/auth/login', { email: user.email, password });
      expect((await tryLogin(candidates[1 - won])).statusCode).toBe(401);
      expect((await tryLogin(current)).statusCode).toBe(200);
    }
  });

  it('creating one email twice at once, in any case: one 201, the rest 409', async () => {
    for (let i = 0; i < 5; i++) {
      const email = `race-${randomUUID()}@test.local`;
      const variants = [email, email.toUpperCase(), email, `Race-${email.slice(5)}`, email];
      const answers = await Promise.all(
        variants.map((address) =>
          post(
            '/v1/admin/users',
            { email: address, password: `pw-${randomUUID()}`, role: 'user' },
            admin.headers,
          ),
        ),
      );
      expect(answers.map((res) => res.statusCode).sort()).toEqual([201, 409, 409, 409, 409]);
      const [row] = await t.app
        .get(DataSource)
        .query<{ count: number }[]>(
          "SELECT count(*)::int AS count FROM audit_logs WHERE action = 'user.created' AND NOT success AND error_code = 'USERS.EMAIL_TAKEN' AND changes->'email'->>'after' = $1",
          [email],
        );
      expect(row.count).toBe(4);
    }
  });
});
