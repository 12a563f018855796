import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { DataSource } from 'typeorm';
import { loginAdmin, newUser, type Session } from '../support/auth';
import { runServiceToExit } from '../support/spawn-service';
import { startTestApp, type TestApp } from '../support/test-app';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'OPTIONS';
type Call = [string, Method, string, ('user' | 'admin' | 'none')?, unknown?, Record<string, string>?];

const METRICS_TOKEN = 'scrape-token-for-owasp-0123456789';
// What must never reach a client: stack frames, source paths, SQL, driver and ORM names.
const INTERNALS =
  /\bat \S+ \(|\.ts:\d+|\.js:\d+|node_modules|\bSELECT\b|\bINSERT\b|\bUPDATE\b|\bWHERE\b|QueryFailedError|typeorm|\bpg\b|postgres|duplicate key|violates|syntax error/i;

// OWASP API8:2023. test/http-plumbing.e2e-spec.ts proves the headers on three routes, CORS with a
// list, and a generic 500; test/config.e2e-spec.ts a missing JWT_SECRET in production;
// test/bootstrap.e2e-spec.ts that production creates no default admin; test/metrics.e2e-spec.ts
// the metrics token. This file sweeps every kind of response for headers and leaks, documents the
// CORS policy, and proves that input PostgreSQL cannot store is a 400, never a 500.
//
// CORS policy found in src/app.factory.ts: with CORS_ORIGINS unset, no CORS at all (no
// Access-Control-* header, preflights are 404). With a list, exactly those origins are echoed,
// `credentials: false` always (the API uses bearer tokens, never cookies), so a wildcard is never
// combined with credentials. CORS_ORIGINS='*' is accepted and answers `*` (without credentials).
describe('OWASP API8:2023 Security Misconfiguration', () => {
  let t: TestApp;
  let admin: Session;
  let user: Session & { id: string };
  const send = async ([, method, url, who = 'user', payload, headers = {}]: Call) =>
    t.app.inject({
      method,
      url,
      headers: { ...(who === 'none' ? {} : (who === 'admin' ? admin : user).headers), ...headers },
      payload: payload as InjectOptions['payload'],
    });

  beforeAll(async () => {
    t = await startTestApp({ env: { METRICS_TOKEN, MAX_BODY_BYTES: '8192' } });
    admin = await loginAdmin(t.app);
    user = await newUser(t.app, admin);
  });
  afterAll(() => t.close());

  const errorCalls: Call[] = [
    ['unknown route', 'GET', '/v1/nope'],
    ['no credentials', 'GET', '/v1/jobs', 'none'],
    ['not an admin', 'GET', '/v1/admin/users'],
    ['bad id', 'GET', '/v1/jobs/1%27%20OR%201=1--'],
    ['unknown job', 'GET', '/v1/jobs/00000000-0000-4000-8000-000000000000'],
    [
      'malformed JSON',
      'POST',
      '/v1/jobs',
      'user',
      '{"type": "noop",',
      { 'content-type': 'application/json' },
    ],
    ['XML', 'POST', '/v1/jobs', 'user', '<job/>', { 'content-type': 'application/xml' }],
    ['too large', 'POST', '/v1/jobs', 'user', { type: 'noop', payload: { x: 'x'.repeat(9000) } }],
    ['unknown type', 'POST', '/v1/jobs', 'user', { type: "noop'; DROP TABLE jobs;--", payload: {} }],
    ['bad cursor', 'GET', '/v1/jobs?cursor=%27%3B--', 'user'],
    ['array for a scalar', 'GET', '/v1/jobs?status=queued&status=failed', 'user'],
    ['bad date', 'GET', '/v1/admin/audit-logs?from=2024-13-45T99:99:99Z', 'admin'],
    [
      'duplicate email',
      'POST',
      '/v1/admin/users',
      'admin',
      { email: 'admin@test.local', password: 'long-enough-password', role: 'user' },
    ],
    ['last admin', 'DELETE', '/v1/admin/users/self', 'admin'],
    [
      'nesting 4000 deep',
      'POST',
      '/v1/jobs',
      'user',
      `{"type":"noop","payload":{"a":${'['.repeat(4000)}${']'.repeat(4000)}}}`,
      { 'content-type': 'application/json' },
    ],
    ['NUL in a payload', 'POST', '/v1/jobs', 'user', { type: 'noop', payload: { a: 'x\u0000' } }],
    ['NUL in a payload key', 'POST', '/v1/jobs', 'user', { type: 'noop', payload: { 'a\u0000': 1 } }],
    ['NUL in a name', 'POST', '/v1/jobs', 'user', { type: 'noop', payload: {}, name: 'x\u0000' }],
    [
      'lone surrogate in a payload',
      'POST',
      '/v1/jobs',
      'user',
      '{"type":"noop","payload":{"a":"\\ud800"}}',
      { 'content-type': 'application/json' },
    ],
    ['NUL in a profile', 'PATCH', '/v1/users/me', 'user', { firstName: 'a\u0000' }],
    ['NUL in an API key name', 'POST', '/v1/users/me/api-keys', 'user', { name: 'k\u0000' }],
    ['NUL in a query', 'GET', '/v1/jobs?name=a%00', 'user'],
    ['NUL in a user filter', 'GET', '/v1/admin/users?email=a%00', 'admin'],
    ['NUL in an audit filter', 'GET', '/v1/admin/audit-logs?action=a%00', 'admin'],
    ['NUL in a path', 'POST', '/v1/admin/queues/a%00/pause', 'admin'],
    ['NUL in a refresh token', 'POST', '/v1/auth/refresh', 'none', { refreshToken: 'jsr_\u0000' }],
  ];

  it.each(errorCalls)('%s → a 4xx problem, no internals, security headers on', async (...call) => {
    if (call[2] === '/v1/admin/users/self') {
      call[2] = `/v1/admin/users/${(await t.app.inject({ method: 'GET', url: '/v1/users/me', headers: admin.headers })).json<{ id: string }>().id}`;
    }
    const res = await send(call);
    expect(`${res.statusCode}`).toMatch(/^4\d\d$/);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).not.toMatch(INTERNALS);
    expectSecurityHeaders(res);
  });

  it.each([
    ['SQL in a job filter', "/v1/jobs?name=x'%20OR%20'1'='1&type=%27"],
    ['LIKE wildcards in the email filter', '/v1/admin/users?email=%25'],
    ['an escaped wildcard', '/v1/admin/users?email=%5C%25'],
  ])('%s is data, not SQL: 200 and nothing matches', async (_, url) => {
    const res = await t.app.inject({ method: 'GET', url, headers: admin.headers });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ items: [], nextCursor: null });
  });

  it('nothing the refused NUL requests sent reached the store', async () => {
    const rows = await t.app
      .get(DataSource)
      .query<{ n: number }[]>('SELECT count(*)::int AS n FROM jobs WHERE owner_id = $1', [user.id]);
    expect(rows[0].n).toBe(0);
  });

  it.each<Call>([
    ['200 JSON', 'GET', '/v1/users/me'],
    ['202 job', 'POST', '/v1/jobs', 'user', { type: 'noop', payload: {}, delaySeconds: 60 }],
    ['201 API key', 'POST', '/v1/users/me/api-keys', 'user', { name: 'k' }],
    ['204 logout', 'POST', '/v1/auth/logout', 'none', { refreshToken: 'jsr_x' }],
    ['OpenAPI', 'GET', '/docs-json', 'none'],
    ['probe', 'GET', '/health/ready', 'none'],
    ['metrics refused', 'GET', '/metrics', 'none'],
  ])('%s carries the security headers and no server fingerprint', async (...call) => {
    const res = await send(call);
    expect(res.statusCode).toBeLessThan(500);
    expectSecurityHeaders(res);
  });

  it('/metrics with METRICS_TOKEN: a user or admin JWT, or the token elsewhere, is not the token', async () => {
    for (const headers of [user.headers, admin.headers, { 'x-api-key': METRICS_TOKEN }, {}]) {
      const res = await t.app.inject({ method: 'GET', url: '/metrics', headers });
      expect(res.statusCode).toBe(401);
      expect(res.body).not.toContain('process_cpu');
    }
    const inQuery = await t.app.inject({ method: 'GET', url: `/metrics?token=${METRICS_TOKEN}` });
    expect(inQuery.statusCode).toBe(401);
    const ok = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(ok.statusCode).toBe(200);
  });

  it('without CORS_ORIGINS: no Access-Control-* headers for any origin, and preflights are refused', async () => {
    const get = await t.app.inject({
      method: 'GET',
      url: '/v1/users/me',
      headers: { ...user.headers, origin: 'https://evil.example' },
    });
    expect(get.statusCode).toBe(200);
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/v1/jobs',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.statusCode).toBe(404);
    for (const res of [get, preflight]) {
      expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    }
  });

  // A list of origins is proven in test/http-plumbing.e2e-spec.ts (listed only, no credentials).
  it("CORS_ORIGINS='*' answers any origin with *, and never with credentials", async () => {
    const cors = await startTestApp({ env: { CORS_ORIGINS: '*', JOBS_WORKER_ENABLED: 'false' } });
    try {
      for (const origin of ['https://app.example', 'https://evil.example', 'null']) {
        const res = await cors.app.inject({
          method: 'OPTIONS',
          url: '/v1/jobs',
          headers: {
            origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'authorization',
          },
        });
        expect(res.headers['access-control-allow-origin']).toBe('*');
        expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      }
    } finally {
      await cors.close();
    }
  });

  it('production refuses weak secrets: a short JWT_SECRET and BCRYPT_ROUNDS below 10', async () => {
    const { code, stdout, stderr } = await runServiceToExit({
      NODE_ENV: 'production',
      JWT_SECRET: 'changeme',
      BCRYPT_ROUNDS: '9',
    });
    expect(code).toBe(1);
    expect(stderr).toContain('JWT_SECRET');
    expect(stderr).toContain('BCRYPT_ROUNDS must be at least 10');
    expect(`${stdout}${stderr}`).not.toContain('changeme');
    expect(stdout).not.toContain('listening');
  });
});

function expectSecurityHeaders(res: LightMyRequestResponse): void {
  expect(res.headers).toMatchObject({
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'SAMEORIGIN',
    'strict-transport-security': expect.stringContaining('max-age='),
    'content-security-policy': expect.stringContaining("frame-ancestors 'none'"),
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
  });
  expect(res.headers['x-powered-by']).toBeUndefined();
  expect(res.headers.server).toBeUndefined();
}
