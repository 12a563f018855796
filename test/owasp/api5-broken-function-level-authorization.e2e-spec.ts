import type { LightMyRequestResponse } from 'fastify';
import { DataSource } from 'typeorm';
import { loginAdmin, newApiKey, newUser, type Session } from '../support/auth';
import { documentedRoutes, startTestApp, type TestApp } from '../support/test-app';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
interface Route {
  method: Method;
  /** As documented, e.g. /v1/admin/users/{id}. */
  path: string;
  /** As Fastify routes it, e.g. /v1/admin/users/:id (what the audit row names). */
  template: string;
  url: string;
}

const ANY_ID = '00000000-0000-4000-8000-000000000000';

// OWASP API5:2023. The routes come from the served OpenAPI document, not from a list in this
// file, so a new route is checked the day it appears: everything under /v1/admin answers a plain
// user 403 (audited, CONTRACT §6) and an anonymous caller 401, and no route outside /v1/admin is
// admin-only. test/route-inventory.e2e-spec.ts proves the 401s of every route.
describe('OWASP API5:2023 Broken Function Level Authorization', () => {
  let t: TestApp;
  let routes: Route[];
  let admin: Session;
  let user: Session & { id: string };
  let userKey: string;
  const hit = (route: Route, headers: Record<string, string>): Promise<LightMyRequestResponse> =>
    t.app.inject({
      method: route.method,
      url: route.url,
      headers,
      payload: route.method === 'GET' || route.method === 'DELETE' ? undefined : {},
    });
  const adminRoutes = () => routes.filter((r) => r.path.startsWith('/v1/admin/'));
  const denials = async (actorId: string) =>
    t.app
      .get(DataSource)
      .query<{ resource_id: string; actor_type: string; error_code: string; request_id: string }[]>(
        `SELECT resource_id, actor_type, error_code, request_id FROM audit_logs
         WHERE action = 'authz.denied' AND actor_id = $1 AND NOT success ORDER BY at`,
        [actorId],
      );

  beforeAll(async () => {
    t = await startTestApp();
    routes = (await documentedRoutes(t.app)).map(({ method, path }) => ({
      method: method as Method,
      path,
      template: path.replace(/\{([^}]+)\}/g, ':$1'),
      // A real job type for queue routes, an id for the rest: the guard must answer first anyway.
      url: path.replace('{type}', 'noop').replace(/\{[^}]+\}/g, ANY_ID),
    }));
    admin = await loginAdmin(t.app);
    user = await newUser(t.app, admin);
    userKey = (await newApiKey(t.app, user, 'k')).key;
  });
  afterAll(() => t.close());

  it('finds the admin surface in the document (users, queues, audit logs)', () => {
    const found = adminRoutes().map((r) => `${r.method} ${r.path}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'GET /v1/admin/users',
        'POST /v1/admin/users',
        'GET /v1/admin/users/{id}',
        'PATCH /v1/admin/users/{id}',
        'DELETE /v1/admin/users/{id}',
        'GET /v1/admin/queues',
        'POST /v1/admin/queues/{type}/pause',
        'POST /v1/admin/queues/{type}/resume',
        'GET /v1/admin/audit-logs',
      ]),
    );
  });

  it('a plain user gets 403 on every admin route and on nothing else; each 403 is audited', async () => {
    const forbidden: string[] = [];
    const requestIds: string[] = [];
    for (const route of routes) {
      const res = await hit(route, user.headers);
      if (res.statusCode === 403) {
        forbidden.push(`${route.method} ${route.path}`);
        requestIds.push(String(res.headers['x-request-id']));
        expect(res.json()).toMatchObject({ status: 403, code: 'AUTH.FORBIDDEN' });
      }
    }
    expect(forbidden.sort()).toEqual(
      adminRoutes()
        .map((r) => `${r.method} ${r.path}`)
        .sort(),
    );
    const rows = await denials(user.id);
    expect(rows.map((r) => r.resource_id).sort()).toEqual(
      adminRoutes()
        .map((r) => `${r.method} ${r.template}`)
        .sort(),
    );
    for (const row of rows) expect(row).toMatchObject({ actor_type: 'user', error_code: 'AUTH.FORBIDDEN' });
    expect(rows.map((r) => r.request_id).sort()).toEqual(requestIds.sort());
  });

  it("the user's API key gets the same 403s (a key acts with its owner's role)", async () => {
    for (const route of adminRoutes()) {
      const res = await hit(route, { 'x-api-key': userKey });
      expect(`${route.method} ${route.path} ${res.statusCode}`).toBe(`${route.method} ${route.path} 403`);
    }
    const rows = await denials(user.id);
    expect(rows.filter((r) => r.actor_type === 'apikey')).toHaveLength(adminRoutes().length);
  });

  it('HEAD on an admin GET route is guarded like the GET', async () => {
    for (const route of adminRoutes().filter((r) => r.method === 'GET')) {
      const res = await t.app.inject({ method: 'HEAD', url: route.url, headers: user.headers });
      expect(`HEAD ${route.path} ${res.statusCode}`).toBe(`HEAD ${route.path} 403`);
      expect(res.body).toBe('');
    }
  });

  it('anonymous callers get 401 with WWW-Authenticate on every admin route, and nothing is audited as theirs', async () => {
    for (const route of adminRoutes()) {
      const res = await hit(route, {});
      expect(`${route.method} ${route.path} ${res.statusCode}`).toBe(`${route.method} ${route.path} 401`);
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
  });

  it('the 403 comes before any work: no user, queue or audit change from the denied calls', async () => {
    const db = t.app.get(DataSource);
    const state = () =>
      Promise.all([
        db.query('SELECT id, role, disabled, updated_at FROM users ORDER BY id'),
        db.query('SELECT type, paused FROM job_queues ORDER BY type'),
        db.query("SELECT count(*)::int AS n FROM audit_logs WHERE action <> 'authz.denied'"),
      ]);
    const before = await state();
    for (const route of adminRoutes()) {
      await t.app.inject({
        method: route.method,
        url: route.url.replace(ANY_ID, user.id),
        headers: user.headers,
        payload: route.method === 'PATCH' ? { role: 'admin' } : route.method === 'POST' ? {} : undefined,
      });
    }
    expect(await state()).toEqual(before);
    const me = await t.app.inject({ method: 'GET', url: '/v1/users/me', headers: user.headers });
    expect(me.json()).toMatchObject({ role: 'user' });
  });

  it('an admin passes the guard on every admin route (the 403s are about the role)', async () => {
    for (const route of adminRoutes()) {
      const res = await hit(route, admin.headers);
      expect(`${route.method} ${route.path} ${res.statusCode}`).not.toMatch(/ 40[13]$/);
    }
    // The pause above must not outlive this test.
    await t.app.inject({ method: 'POST', url: '/v1/admin/queues/noop/resume', headers: admin.headers });
  });
});
