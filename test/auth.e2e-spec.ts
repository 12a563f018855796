import { createHmac } from 'node:crypto';
import { DataSource } from 'typeorm';
import { login, loginAdmin, newApiKey, newUser, type Session } from './support/auth';
import { startTestApp, type TestApp } from './support/test-app';
import { BASE_TEST_ENV } from './support/test-env';

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
const sign = (header: object, claims: object, secret = BASE_TEST_ENV.JWT_SECRET, alg = 'sha256') => {
  const body = `${b64(header)}.${b64(claims)}`;
  return `${body}.${createHmac(alg, secret).update(body).digest('base64url')}`;
};
const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;

describe('authentication (CONTRACT §4)', () => {
  let t: TestApp;
  let admin: Session;
  const me = (headers: Record<string, string>) =>
    t.app.inject({ method: 'GET', url: '/v1/users/me', headers });

  beforeAll(async () => {
    t = await startTestApp();
    admin = await loginAdmin(t.app);
  });
  afterAll(() => t.close());

  describe('login', () => {
    it('returns a token pair; the access token is HS256 with sub, role, jti', async () => {
      const user = await newUser(t.app, admin);
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: user.email.toUpperCase(), password: user.password },
      });
      expect(res.statusCode).toBe(200);
      const body = res.json<Record<string, unknown>>();
      expect(body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
      const token = body.accessToken as string;
      expect(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString())).toMatchObject({
        alg: 'HS256',
      });
      expect(claimsOf(token)).toMatchObject({ sub: user.id, role: 'user', jti: expect.any(String) });
      const profile = await me({ authorization: `Bearer ${token}` });
      expect(profile.statusCode).toBe(200);
      expect(profile.json()).toMatchObject({ id: user.id, email: user.email, role: 'user' });
      expect(profile.body).not.toMatch(/password|hash|sessionVersion/i);
    });

    it('no cache keeps a token pair, nor any other answer of the API (Cache-Control: no-store)', async () => {
      const user = await newUser(t.app, admin);
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: user.email, password: user.password },
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect((await me(user.headers)).headers['cache-control']).toBe('no-store');
      expect((await t.app.inject({ method: 'GET', url: '/v1/no-such-route' })).headers['cache-control']).toBe(
        'no-store',
      );
    });

    it('answers unknown email, wrong password and disabled account the same way', async () => {
      const user = await newUser(t.app, admin);
      const disabled = await newUser(t.app, admin);
      await t.app.inject({
        method: 'PATCH',
        url: `/v1/admin/users/${disabled.id}`,
        headers: admin.headers,
        payload: { disabled: true },
      });
      const attempts = [
        { email: 'nobody-here@test.local', password: 'whatever-password' },
        { email: user.email, password: 'wrong-password-123' },
        { email: disabled.email, password: disabled.password },
      ];
      const bodies = [];
      for (const payload of attempts) {
        const res = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload });
        expect(res.statusCode).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer');
        const { requestId: _r, ...rest } = res.json<Record<string, unknown>>();
        bodies.push(rest);
      }
      expect(bodies[1]).toEqual(bodies[0]);
      expect(bodies[2]).toEqual(bodies[0]);
    });

    it('locks an account after 5 failures: 429 with Retry-After, even with the right password', async () => {
      const user = await newUser(t.app, admin);
      for (let i = 0; i < 5; i++) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/v1/auth/login',
          payload: { email: user.email, password: `wrong-password-${i}` },
        });
        expect(res.statusCode).toBe(401);
      }
      const locked = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: user.email, password: user.password },
      });
      expect(locked.statusCode).toBe(429);
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(800);
      expect(locked.json()).toMatchObject({ code: 'AUTH.ACCOUNT_LOCKED' });
      const rows = await t.app
        .get(DataSource)
        .query<{ action: string; success: boolean; resource_id: string }[]>(
          "SELECT action, success, resource_id FROM audit_logs WHERE action LIKE 'auth.login.%' AND changes->'email'->>'after' = $1 ORDER BY at",
          [user.email],
        );
      expect(rows.map((r) => r.action)).toEqual([...Array(5).fill('auth.login.failed'), 'auth.login.locked']);
      // One account's trail: every row names it, the lockout too.
      expect(new Set(rows.map((r) => r.resource_id))).toEqual(new Set([user.id]));
    });

    it('counts guesses sent at once: 5 are checked, the rest are refused as locked', async () => {
      const user = await newUser(t.app, admin);
      const guesses = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          t.app.inject({
            method: 'POST',
            url: '/v1/auth/login',
            payload: { email: user.email, password: `wrong-password-${i}` },
            // Each from its own address, as a botnet would: the per-IP limit is not what stops them.
            remoteAddress: `198.51.100.${i + 1}`,
          }),
        ),
      );
      const statuses = guesses.map((res) => res.statusCode).sort();
      expect(statuses).toEqual([...Array(5).fill(401), ...Array(15).fill(429)]);
      const right = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: user.email, password: user.password },
      });
      expect(right.statusCode).toBe(429);
      const [failed] = await t.app
        .get(DataSource)
        .query<{ count: number }[]>(
          "SELECT count(*)::int AS count FROM audit_logs WHERE action = 'auth.login.failed' AND resource_id = $1",
          [user.id],
        );
      expect(failed.count).toBe(5);
    });

    it('lets right passwords sent at once all in, and leaves the failures they follow counted', async () => {
      const user = await newUser(t.app, admin);
      const logins = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          t.app.inject({
            method: 'POST',
            url: '/v1/auth/login',
            payload: { email: user.email, password: user.password },
            remoteAddress: `198.51.100.${i + 101}`,
          }),
        ),
      );
      expect(logins.map((res) => res.statusCode)).toEqual(Array(8).fill(200));
      // After four failures, a right password among wrong ones sent at once still gets in or is
      // refused only as locked by real failures: never before the fifth.
      for (let i = 0; i < 4; i++) {
        const wrong = await t.app.inject({
          method: 'POST',
          url: '/v1/auth/login',
          payload: { email: user.email, password: `wrong-password-${i}` },
        });
        expect(wrong.statusCode).toBe(401);
      }
      const [right] = await Promise.all([
        t.app.inject({
          method: 'POST',
          url: '/v1/auth/login',
          payload: { email: user.email, password: user.password },
        }),
        ...Array.from({ length: 4 }, (_, i) =>
          t.app.inject({
            method: 'POST',
            url: '/v1/auth/login',
            payload: { email: user.email, password: `wrong-again-${i}` },
          }),
        ),
      ]);
      expect(right.statusCode).toBe(200);
    });

    it('rejects a body with unknown fields or a non-email', async () => {
      for (const payload of [
        { email: 'a@b.co', password: 'x', role: 'admin' },
        { email: 'nope', password: 'x' },
      ]) {
        const res = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload });
        expect(res.statusCode).toBe(400);
      }
    });
  });

  describe('access tokens', () => {
    let user: Awaited<ReturnType<typeof newUser>>;
    beforeAll(async () => {
      user = await newUser(t.app, admin);
    });

    const now = () => Math.floor(Date.now() / 1000);

    it('refuses a missing, malformed or garbage token with 401 and WWW-Authenticate', async () => {
      for (const authorization of [
        undefined,
        'Bearer',
        'Bearer abc.def.ghi',
        'Basic dXNlcjpwYXNz',
        user.accessToken,
      ]) {
        const res = await me(authorization ? { authorization } : {});
        expect(res.statusCode).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer');
      }
    });

    it('takes the scheme in any case (RFC 9110): bearer and BEARER are Bearer', async () => {
      for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
        expect((await me({ authorization: `${scheme} ${user.accessToken}` })).statusCode).toBe(200);
      }
    });

    it('every credential presented must hold: a bad one next to a good one is a 401', async () => {
      const { key } = await newApiKey(t.app, user);
      const other = await newUser(t.app, admin);
      const garbage = 'Bearer abc.def.ghi';
      for (const headers of [
        { 'x-api-key': key, authorization: garbage },
        { 'x-api-key': 'jsk_not-a-key', authorization: `Bearer ${user.accessToken}` },
        // Two good credentials of two users name nobody in particular.
        { 'x-api-key': key, authorization: `Bearer ${other.accessToken}` },
      ]) {
        const res = await me(headers);
        expect(res.statusCode).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer');
      }
      const both = await me({ 'x-api-key': key, authorization: `Bearer ${user.accessToken}` });
      expect(both.statusCode).toBe(200);
      expect(both.json()).toMatchObject({ id: user.id });
    });

    it('refuses alg=none, another algorithm, a bad signature and an expired token', async () => {
      const claims = { ...claimsOf(user.accessToken) };
      const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
      const hs512 = sign({ alg: 'HS512', typ: 'JWT' }, claims, BASE_TEST_ENV.JWT_SECRET, 'sha512');
      const [h, p, s] = user.accessToken.split('.');
      const tampered = `${h}.${b64({ ...claims, role: 'admin' })}.${s}`;
      const forged = sign({ alg: 'HS256', typ: 'JWT' }, claims, 'another-secret-that-is-long-enough-000');
      const expired = sign({ alg: 'HS256', typ: 'JWT' }, { ...claims, iat: now() - 3600, exp: now() - 60 });
      for (const token of [none, hs512, tampered, forged, expired, `${h}.${p}`]) {
        expect((await me({ authorization: `Bearer ${token}` })).statusCode).toBe(401);
      }
      // The same claims, properly signed, pass: the refusals above are about the token, not the user.
      const good = sign({ alg: 'HS256', typ: 'JWT' }, { ...claims, exp: now() + 60 });
      expect((await me({ authorization: `Bearer ${good}` })).statusCode).toBe(200);
    });
  });

  describe('refresh tokens', () => {
    it('rotate: the new pair works, the old refresh token does not', async () => {
      const user = await newUser(t.app, admin);
      const first = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        payload: { refreshToken: user.refreshToken },
      });
      expect(first.statusCode).toBe(200);
      const pair = first.json<{ accessToken: string; refreshToken: string }>();
      expect(pair.refreshToken).not.toBe(user.refreshToken);
      expect((await me({ authorization: `Bearer ${pair.accessToken}` })).statusCode).toBe(200);
    });

    it('replaying a rotated token revokes the whole family (theft detection)', async () => {
      const user = await newUser(t.app, admin);
      const refresh = (refreshToken: string) =>
        t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken } });
      const rotated = (await refresh(user.refreshToken)).json<{ refreshToken: string }>();
      const replay = await refresh(user.refreshToken);
      expect(replay.statusCode).toBe(401);
      expect((await refresh(rotated.refreshToken)).statusCode).toBe(401);
      const rows = await t.app
        .get(DataSource)
        .query<{ c: number }[]>(
          "SELECT count(*)::int AS c FROM audit_logs WHERE action = 'auth.refresh.reuse_detected' AND resource_id = $1",
          [user.id],
        );
      expect(rows[0].c).toBe(1);
    });

    it('unknown and logged-out tokens are refused; logout is 204', async () => {
      const user = await newUser(t.app, admin);
      const unknown = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        payload: { refreshToken: 'jsr_not-a-real-token' },
      });
      expect(unknown.statusCode).toBe(401);
      const out = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/logout',
        payload: { refreshToken: user.refreshToken },
      });
      expect(out.statusCode).toBe(204);
      const after = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        payload: { refreshToken: user.refreshToken },
      });
      expect(after.statusCode).toBe(401);
    });

    it('an expired refresh token is refused (JWT_REFRESH_TTL)', async () => {
      const short = await startTestApp({ env: { JWT_REFRESH_TTL: '1s' } });
      try {
        const session = await loginAdmin(short.app);
        await new Promise((resolve) => setTimeout(resolve, 1100));
        const res = await short.app.inject({
          method: 'POST',
          url: '/v1/auth/refresh',
          payload: { refreshToken: session.refreshToken },
        });
        expect(res.statusCode).toBe(401);
      } finally {
        await short.close();
      }
    });

    it('only a hash of each refresh token is stored', async () => {
      const user = await newUser(t.app, admin);
      const rows = await t.app
        .get(DataSource)
        .query<{ token_hash: string }[]>('SELECT token_hash FROM refresh_tokens WHERE user_id = $1', [
          user.id,
        ]);
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) expect(row.token_hash).not.toContain(user.refreshToken.slice(4, 20));
    });
  });

  describe('invalidation (disable, role change, password change)', () => {
    it('a change made by another replica reaches this one within the cache TTL (10 s; CONTRACT allows 30 s)', async () => {
      const user = await newUser(t.app, admin);
      expect((await me(user.headers)).statusCode).toBe(200);
      // Another replica disabled the user: the row changed, but this replica's cache was not told.
      await t.app
        .get(DataSource)
        .query('UPDATE users SET disabled = true, session_version = session_version + 1 WHERE id = $1', [
          user.id,
        ]);
      const started = Date.now();
      let status = 200;
      while (status === 200 && Date.now() - started < 20_000) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        status = (await me(user.headers)).statusCode;
      }
      expect(status).toBe(401);
      expect(Date.now() - started).toBeLessThanOrEqual(11_000);
    });

    it('disabling a user kills their access and refresh tokens at once', async () => {
      const user = await newUser(t.app, admin);
      const res = await t.app.inject({
        method: 'PATCH',
        url: `/v1/admin/users/${user.id}`,
        headers: admin.headers,
        payload: { disabled: true },
      });
      expect(res.statusCode).toBe(200);
      expect((await me(user.headers)).statusCode).toBe(401);
      const refresh = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        payload: { refreshToken: user.refreshToken },
      });
      expect(refresh.statusCode).toBe(401);
    });

    it('disabling a user revokes their API keys for good: enabling them again does not bring the keys back', async () => {
      const user = await newUser(t.app, admin);
      const keys = [await newApiKey(t.app, user, 'ci'), await newApiKey(t.app, user, 'cron')];
      const withKey = (key: string) => me({ 'x-api-key': key });
      // Cached as valid on this replica before the change: the change must forget them.
      for (const { key } of keys) expect((await withKey(key)).statusCode).toBe(200);
      const setDisabled = (disabled: boolean) =>
        t.app.inject({
          method: 'PATCH',
          url: `/v1/admin/users/${user.id}`,
          headers: admin.headers,
          payload: { disabled },
        });
      const disabled = await setDisabled(true);
      expect(disabled.statusCode).toBe(200);
      for (const { key } of keys) expect((await withKey(key)).statusCode).toBe(401);
      expect((await setDisabled(false)).statusCode).toBe(200);
      for (const { key } of keys) expect((await withKey(key)).statusCode).toBe(401);

      const db = t.app.get(DataSource);
      const stored = await db.query<{ revoked: boolean }[]>(
        'SELECT revoked_at IS NOT NULL AS revoked FROM api_keys WHERE user_id = $1',
        [user.id],
      );
      expect(stored).toEqual([{ revoked: true }, { revoked: true }]);
      const audited = await db.query<{ resource_id: string; success: boolean; changes: unknown }[]>(
        "SELECT resource_id, success, changes FROM audit_logs WHERE action = 'api_key.revoked' AND request_id = $1",
        [disabled.headers['x-request-id']],
      );
      expect(audited.map((row) => row.resource_id).sort()).toEqual(keys.map((k) => k.id).sort());
      for (const row of audited)
        expect(row).toMatchObject({ success: true, changes: { cause: { after: 'user.disabled' } } });

      // A fresh login works again, and the user's key list is empty until they mint new keys.
      const back = await login(t.app, user.email, user.password);
      const listed = await t.app.inject({
        method: 'GET',
        url: '/v1/users/me/api-keys',
        headers: back.headers,
      });
      expect(listed.statusCode).toBe(200);
      expect(listed.json()).toMatchObject({ items: [] });
    });

    it('deleting a user ends their API keys, one audited api_key.revoked each', async () => {
      const user = await newUser(t.app, admin);
      const keys = [await newApiKey(t.app, user, 'ci'), await newApiKey(t.app, user, 'cron')];
      const deleted = await t.app.inject({
        method: 'DELETE',
        url: `/v1/admin/users/${user.id}`,
        headers: admin.headers,
      });
      expect(deleted.statusCode).toBe(204);
      for (const { key } of keys) expect((await me({ 'x-api-key': key })).statusCode).toBe(401);
      const audited = await t.app
        .get(DataSource)
        .query<{ resource_id: string; success: boolean; changes: unknown }[]>(
          "SELECT resource_id, success, changes FROM audit_logs WHERE action = 'api_key.revoked' AND request_id = $1",
          [deleted.headers['x-request-id']],
        );
      expect(audited.map((row) => row.resource_id).sort()).toEqual(keys.map((k) => k.id).sort());
      for (const row of audited)
        expect(row).toMatchObject({ success: true, changes: { cause: { after: 'user.deleted' } } });
    });

    it('a role change invalidates the old token; a new login carries the new role', async () => {
      const user = await newUser(t.app, admin);
      await t.app.inject({
        method: 'PATCH',
        url: `/v1/admin/users/${user.id}`,
        headers: admin.headers,
        payload: { role: 'admin' },
      });
      expect((await me(user.headers)).statusCode).toBe(401);
      const fresh = await login(t.app, user.email, user.password);
      expect(claimsOf(fresh.accessToken).role).toBe('admin');
    });

    it('changing the password ends every session; the wrong current password is a 400', async () => {
      const user = await newUser(t.app, admin);
      const wrong = await t.app.inject({
        method: 'POST',
        url: '/v1/users/me/password',
        headers: user.headers,
        payload: { currentPassword: 'not-my-password', newPassword: 'a-brand-new-password' },
      });
      expect(wrong.statusCode).toBe(400);
      const weak = await t.app.inject({
        method: 'POST',
        url: '/v1/users/me/password',
        headers: user.headers,
        payload: { currentPassword: user.password, newPassword: 'short' },
      });
      expect(weak.statusCode).toBe(400);
      const ok = await t.app.inject({
        method: 'POST',
        url: '/v1/users/me/password',
        headers: user.headers,
        payload: { currentPassword: user.password, newPassword: 'a-brand-new-password' },
      });
      expect(ok.statusCode).toBe(204);
      expect((await me(user.headers)).statusCode).toBe(401);
      await expect(login(t.app, user.email, user.password)).rejects.toThrow(/401/);
      await expect(login(t.app, user.email, 'a-brand-new-password')).resolves.toBeDefined();
    });
  });
});
