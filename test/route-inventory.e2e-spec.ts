import { loginAdmin } from './support/auth';
import { documentedRoutes, startTestApp, type TestApp } from './support/test-app';

// The only routes anyone may call without credentials (STYLE: secure by default).
const PUBLIC = new Set([
  'GET /health/live',
  'GET /health/ready',
  'GET /metrics',
  'POST /v1/auth/login',
  'POST /v1/auth/refresh',
  'POST /v1/auth/logout',
]);

/** A documented path with its parameters filled in (a well-formed id nobody has). */
const concrete = (path: string) => path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000');

describe('route inventory', () => {
  let t: TestApp;
  let routes: { method: string; path: string }[];

  beforeAll(async () => {
    t = await startTestApp();
    routes = await documentedRoutes(t.app);
  });
  afterAll(() => t.close());

  it('every documented route needs credentials unless it is on the public list', async () => {
    expect(routes.length).toBeGreaterThan(15);
    for (const { method, path } of routes) {
      const url = concrete(path);
      const res = await t.app.inject({
        method: method as 'GET',
        url,
        payload: method === 'GET' ? undefined : {},
      });
      const key = `${method} ${path}`;
      if (PUBLIC.has(key)) expect(`${key} ${res.statusCode}`).not.toBe(`${key} 401`);
      else expect(`${key} ${res.statusCode}`).toBe(`${key} 401`);
    }
  });

  it('every route that takes a request body or none refuses an unknown body field (CONTRACT §3)', async () => {
    const admin = await loginAdmin(t.app);
    const writes = routes.filter((r) => r.method !== 'GET');
    expect(writes.length).toBeGreaterThan(10);
    for (const { method, path } of writes) {
      const url = concrete(path);
      const res = await t.app.inject({
        method: method as 'POST',
        url,
        headers: admin.headers,
        payload: { zzUnknownField: 1 },
      });
      const key = `${method} ${path}`;
      expect(`${key} ${res.statusCode}`).toBe(`${key} 400`);
      expect(res.json<{ errors: { field: string }[] }>().errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ field: 'zzUnknownField' })]),
      );
    }
  });

  it('every documented route is served', () => {
    const fastify = t.app.getHttpAdapter().getInstance();
    for (const r of routes) {
      const url = r.path.replace(/\{([^}]+)\}/g, ':$1');
      expect(`${r.method} ${url} ${fastify.hasRoute({ method: r.method, url })}`).toBe(
        `${r.method} ${url} true`,
      );
    }
  });
});
