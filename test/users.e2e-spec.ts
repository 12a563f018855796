import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { login, loginAdmin, newApiKey, newUser, type Session } from './support/auth';
import { startTestApp, type TestApp } from './support/test-app';

describe('users, API keys and roles (CONTRACT §4)', () => {
  let t: TestApp;
  let admin: Session;
  beforeAll(async () => {
    t = await startTestApp();
    admin = await loginAdmin(t.app);
  });
  afterAll(() => t.close());

  describe('own account', () => {
    it('PATCH /v1/users/me changes names and phone, and nothing else', async () => {
      const user = await newUser(t.app, admin);
      const ok = await t.app.inject({
        method: 'PATCH',
        url: '/v1/users/me',
        headers: user.headers,
        payload: { firstName: 'Ada', lastName: 'Lovelace', phone: '+44 20-7946 09' },
      });
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toMatchObject({
        firstName: 'Ada',
        lastName: 'Lovelace',
        phone: '+44 20-7946 09',
        role: 'user',
      });
    });

    it.each([
      [{ role: 'admin' }],
      [{ disabled: true }],
      [{ email: 'new@test.local' }],
      [{ phone: 'call me maybe' }],
      [{ firstName: 'x'.repeat(101) }],
    ])('rejects %j with 400 and changes nothing (mass assignment)', async (payload) => {
      const user = await newUser(t.app, admin);
      const res = await t.app.inject({
        method: 'PATCH',
        url: '/v1/users/me',
        headers: user.headers,
        payload,
      });
      expect(res.statusCode).toBe(400);
      const after = await t.app.inject({ method: 'GET', url: '/v1/users/me', headers: user.headers });
      expect(after.json()).toMatchObject({
        role: 'user',
        disabled: false,
        email: user.email,
        firstName: null,
      });
    });
  });

  describe('API keys', () => {
    it('are shown once, work as their owner, list without secrets, and die when revoked', async () => {
      const user = await newUser(t.app, admin);
      const created = await t.app.inject({
        method: 'POST',
        url: '/v1/users/me/api-keys',
        headers: user.headers,
        payload: { name: 'ci' },
      });
      expect(created.statusCode).toBe(201);
      const key = created.json<{ id: string; key: string; prefix: string; name: string }>();
      expect(key.key.startsWith(key.prefix)).toBe(true);
      expect(key).toMatchObject({ name: 'ci', expiresAt: null });

      const asKey = await t.app.inject({
        method: 'GET',
        url: '/v1/users/me',
        headers: { 'x-api-key': key.key },
      });
      expect(asKey.statusCode).toBe(200);
      expect(asKey.json()).toMatchObject({ id: user.id });

      const list = await t.app.inject({ method: 'GET', url: '/v1/users/me/api-keys', headers: user.headers });
      expect(list.json()).toEqual({
        items: [expect.objectContaining({ id: key.id, prefix: key.prefix })],
        nextCursor: null,
      });
      expect(list.body).not.toContain(key.key);
      const stored = await t.app
        .get(DataSource)
        .query<{ key_hash: string }[]>('SELECT key_hash FROM api_keys WHERE id = $1', [key.id]);
      expect(stored[0].key_hash).not.toContain(key.key.slice(key.prefix.length));

      const revoked = await t.app.inject({
        method: 'DELETE',
        url: `/v1/users/me/api-keys/${key.id}`,
        headers: user.headers,
      });
      expect(revoked.statusCode).toBe(204);
      const after = await t.app.inject({
        method: 'GET',
        url: '/v1/users/me',
        headers: { 'x-api-key': key.key },
      });
      expect(after.statusCode).toBe(401);
    });

    it('lists the keys a page at a time, newest first, like every list (CONTRACT §3)', async () => {
      const user = await newUser(t.app, admin);
      const made: string[] = [];
      for (let i = 0; i < 5; i++) made.push((await newApiKey(t.app, user, `k${i}`)).id);
      const revoked = made.shift() as string;
      const gone = await t.app.inject({
        method: 'DELETE',
        url: `/v1/users/me/api-keys/${revoked}`,
        headers: user.headers,
      });
      expect(gone.statusCode).toBe(204);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const url: string = `/v1/users/me/api-keys?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
        const res = await t.app.inject({ method: 'GET', url, headers: user.headers });
        expect(res.statusCode).toBe(200);
        const page = res.json<{ items: { id: string }[]; nextCursor: string | null }>();
        expect(page.items.length).toBeLessThanOrEqual(3);
        seen.push(...page.items.map((k) => k.id));
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(2);
      expect(seen).toEqual([...made].reverse());
      for (const url of [
        '/v1/users/me/api-keys?limit=0',
        '/v1/users/me/api-keys?cursor=garbage',
        '/v1/users/me/api-keys?x=1',
      ]) {
        const bad = await t.app.inject({ method: 'GET', url, headers: user.headers });
        expect(`${url} ${bad.statusCode}`).toBe(`${url} 400`);
      }
    });

    it("another user's key is not found, and stays valid", async () => {
      const owner = await newUser(t.app, admin);
      const other = await newUser(t.app, admin);
      const key = await newApiKey(t.app, owner, 'k');
      const res = await t.app.inject({
        method: 'DELETE',
        url: `/v1/users/me/api-keys/${key.id}`,
        headers: other.headers,
      });
      expect(res.statusCode).toBe(404);
      expect(
        (await t.app.inject({ method: 'GET', url: '/v1/users/me', headers: { 'x-api-key': key.key } }))
          .statusCode,
      ).toBe(200);
    });

    it('refuses an expiry in the past, and an expired key does not authenticate', async () => {
      const user = await newUser(t.app, admin);
      const past = await t.app.inject({
        method: 'POST',
        url: '/v1/users/me/api-keys',
        headers: user.headers,
        payload: { name: 'old', expiresAt: '2020-01-01T00:00:00Z' },
      });
      expect(past.statusCode).toBe(400);
      const soon = (
        await t.app.inject({
          method: 'POST',
          url: '/v1/users/me/api-keys',
          headers: user.headers,
          payload: { name: 'soon', expiresAt: new Date(Date.now() + 1500).toISOString() },
        })
      ).json<{ key: string }>();
      await new Promise((resolve) => setTimeout(resolve, 1600));
      expect(
        (await t.app.inject({ method: 'GET', url: '/v1/users/me', headers: { 'x-api-key': soon.key } }))
          .statusCode,
      ).toBe(401);
    });
  });

  describe('API key limit (API_KEYS_MAX_PER_USER)', () => {
    let limited: TestApp;
    let limitedAdmin: Session;
    beforeAll(async () => {
      limited = await startTestApp({ env: { API_KEYS_MAX_PER_USER: '3' } });
      limitedAdmin = await loginAdmin(limited.app);
    });
    afterAll(() => limited.close());

    const create = (user: Session, name: string) =>
      limited.app.inject({
        method: 'POST',
        url: '/v1/users/me/api-keys',
        headers: user.headers,
        payload: { name },
      });
    const held = async (user: Session) =>
      (
        await limited.app.inject({ method: 'GET', url: '/v1/users/me/api-keys', headers: user.headers })
      ).json<{ items: { id: string; name: string }[] }>().items;

    it('refuses one key more with 409, creates nothing, audits the refusal; a revoke frees a slot', async () => {
      const user = await newUser(limited.app, limitedAdmin);
      for (const name of ['a', 'b', 'c']) expect((await create(user, name)).statusCode).toBe(201);

      const refused = await create(user, 'd');
      expect(refused.statusCode).toBe(409);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.json()).toMatchObject({ status: 409, code: 'API_KEYS.LIMIT_REACHED' });
      expect((await held(user)).map((key) => key.name).sort()).toEqual(['a', 'b', 'c']);
      const [stored] = await limited.app
        .get(DataSource)
        .query<{ n: number }[]>("SELECT count(*)::int AS n FROM api_keys WHERE user_id = $1 AND name = 'd'", [
          user.id,
        ]);
      expect(stored.n).toBe(0);
      const audit = await limited.app
        .get(DataSource)
        .query<{ success: boolean; error_code: string | null }[]>(
          "SELECT success, error_code FROM audit_logs WHERE action = 'api_key.created' AND actor_id = $1",
          [user.id],
        );
      expect(audit.filter((row) => row.success)).toHaveLength(3);
      expect(audit.filter((row) => !row.success)).toEqual([
        { success: false, error_code: 'API_KEYS.LIMIT_REACHED' },
      ]);

      // Another user's keys do not count against this one.
      const other = await newUser(limited.app, limitedAdmin);
      expect((await create(other, 'x')).statusCode).toBe(201);

      const [first] = await held(user);
      const revoked = await limited.app.inject({
        method: 'DELETE',
        url: `/v1/users/me/api-keys/${first.id}`,
        headers: user.headers,
      });
      expect(revoked.statusCode).toBe(204);
      expect((await create(user, 'e')).statusCode).toBe(201);
    });

    it('an expired key no longer takes a slot', async () => {
      const user = await newUser(limited.app, limitedAdmin);
      for (const name of ['a', 'b', 'c']) expect((await create(user, name)).statusCode).toBe(201);
      expect((await create(user, 'd')).statusCode).toBe(409);
      await limited.app
        .get(DataSource)
        .query(
          "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE user_id = $1 AND name = 'a'",
          [user.id],
        );
      expect((await create(user, 'd')).statusCode).toBe(201);
    });

    it('concurrent creations cannot pass the limit together', async () => {
      const user = await newUser(limited.app, limitedAdmin);
      // On PostgreSQL the creations are made to overlap for sure: a second session holds back every
      // insert into api_keys until 4 creations are waiting. Without a per-user lock each of those
      // would have counted no key yet and all would go in. The embedded store has one connection,
      // so its transactions run one at a time anyway (store.int-spec proves that isolation).
      const blocker = limited.store.kind === 'postgres' ? new Client(limited.store.env.DATABASE_URL) : null;
      await blocker?.connect();
      try {
        await blocker?.query('BEGIN');
        await blocker?.query('LOCK TABLE api_keys IN SHARE ROW EXCLUSIVE MODE');
        const pending = Array.from({ length: 6 }, (_, i) => create(user, `k${i}`));
        if (blocker) {
          const deadline = Date.now() + 10_000;
          for (;;) {
            const [row] = (
              await blocker.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted')
            ).rows;
            if (row.n >= 4) break;
            if (Date.now() > deadline) throw new Error(`only ${row.n} creations waiting`);
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          await blocker.query('COMMIT');
        }
        const codes = (await Promise.all(pending)).map((res) => res.statusCode).sort();
        expect(codes).toEqual([201, 201, 201, 409, 409, 409]);
        expect(await held(user)).toHaveLength(3);
      } finally {
        await blocker?.end();
      }
    });
  });

  describe('admin', () => {
    it('a user gets 403 on every admin route, and each denial is audited', async () => {
      const user = await newUser(t.app, admin);
      const routes = [
        ['GET', '/v1/admin/users'],
        ['POST', '/v1/admin/users'],
        ['GET', `/v1/admin/users/${user.id}`],
        ['PATCH', `/v1/admin/users/${user.id}`],
        ['DELETE', `/v1/admin/users/${user.id}`],
        ['GET', '/v1/admin/audit-logs'],
      ] as const;
      for (const [method, url] of routes) {
        const res = await t.app.inject({
          method,
          url,
          headers: user.headers,
          payload: method === 'GET' ? undefined : {},
        });
        expect(`${method} ${url} ${res.statusCode}`).toBe(`${method} ${url} 403`);
      }
      const rows = await t.app
        .get(DataSource)
        .query<{ c: number }[]>(
          "SELECT count(*)::int AS c FROM audit_logs WHERE action = 'authz.denied' AND actor_id = $1 AND NOT success",
          [user.id],
        );
      expect(rows[0].c).toBe(routes.length);
    });

    it('creates users (409 on a duplicate email in any case), lists with filters, gets and deletes', async () => {
      const email = `Mixed-${randomUUID()}@Test.Local`;
      const created = await t.app.inject({
        method: 'POST',
        url: '/v1/admin/users',
        headers: admin.headers,
        payload: { email, password: 'long-enough-password', role: 'user', firstName: 'Grace' },
      });
      expect(created.statusCode).toBe(201);
      const user = created.json<{ id: string; email: string }>();
      expect(user.email).toBe(email.toLowerCase());
      expect(created.body).not.toMatch(/password/i);

      const dup = await t.app.inject({
        method: 'POST',
        url: '/v1/admin/users',
        headers: admin.headers,
        payload: { email: email.toUpperCase(), password: 'long-enough-password', role: 'user' },
      });
      expect(dup.statusCode).toBe(409);
      // The refusal is audited (CONTRACT §6), with the address it was refused for.
      const refusals = await t.app
        .get(DataSource)
        .query<{ success: boolean; error_code: string; changes: unknown }[]>(
          "SELECT success, error_code, changes FROM audit_logs WHERE action = 'user.created' AND request_id = $1",
          [dup.headers['x-request-id']],
        );
      expect(refusals).toEqual([
        {
          success: false,
          error_code: 'USERS.EMAIL_TAKEN',
          changes: { email: { after: email.toLowerCase() } },
        },
      ]);

      // One address however its accents are encoded: é as one code point, or e and a combining accent.
      const composed = `\u00e9mile-${randomUUID()}@test.local`;
      const first = await t.app.inject({
        method: 'POST',
        url: '/v1/admin/users',
        headers: admin.headers,
        payload: { email: composed, password: 'long-enough-password', role: 'user' },
      });
      expect(first.statusCode).toBe(201);
      const lookalike = await t.app.inject({
        method: 'POST',
        url: '/v1/admin/users',
        headers: admin.headers,
        payload: { email: composed.normalize('NFD'), password: 'long-enough-password', role: 'user' },
      });
      expect(lookalike.statusCode).toBe(409);

      const found = await t.app.inject({
        method: 'GET',
        url: `/v1/admin/users?email=${encodeURIComponent(email.slice(0, 20))}&role=user&disabled=false`,
        headers: admin.headers,
      });
      expect(found.json<{ items: { id: string }[] }>().items.map((u) => u.id)).toEqual([user.id]);

      expect(
        (await t.app.inject({ method: 'GET', url: `/v1/admin/users/${user.id}`, headers: admin.headers }))
          .statusCode,
      ).toBe(200);
      expect(
        (await t.app.inject({ method: 'DELETE', url: `/v1/admin/users/${user.id}`, headers: admin.headers }))
          .statusCode,
      ).toBe(204);
      expect(
        (await t.app.inject({ method: 'GET', url: `/v1/admin/users/${user.id}`, headers: admin.headers }))
          .statusCode,
      ).toBe(404);
      const malformed = await t.app.inject({
        method: 'GET',
        url: '/v1/admin/users/not-a-uuid',
        headers: admin.headers,
      });
      expect(malformed.statusCode).toBe(400);
      expect(malformed.json()).toMatchObject({ errors: [{ field: 'id', message: expect.any(String) }] });
    });

    it('paginates the user list newest first without duplicates', async () => {
      for (let i = 0; i < 5; i++) await newUser(t.app, admin);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const url: string = `/v1/admin/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
        const page = (await t.app.inject({ method: 'GET', url, headers: admin.headers })).json<{
          items: { id: string; createdAt: string }[];
          nextCursor: string | null;
        }>();
        seen.push(...page.items.map((u) => u.id));
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 100);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.length).toBeGreaterThanOrEqual(6);
      const bad = await t.app.inject({
        method: 'GET',
        url: '/v1/admin/users?cursor=garbage',
        headers: admin.headers,
      });
      expect(bad.statusCode).toBe(400);
      const huge = await t.app.inject({
        method: 'GET',
        url: '/v1/admin/users?limit=1000',
        headers: admin.headers,
      });
      expect(huge.statusCode).toBe(400);
    });

    it.each([{ role: null }, { disabled: null }])(
      'PATCH %j → 400 naming the field, and the user is unchanged',
      async (payload) => {
        const user = await newUser(t.app, admin);
        const res = await t.app.inject({
          method: 'PATCH',
          url: `/v1/admin/users/${user.id}`,
          headers: admin.headers,
          payload,
        });
        expect(res.statusCode).toBe(400);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.json<{ errors: { field: string }[] }>().errors.map((e) => e.field)).toEqual(
          Object.keys(payload),
        );
        const after = await t.app.inject({
          method: 'GET',
          url: `/v1/admin/users/${user.id}`,
          headers: admin.headers,
        });
        expect(after.json()).toMatchObject({ role: 'user', disabled: false });
      },
    );

    it('will not demote, disable or delete the last active admin', async () => {
      const store = await startTestApp({
        env: { ADMIN_EMAIL: 'solo@test.local', ADMIN_PASSWORD: 'solo-admin-password' },
      });
      try {
        const solo = await login(store.app, 'solo@test.local', 'solo-admin-password');
        const id = (
          await store.app.inject({ method: 'GET', url: '/v1/users/me', headers: solo.headers })
        ).json<{
          id: string;
        }>().id;
        for (const [method, payload] of [
          ['PATCH', { role: 'user' }],
          ['PATCH', { disabled: true }],
          ['DELETE', undefined],
        ] as const) {
          const res = await store.app.inject({
            method,
            url: `/v1/admin/users/${id}`,
            headers: solo.headers,
            payload,
          });
          expect(res.statusCode).toBe(409);
        }
        // The refused mutations left no half state: no audit row claims they happened, and each
        // refusal is audited as one (CONTRACT §6).
        const rows = await store.app
          .get(DataSource)
          .query<{ action: string; success: boolean; error_code: string | null }[]>(
            `SELECT action, success, error_code FROM audit_logs WHERE resource_id = $1
               AND action IN ('user.role_changed', 'user.disabled', 'user.deleted') ORDER BY action`,
            [id],
          );
        expect(rows).toEqual(
          ['user.deleted', 'user.disabled', 'user.role_changed'].map((action) => ({
            action,
            success: false,
            error_code: 'USERS.LAST_ADMIN',
          })),
        );
        const still = await store.app.inject({ method: 'GET', url: '/v1/users/me', headers: solo.headers });
        expect(still.json()).toMatchObject({ role: 'admin', disabled: false });
        const second = await newUser(store.app, solo, 'admin');
        const demote = await store.app.inject({
          method: 'PATCH',
          url: `/v1/admin/users/${id}`,
          headers: second.headers,
          payload: { role: 'user' },
        });
        expect(demote.statusCode).toBe(200);
      } finally {
        await store.close();
      }
    });
  });
});
