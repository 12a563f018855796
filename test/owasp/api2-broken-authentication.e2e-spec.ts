import { randomUUID } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import { DataSource } from 'typeorm';
import { login, loginAdmin, newApiKey, newUser, type Session } from '../support/auth';
import { startTestApp, type TestApp } from '../support/test-app';
import { BASE_TEST_ENV } from '../support/test-env';

type Headers = Record<string, string>;

// OWASP API2:2023. test/auth.e2e-spec.ts already proves alg=none, HS512, a bad signature, an
// expired token, rotation, reuse detection, an expired refresh token and the basic lockout; this
// file adds the remaining ways in: other algorithms and spellings, tokens of accounts that are
// gone, credentials presented in the wrong place, API key guessing, and lockout as an oracle.
describe('OWASP API2:2023 Broken Authentication', () => {
  let t: TestApp;
  let admin: Session;
  const now = () => Math.floor(Date.now() / 1000);
  const me = (headers: Headers) => t.app.inject({ method: 'GET', url: '/v1/users/me', headers });
  const bearer = (token: string): Headers => ({ authorization: `Bearer ${token}` });
  const expect401 = async (headers: Headers, label: string) => {
    const res = await me(headers);
    expect(`${label} → ${res.statusCode}`).toBe(`${label} → 401`);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.json()).toMatchObject({ status: 401, code: 'AUTH.UNAUTHENTICATED' });
  };
  const loginAs = (email: string, password: string, remoteAddress?: string) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password }, remoteAddress });
  const refresh = (refreshToken: string) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken } });

  beforeAll(async () => {
    t = await startTestApp();
    admin = await loginAdmin(t.app);
  });
  afterAll(() => t.close());

  describe('access tokens', () => {
    const unsigned = (header: object, claims: object) =>
      [header, claims].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.');

    it('only HS256 with our secret, a live exp and our claims authenticates', async () => {
      const user = await newUser(t.app, admin);
      const { sub, role, jti, ver } = new JwtService().decode<Record<string, unknown>>(user.accessToken);
      const claims = { sub, role, jti, ver };
      const signer = new JwtService({ secret: BASE_TEST_ENV.JWT_SECRET });
      const sign = (payload: object, algorithm: 'HS256' | 'HS384' | 'HS512', secret?: string) =>
        signer.sign(payload, { algorithm, secret, expiresIn: 60 });
      const forged: [string, string][] = [
        ['alg None', `${unsigned({ alg: 'None', typ: 'JWT' }, claims)}.`],
        [
          'alg NONE with a signature',
          `${unsigned({ alg: 'NONE' }, claims)}.${user.accessToken.split('.')[2]}`,
        ],
        ['HS384', sign(claims, 'HS384')],
        ['HS512', sign(claims, 'HS512')],
        // Algorithm confusion: an RS256 header over an HMAC signature.
        ['RS256 header', `${unsigned({ alg: 'RS256' }, claims)}.${user.accessToken.split('.')[2]}`],
        ['another secret', sign(claims, 'HS256', 'not-the-secret-but-long-enough-000000')],
        ['an empty secret', `${unsigned({ alg: 'HS256' }, claims)}.`],
        ['exp in the past', signer.sign({ ...claims, exp: now() - 5 }, { algorithm: 'HS256' })],
        ['nbf in the future', sign({ ...claims, nbf: now() + 3600 }, 'HS256')],
        ['no ver claim', sign({ sub, role, jti }, 'HS256')],
        ['a stale ver', sign({ ...claims, ver: Number(ver) - 1 }, 'HS256')],
        ['role admin in the claims', sign({ ...claims, role: 'admin', ver: Number(ver) + 1 }, 'HS256')],
        ['sub of nobody', sign({ ...claims, sub: randomUUID() }, 'HS256')],
        ['a sub that is not a user id', sign({ ...claims, sub: 'admin' }, 'HS256')],
        ['no exp (valid forever)', signer.sign(claims, { algorithm: 'HS256' })],
        ['the token twice', `${user.accessToken}${user.accessToken}`],
        ['a trailing dot', `${user.accessToken}.`],
      ];
      for (const [label, token] of forged) await expect401(bearer(token), label);
      // Our own signing of the same claims works: the refusals are about the token.
      expect((await me(bearer(sign(claims, 'HS256')))).statusCode).toBe(200);
      // A role claim is never trusted over the account: admin routes stay shut.
      const res = await t.app.inject({
        method: 'GET',
        url: '/v1/admin/users',
        headers: bearer(sign({ ...claims, role: 'admin' }, 'HS256')),
      });
      expect(res.statusCode).toBe(403);
    });

    it('a deleted account is locked out at once: access token, refresh token and API key', async () => {
      const user = await newUser(t.app, admin);
      const key = (await newApiKey(t.app, user, 'k')).key;
      expect((await me({ 'x-api-key': key })).statusCode).toBe(200);
      const del = await t.app.inject({
        method: 'DELETE',
        url: `/v1/admin/users/${user.id}`,
        headers: admin.headers,
      });
      expect(del.statusCode).toBe(204);
      await expect401(user.headers, 'access token of a deleted user');
      await expect401({ 'x-api-key': key }, 'API key of a deleted user');
      expect((await refresh(user.refreshToken)).statusCode).toBe(401);
      expect((await loginAs(user.email, user.password)).statusCode).toBe(401);
    });

    it('a disabled account is locked out at once, API keys included', async () => {
      const user = await newUser(t.app, admin);
      const key = (await newApiKey(t.app, user, 'k')).key;
      await t.app.inject({
        method: 'PATCH',
        url: `/v1/admin/users/${user.id}`,
        headers: admin.headers,
        payload: { disabled: true },
      });
      await expect401(user.headers, 'access token of a disabled user');
      await expect401({ 'x-api-key': key }, 'API key of a disabled user');
      expect((await refresh(user.refreshToken)).statusCode).toBe(401);
    });

    it('credentials only count where they belong', async () => {
      const user = await newUser(t.app, admin);
      const key = (await newApiKey(t.app, user, 'k')).key;
      await expect401(bearer(user.refreshToken), 'refresh token as bearer');
      await expect401(bearer(key), 'API key as bearer');
      await expect401({ 'x-api-key': user.accessToken }, 'access token as API key');
      await expect401({ authorization: `Token ${user.accessToken}` }, 'another scheme');
      await expect401({ cookie: `token=${user.accessToken}` }, 'token in a cookie');
      // A bad API key is not rescued by a good bearer token sent alongside.
      await expect401({ ...user.headers, 'x-api-key': `${key}x` }, 'bad key with good bearer');
      // Nor a bad bearer token by a good API key (the scheme's case is free: RFC 9110 §11.1).
      await expect401({ authorization: 'bearer abc.def.ghi', 'x-api-key': key }, 'good key with bad bearer');
      expect((await refresh(user.accessToken)).statusCode).toBe(401);
      const inQuery = await t.app.inject({
        method: 'GET',
        url: `/v1/users/me?access_token=${user.accessToken}`,
      });
      expect([400, 401]).toContain(inQuery.statusCode);
    });
  });

  describe('refresh tokens', () => {
    it('reuse revokes that family only: the thief and the victim both lose it, other sessions live', async () => {
      const user = await newUser(t.app, admin);
      const otherDevice = await login(t.app, user.email, user.password);
      const stolen = user.refreshToken;
      const victim = (await refresh(stolen)).json<{ refreshToken: string }>().refreshToken;
      const thief = await refresh(stolen);
      expect(thief.statusCode).toBe(401);
      expect(thief.json()).toMatchObject({ code: 'AUTH.INVALID_REFRESH_TOKEN' });
      expect((await refresh(victim)).statusCode).toBe(401);
      const rows = await t.app
        .get(DataSource)
        .query<{ n: number }[]>(
          'SELECT count(*)::int AS n FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL',
          [user.id],
        );
      expect(rows[0].n).toBe(1);
      expect((await refresh(otherDevice.refreshToken)).statusCode).toBe(200);
    });

    it.each([
      ['unknown, well formed', `jsr_${'A'.repeat(43)}`],
      ['unknown, no prefix', randomUUID()],
      ['empty', ''],
      ['the hash instead of the token', 'a'.repeat(64)],
    ])('%s → 401 (or 400 when malformed), never a session', async (_, token) => {
      const res = await refresh(token);
      expect([400, 401]).toContain(res.statusCode);
      expect(res.body).not.toContain('accessToken');
    });
  });

  describe('API keys', () => {
    it('wrong, prefix-only, altered, revoked and expired keys → 401', async () => {
      const user = await newUser(t.app, admin);
      const create = (payload: object) =>
        t.app.inject({ method: 'POST', url: '/v1/users/me/api-keys', headers: user.headers, payload });
      const good = (await create({ name: 'good' })).json<{ id: string; key: string; prefix: string }>();
      const revoked = (await create({ name: 'revoked' })).json<{ id: string; key: string }>();
      await t.app.inject({
        method: 'DELETE',
        url: `/v1/users/me/api-keys/${revoked.id}`,
        headers: user.headers,
      });
      const expiring = (
        await create({ name: 'expiring', expiresAt: new Date(Date.now() + 1000).toISOString() })
      ).json<{ key: string }>();
      const flip = (c: string) => (c === 'A' ? 'B' : 'A');
      const cases: [string, string][] = [
        ['prefix only', good.prefix],
        ['last character changed', `${good.key.slice(0, -1)}${flip(good.key.slice(-1))}`],
        ['upper-cased', good.key.toUpperCase() === good.key ? `${good.key}x` : good.key.toUpperCase()],
        ['one character short', good.key.slice(0, -1)],
        ['trailing space', `${good.key} `],
        ['random with the same prefix', `${good.prefix}${'x'.repeat(good.key.length - good.prefix.length)}`],
        ['revoked', revoked.key],
      ];
      for (const [label, key] of cases) await expect401({ 'x-api-key': key }, label);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await expect401({ 'x-api-key': expiring.key }, 'expired');
      expect((await me({ 'x-api-key': good.key })).statusCode).toBe(200);
    });
  });

  describe('what stolen credentials can do to the password (CONTRACT §4)', () => {
    const changePassword = (headers: Headers, currentPassword: string, newPassword = `new-${randomUUID()}`) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/users/me/password',
        headers,
        payload: { currentPassword, newPassword },
      });
    const passwordHash = async (id: string) =>
      (
        await t.app
          .get(DataSource)
          .query<{ password_hash: string }[]>('SELECT password_hash FROM users WHERE id = $1', [id])
      )[0].password_hash;

    it('wrong current passwords count towards the login lockout: no unlimited guessing with a stolen token', async () => {
      const victim = await newUser(t.app, admin);
      const hash = await passwordHash(victim.id);
      for (let i = 0; i < 5; i++) {
        const res = await changePassword(victim.headers, `guess-number-${i}`);
        expect(res.statusCode).toBe(400);
        expect(res.json()).toMatchObject({ code: 'USERS.WRONG_PASSWORD' });
      }
      // The sixth guess is refused before it is checked, even when it is right.
      const locked = await changePassword(victim.headers, victim.password);
      expect(locked.statusCode).toBe(429);
      expect(locked.json()).toMatchObject({ status: 429, code: 'AUTH.ACCOUNT_LOCKED' });
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(800);
      // The same budget as logins: the account is locked there too.
      expect((await loginAs(victim.email, victim.password)).statusCode).toBe(429);
      expect(await passwordHash(victim.id)).toBe(hash);
      expect((await me(victim.headers)).statusCode).toBe(200);
    });

    it('the right current password clears the count, as a successful login does', async () => {
      const user = await newUser(t.app, admin);
      for (let i = 0; i < 4; i++)
        expect((await changePassword(user.headers, `guess-${i}`)).statusCode).toBe(400);
      const newPassword = `changed-${randomUUID()}`;
      expect((await changePassword(user.headers, user.password, newPassword)).statusCode).toBe(204);
      for (let i = 0; i < 4; i++) expect((await loginAs(user.email, `guess-${i}`)).statusCode).toBe(401);
      expect((await loginAs(user.email, newPassword)).statusCode).toBe(200);
    });

    it('an API key can neither change the password nor mint keys (403, audited), and changes nothing', async () => {
      const user = await newUser(t.app, admin);
      const key = await newApiKey(t.app, user);
      const asKey = { 'x-api-key': key.key };
      const hash = await passwordHash(user.id);
      const keys = async () =>
        (
          await t.app
            .get(DataSource)
            .query<{ n: number }[]>('SELECT count(*)::int AS n FROM api_keys WHERE user_id = $1', [user.id])
        )[0].n;

      const password = await changePassword(asKey, user.password);
      const minted = await t.app.inject({
        method: 'POST',
        url: '/v1/users/me/api-keys',
        headers: asKey,
        payload: { name: 'minted by a key' },
      });
      for (const res of [password, minted]) {
        expect(res.statusCode).toBe(403);
        expect(res.json()).toMatchObject({ status: 403, code: 'AUTH.FORBIDDEN' });
        expect(res.json<{ detail: string }>().detail).toMatch(/API key/);
      }
      expect(await passwordHash(user.id)).toBe(hash);
      expect(await keys()).toBe(1);
      const denied = await t.app
        .get(DataSource)
        .query<{ resource_id: string }[]>(
          `SELECT resource_id FROM audit_logs WHERE action = 'authz.denied' AND actor_id = $1 ORDER BY at`,
          [user.id],
        );
      expect(denied.map((r) => r.resource_id)).toEqual([
        'POST /v1/users/me/password',
        'POST /v1/users/me/api-keys',
      ]);
      // The key still does a machine's work, and the account's owner can do both with the token.
      const listed = await t.app.inject({ method: 'GET', url: '/v1/users/me/api-keys', headers: asKey });
      expect(listed.statusCode).toBe(200);
      expect((await newApiKey(t.app, user)).key).toMatch(/^\S+$/);
      expect((await changePassword(user.headers, user.password)).statusCode).toBe(204);
    });

    it('a login with more than 72 bytes never matches, though bcrypt would read only the first 72', async () => {
      const password = 'p'.repeat(72);
      const { email } = await newUser(t.app, admin, 'user', password);
      expect((await loginAs(email, `${password}anything`)).statusCode).toBe(401);
      expect((await loginAs(email, password)).statusCode).toBe(200);
    });
  });

  describe('login lockout (CONTRACT §4)', () => {
    const body = (res: { json(): unknown }) => {
      const { requestId: _r, ...rest } = res.json() as Record<string, unknown>;
      return rest;
    };

    it('counts per account whatever the spelling of the email, and unlocks nobody else', async () => {
      const [victim, bystander] = [await newUser(t.app, admin), await newUser(t.app, admin)];
      const spellings = [victim.email, victim.email.toUpperCase(), `U${victim.email.slice(1)}`];
      for (let i = 0; i < 5; i++) {
        const res = await loginAs(spellings[i % spellings.length], `wrong-password-${i}`);
        expect(res.statusCode).toBe(401);
      }
      const locked = await loginAs(victim.email.toUpperCase(), victim.password);
      expect(locked.statusCode).toBe(429);
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
      // Another account, from the same client, is not affected.
      expect((await loginAs(bystander.email, bystander.password)).statusCode).toBe(200);
      // The victim's existing sessions are not ended by someone else's guessing.
      expect((await me(victim.headers)).statusCode).toBe(200);
    });

    it('an unknown email locks the same way, so the lockout does not reveal which accounts exist', async () => {
      const real = await newUser(t.app, admin);
      const ghost = `ghost-${randomUUID()}@test.local`;
      const trace: string[] = [];
      const bodies: Record<string, unknown>[] = [];
      for (const email of [real.email, ghost]) {
        const statuses: number[] = [];
        for (let i = 0; i < 6; i++) {
          const res = await loginAs(email, `wrong-password-${i}`);
          statuses.push(res.statusCode);
          if (i === 5) {
            bodies.push(body(res));
            expect(Number(res.headers['retry-after'])).toBeGreaterThan(800);
          }
        }
        trace.push(statuses.join(','));
      }
      expect(trace).toEqual(['401,401,401,401,401,429', '401,401,401,401,401,429']);
      expect(bodies[1]).toEqual(bodies[0]);
    });
  });
});
