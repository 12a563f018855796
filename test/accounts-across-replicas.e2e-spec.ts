import { DataSource } from 'typeorm';
import { loginAdmin, newApiKey, newUser } from './support/auth';
import { startTestApp, type TestApp } from './support/test-app';

// PostgreSQL: two apps on one database, as two replicas, each with its own account cache. The
// embedded store serves one process, so there both "replicas" are the same app.
const REPLICAS = process.env.DATABASE_URL ? 2 : 1;

describe(`account changes made on one of ${REPLICAS} replica(s) (CONTRACT §4)`, () => {
  const apps: TestApp[] = [];
  const replica = (i: number) => apps[Math.min(i, apps.length - 1)].app;

  beforeAll(async () => {
    apps.push(await startTestApp());
    if (REPLICAS > 1) apps.push(await startTestApp({ store: apps[0].store }));
  });
  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
  });

  it('an admin demoted on one replica has no admin rights left on another, even cached', async () => {
    const root = await loginAdmin(replica(0));
    const other = await newUser(replica(0), root, 'admin');
    // The other replica has seen this admin act: its cache holds the admin role.
    expect(
      (await replica(1).inject({ method: 'GET', url: '/v1/admin/users', headers: other.headers })).statusCode,
    ).toBe(200);
    const demoted = await replica(0).inject({
      method: 'PATCH',
      url: `/v1/admin/users/${other.id}`,
      headers: root.headers,
      payload: { role: 'user' },
    });
    expect(demoted.statusCode).toBe(200);
    const create = await replica(1).inject({
      method: 'POST',
      url: '/v1/admin/users',
      headers: other.headers,
      payload: { email: `sneaky-${other.id}@test.local`, password: 'sneaky-password-1', role: 'admin' },
    });
    // A 401 on the same replica (its session ended), a 403 on another (its token still looks valid there).
    expect([401, 403]).toContain(create.statusCode);
  });

  it('a deleted user asking for their own account gets a 401, not a 404', async () => {
    const root = await loginAdmin(replica(0));
    const user = await newUser(replica(0), root);
    expect(
      (await replica(1).inject({ method: 'GET', url: '/v1/users/me', headers: user.headers })).statusCode,
    ).toBe(200);
    const deleted = await replica(0).inject({
      method: 'DELETE',
      url: `/v1/admin/users/${user.id}`,
      headers: root.headers,
    });
    expect(deleted.statusCode).toBe(204);
    const me = await replica(1).inject({ method: 'GET', url: '/v1/users/me', headers: user.headers });
    expect(me.statusCode).toBe(401);
    expect(me.headers['www-authenticate']).toBe('Bearer');
  });

  /** Polls until `request` answers `status`, for at most 2 s: well inside the caches' 10 s. */
  async function becomes(status: number, request: () => Promise<{ statusCode: number }>): Promise<number> {
    const deadline = Date.now() + 2000;
    let last = (await request()).statusCode;
    while (last !== status && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      last = (await request()).statusCode;
    }
    return last;
  }

  it('an API key revoked on one replica is refused on another as soon as the revocation commits', async () => {
    const root = await loginAdmin(replica(0));
    const user = await newUser(replica(0), root);
    const key = await newApiKey(replica(0), user);
    const viaKey = () =>
      replica(1).inject({ method: 'GET', url: '/v1/jobs', headers: { 'x-api-key': key.key } });
    expect((await viaKey()).statusCode).toBe(200);
    const revoked = await replica(0).inject({
      method: 'DELETE',
      url: `/v1/users/me/api-keys/${key.id}`,
      headers: user.headers,
    });
    expect(revoked.statusCode).toBe(204);
    expect(await becomes(401, viaKey)).toBe(401);
  });

  it('a user disabled on one replica is refused on another as soon as the change commits', async () => {
    const root = await loginAdmin(replica(0));
    const user = await newUser(replica(0), root);
    const asUser = () => replica(1).inject({ method: 'GET', url: '/v1/jobs', headers: user.headers });
    expect((await asUser()).statusCode).toBe(200);
    const disabled = await replica(0).inject({
      method: 'PATCH',
      url: `/v1/admin/users/${user.id}`,
      headers: root.headers,
      payload: { disabled: true },
    });
    expect(disabled.statusCode).toBe(200);
    expect(await becomes(401, asUser)).toBe(401);
  });

  it('after the LISTEN connection was lost, a change it missed is still honoured at once', async () => {
    const root = await loginAdmin(replica(0));
    const user = await newUser(replica(0), root);
    const asUser = () => replica(1).inject({ method: 'GET', url: '/v1/jobs', headers: user.headers });
    expect((await asUser()).statusCode).toBe(200);
    // Every replica's LISTEN connection dies; the disable's notification goes to no one.
    const db = replica(0).get(DataSource);
    await db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE application_name = 'jobs-service-listen' AND datname = current_database()`,
    );
    for (let left = 1; left > 0;) {
      [{ left }] = await db.query<{ left: number }[]>(
        `SELECT count(*)::int AS left FROM pg_stat_activity
         WHERE application_name = 'jobs-service-listen' AND datname = current_database()`,
      );
    }
    const disabled = await replica(0).inject({
      method: 'PATCH',
      url: `/v1/admin/users/${user.id}`,
      headers: root.headers,
      payload: { disabled: true },
    });
    expect(disabled.statusCode).toBe(200);
    // Reconnected (after 0.5 s), the other replica forgets what it may have missed.
    expect(await becomes(401, asUser)).toBe(401);
  });

  it('counts guesses sent at once to several replicas against one lockout', async () => {
    const root = await loginAdmin(replica(0));
    const user = await newUser(replica(0), root);
    const guesses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        replica(i % 2).inject({
          method: 'POST',
          url: '/v1/auth/login',
          payload: { email: user.email, password: `wrong-password-${i}` },
          remoteAddress: `198.51.100.${i + 1}`,
        }),
      ),
    );
    expect(guesses.map((res) => res.statusCode).sort()).toEqual([
      ...Array(5).fill(401),
      ...Array(15).fill(429),
    ]);
  });
});
