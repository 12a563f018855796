import { startTestApp, type TestApp } from '../support/test-app';

const ANY_ID = '00000000-0000-4000-8000-000000000000';
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
// Served on purpose without being operations of the API: Swagger UI, its assets, the document.
const DOCS = /^\/docs(-json|\/.*)?$/;

// OWASP API9:2023. The OpenAPI document is the inventory: everything Fastify serves is in it and
// everything in it is served (test/route-inventory.e2e-spec.ts checks the second half and that
// each documented route needs credentials), no method answers that is not documented, HEAD
// mirrors GET with its guards, and no old or unversioned copy of the API answers.
describe('OWASP API9:2023 Improper Inventory Management', () => {
  let t: TestApp;
  const served: { method: string; url: string }[] = [];
  let documented: Map<string, Set<string>>;
  const key = (method: string, url: string) => `${method} ${url}`;

  beforeAll(async () => {
    t = await startTestApp({
      beforeInit: (app) =>
        app
          .getHttpAdapter()
          .getInstance()
          .addHook('onRoute', (route) => {
            for (const method of [route.method].flat()) served.push({ method, url: route.url ?? route.path });
          }),
    });
    const doc = (await t.app.inject({ method: 'GET', url: '/docs-json' })).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    documented = new Map(
      Object.entries(doc.paths).map(([path, ops]) => [
        path.replace(/\{([^}]+)\}/g, ':$1'),
        new Set(Object.keys(ops).map((m) => m.toUpperCase())),
      ]),
    );
  });
  afterAll(() => t.close());

  it('every route the server registered is documented, and every documented one registered', () => {
    const api = served.filter((r) => r.method !== 'HEAD' && !DOCS.test(r.url));
    expect(api.length).toBeGreaterThan(15);
    const servedKeys = new Set(api.map((r) => key(r.method, r.url)));
    const documentedKeys = new Set(
      [...documented].flatMap(([url, methods]) => [...methods].map((m) => key(m, url))),
    );
    expect([...servedKeys].filter((k) => !documentedKeys.has(k))).toEqual([]);
    expect([...documentedKeys].filter((k) => !servedKeys.has(k))).toEqual([]);
    // Every HEAD is Fastify's automatic twin of a documented GET, nothing of its own.
    for (const head of served.filter((r) => r.method === 'HEAD' && !DOCS.test(r.url))) {
      expect(documented.get(head.url)?.has('GET')).toBe(true);
    }
  });

  it('an undocumented method on a documented path is a 404 problem, never served', async () => {
    const tried: string[] = [];
    for (const [url, methods] of documented) {
      const path = url.replace(/:[^/]+/g, ANY_ID);
      // GET /v1/jobs/batch is GET /v1/jobs/:id with id "batch": another route's business.
      const servedElsewhere = (method: string) =>
        [...documented].some(
          ([other, otherMethods]) =>
            otherMethods.has(method) && new RegExp(`^${other.replace(/:[^/]+/g, '[^/]+')}$`).test(path),
        );
      for (const method of [...METHODS, 'TRACE'].filter((m) => !methods.has(m) && !servedElsewhere(m))) {
        const res = await t.app.inject({
          method: method as 'GET',
          url: path,
          payload: method === 'GET' ? undefined : {},
        });
        tried.push(`${method} ${url} → ${res.statusCode}`);
        expect(`${method} ${url} → ${res.statusCode}`).toBe(`${method} ${url} → 404`);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
    }
    expect(tried.length).toBeGreaterThan(50);
  });

  it('HEAD answers like GET, guards included, with no body', async () => {
    for (const [url, methods] of documented) {
      if (!methods.has('GET')) continue;
      const path = url.replace(/:[^/]+/g, ANY_ID);
      const [get, head] = await Promise.all(
        (['GET', 'HEAD'] as const).map((method) => t.app.inject({ method, url: path })),
      );
      expect(`HEAD ${url} → ${head.statusCode}`).toBe(`HEAD ${url} → ${get.statusCode}`);
      expect(head.body).toBe('');
    }
  });

  it('OPTIONS is not served without CORS_ORIGINS', async () => {
    for (const url of ['/v1/jobs', '/v1/admin/users', '/health/live']) {
      expect((await t.app.inject({ method: 'OPTIONS', url })).statusCode).toBe(404);
    }
  });

  it.each([
    '/jobs',
    '/v0/jobs',
    '/v2/jobs',
    '/api/v1/jobs',
    '/v1/v1/jobs',
    '/V1/jobs',
    '/v1/jobs/',
    '/v1//jobs',
  ])('no other copy of the API answers: %s → 404', async (url) => {
    const res = await t.app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(404);
  });

  it('the document names the service and its version, and no server URL of another environment', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs-json' })).json<{
      info: { title: string; version: string };
      servers?: { url: string }[];
    }>();
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(doc.info.title).toBeTruthy();
    for (const server of doc.servers ?? []) expect(server.url).not.toMatch(/staging|dev|internal|localhost/);
  });
});
