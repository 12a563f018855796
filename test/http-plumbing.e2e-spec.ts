import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { ProbeModule } from './support/probe.module';
import { startTestApp, type TestApp } from './support/test-app';

const UUID = /^[0-9a-f-]{36}$/;

function expectProblem(res: { headers: Record<string, unknown>; json(): unknown }, status: number) {
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json() as Record<string, unknown>;
  expect(body).toMatchObject({ status, title: expect.any(String), type: expect.any(String) });
  expect(body.requestId).toBe(res.headers['x-request-id']);
  return body;
}

describe('HTTP plumbing (CONTRACT §3)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ imports: [ProbeModule], env: { MAX_BODY_BYTES: '2048' } });
  });
  afterAll(() => t.close());

  describe('X-Request-Id', () => {
    it('is generated when the caller sends none', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/health/live' });
      expect(res.headers['x-request-id']).toMatch(UUID);
    });

    it("echoes a well-formed caller id, also in the problem's requestId", async () => {
      const res = await t.app.inject({
        method: 'GET',
        url: '/v1/nope',
        headers: { 'x-request-id': 'trace-42.a:b' },
      });
      expect(res.headers['x-request-id']).toBe('trace-42.a:b');
      expect(expectProblem(res, 404).requestId).toBe('trace-42.a:b');
    });

    it('replaces a malformed caller id with a UUID', async () => {
      const res = await t.app.inject({
        method: 'GET',
        url: '/health/live',
        headers: { 'x-request-id': 'bad id with spaces' },
      });
      expect(res.headers['x-request-id']).toMatch(UUID);
    });
  });

  describe('problem+json for every error', () => {
    it('unknown route → 404', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/v1/does-not-exist?x=1' });
      expect(res.statusCode).toBe(404);
      expect(expectProblem(res, 404)).toMatchObject({ instance: '/v1/does-not-exist', code: 'NOT_FOUND' });
    });

    it('malformed JSON → 400', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/probe/echo',
        headers: { 'content-type': 'application/json' },
        payload: '{"name": "a",',
      });
      expect(res.statusCode).toBe(400);
      expectProblem(res, 400);
    });

    it('DTO validation → 400 with errors[] naming each field, nested ones by path', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/probe/echo',
        payload: { name: '', count: 99, nested: { x: 'no' } },
      });
      expect(res.statusCode).toBe(400);
      const body = expectProblem(res, 400);
      expect(body.code).toBe('REQUEST.VALIDATION_FAILED');
      const fields = (body.errors as { field: string }[]).map((e) => e.field).sort();
      expect(fields).toEqual(['count', 'name', 'nested.x']);
    });

    it('unknown body fields are rejected, not dropped', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/probe/echo',
        payload: { name: 'ok', role: 'admin' },
      });
      expect(res.statusCode).toBe(400);
      expect(expectProblem(res, 400).errors).toEqual([
        { field: 'role', message: expect.stringContaining('role') },
      ]);
    });

    it('a valid body passes through', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/probe/echo',
        payload: { name: 'ok', count: 2 },
      });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toEqual({ name: 'ok', count: 2 });
    });

    it('a non-object body is a validation error', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/v1/probe/echo', payload: [1, 2] });
      expect(res.statusCode).toBe(400);
      expectProblem(res, 400);
    });

    it('body over MAX_BODY_BYTES → 413', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/probe/echo',
        payload: { name: 'x'.repeat(4096) },
      });
      expect(res.statusCode).toBe(413);
      expect(expectProblem(res, 413).code).toBe('REQUEST.TOO_LARGE');
    });

    it('unsupported content type → 415', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/probe/echo',
        headers: { 'content-type': 'application/xml' },
        payload: '<name>x</name>',
      });
      expect(res.statusCode).toBe(415);
      expectProblem(res, 415);
    });

    it('a compressed body (Content-Encoding) → 415, not a misleading "not valid JSON"; identity passes', async () => {
      const body = JSON.stringify({ name: 'x' });
      const gzipped = await t.app.inject({
        method: 'POST',
        url: '/v1/probe/echo',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        payload: gzipSync(body),
      });
      expect(expectProblem(gzipped, 415)).toMatchObject({
        code: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
        detail: expect.stringContaining('Content-Encoding'),
      });
      const identity = await t.app.inject({
        method: 'POST',
        url: '/v1/probe/echo',
        headers: { 'content-type': 'application/json', 'content-encoding': 'identity' },
        payload: body,
      });
      expect(identity.statusCode).toBe(201);
    });

    it('an unexpected error → 500 with a generic detail, no stack, no internals', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/v1/probe/boom' });
      expect(res.statusCode).toBe(500);
      const body = expectProblem(res, 500);
      expect(body.detail).toBe('An unexpected error occurred.');
      expect(res.body).not.toMatch(/SELECT|password|at \w+ \(|\.ts:\d+/);
    });
  });

  describe("what Node's HTTP parser refuses, before there is a request", () => {
    /** One raw request on its own connection; the answer as status, headers and body. */
    const raw = async (request: string) => {
      const address = t.app.getHttpServer().address() as { port: number };
      const socket = connect(address.port, '127.0.0.1');
      socket.end(request);
      const chunks: Buffer[] = [];
      for await (const chunk of socket) chunks.push(chunk as Buffer);
      const [head, body] = Buffer.concat(chunks).toString('utf8').split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(
        lines.map((line) => [
          line.slice(0, line.indexOf(':')).toLowerCase(),
          line.slice(line.indexOf(':') + 1).trim(),
        ]),
      );
      return {
        status: Number(statusLine.split(' ')[1]),
        headers,
        body: JSON.parse(body) as Record<string, unknown>,
      };
    };

    beforeAll(() => t.app.listen(0, '127.0.0.1'));

    it.each([
      [
        'headers over 16 KiB',
        `GET /v1/jobs?x=1 HTTP/1.1\r\nhost: a\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
        431,
        '/v1/jobs',
      ],
      ['a malformed request line', 'GARBAGE\r\n\r\n', 400, '/'],
    ])(
      '%s → problem+json with a request id and the security headers',
      async (_name, request, status, instance) => {
        const res = await raw(request);
        expect(res.status).toBe(status);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.headers['x-request-id']).toMatch(UUID);
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.body).toMatchObject({ status, instance, requestId: res.headers['x-request-id'] });
        expect(res.body).toEqual(
          expect.objectContaining({
            type: expect.any(String),
            title: expect.any(String),
            detail: expect.any(String),
          }),
        );
      },
    );
  });

  it.each([
    ['a malformed %-escape', '/v1/jobs/%', 400, '/v1/jobs/%'],
    [
      'a path parameter over 100 characters',
      `/v1/jobs/${'a'.repeat(10_000)}`,
      414,
      `/v1/jobs/${'a'.repeat(247)}`,
    ],
  ])(
    '%s (refused by the router, before any hook) → problem+json with the security headers, no-store, and no echo',
    async (_name, url, status, instance) => {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(status);
      expect(res.headers).toMatchObject({
        'content-type': expect.stringMatching(/^application\/problem\+json/),
        'x-request-id': expect.stringMatching(UUID),
        'x-content-type-options': 'nosniff',
        'content-security-policy': expect.stringContaining("default-src 'self'"),
        'cache-control': 'no-store',
      });
      expect(res.json()).toMatchObject({ status, instance, requestId: res.headers['x-request-id'] });
      expect(res.json<{ detail: string }>().detail).not.toContain('/v1/jobs');
      expect(res.body.length).toBeLessThan(1024);
    },
  );

  describe('security headers', () => {
    it('are on every response, API and docs alike', async () => {
      for (const url of ['/health/live', '/v1/nope', '/docs']) {
        const res = await t.app.inject({ method: 'GET', url });
        expect(res.headers).toMatchObject({
          'x-content-type-options': 'nosniff',
          'x-frame-options': 'SAMEORIGIN',
          'strict-transport-security': expect.stringContaining('max-age='),
          'content-security-policy': expect.stringContaining("default-src 'self'"),
        });
        // /docs over plain http must load its own assets over plain http.
        expect(res.headers['content-security-policy']).not.toMatch(/upgrade-insecure-requests/);
      }
    });
  });

  describe('Swagger UI and OpenAPI', () => {
    it('serves Swagger UI at /docs with assets its CSP allows', async () => {
      const page = await t.app.inject({ method: 'GET', url: '/docs' });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toMatch(/text\/html/);
      // Every script the page loads is same-origin, which the CSP's script-src 'self' allows.
      const scripts = [...page.body.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]);
      expect(scripts.length).toBeGreaterThan(0);
      expect(page.body).not.toMatch(/<script>(?!\s*<\/script>)/);
      for (const src of scripts) {
        expect(src).not.toMatch(/^https?:/);
        const asset = await t.app.inject({ method: 'GET', url: new URL(src, 'http://x/docs').pathname });
        expect(asset.statusCode).toBe(200);
      }
    });

    it('serves the OpenAPI 3 document with bearer and API-key schemes', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/docs-json' });
      expect(res.statusCode).toBe(200);
      const doc = res.json<{
        openapi: string;
        paths: Record<string, unknown>;
        components: { securitySchemes: object };
      }>();
      expect(doc.openapi).toMatch(/^3\./);
      expect(doc.components.securitySchemes).toMatchObject({
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        'api-key': { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      });
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining(['/health/live', '/health/ready', '/metrics']),
      );
    });
  });

  it('versions the API under /v1', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/v1/probe/items/7' })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/probe/items/7' })).statusCode).toBe(404);
  });

  it('sends no CORS headers unless CORS_ORIGINS allows the origin', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { origin: 'https://evil.example' },
    });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('CORS_ORIGINS', () => {
  it('allows listed origins only', async () => {
    const t = await startTestApp({ env: { CORS_ORIGINS: 'https://app.example,https://ops.example' } });
    try {
      const preflight = await t.app.inject({
        method: 'OPTIONS',
        url: '/v1/users/me',
        headers: { origin: 'https://ops.example', 'access-control-request-method': 'GET' },
      });
      expect(preflight.statusCode).toBeLessThan(300);
      expect(preflight.headers['access-control-allow-origin']).toBe('https://ops.example');
      // What a browser client of this API sends: every method it has, with a bearer token.
      const patch = await t.app.inject({
        method: 'OPTIONS',
        url: '/v1/users/me',
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': 'PATCH',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
      const allowed = String(patch.headers['access-control-allow-methods']).split(/,\s*/);
      expect(allowed).toEqual(expect.arrayContaining(['GET', 'POST', 'PATCH', 'DELETE']));
      expect(String(patch.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization');
      // A script may read what the answers carry for it: a 202's Location, the request id, the
      // rate limit's count.
      const live = await t.app.inject({
        method: 'GET',
        url: '/health/live',
        headers: { origin: 'https://app.example' },
      });
      const exposed = String(live.headers['access-control-expose-headers']).toLowerCase();
      for (const header of [
        'location',
        'retry-after',
        'x-request-id',
        'x-ratelimit-limit',
        'x-ratelimit-remaining',
        'x-ratelimit-reset',
      ])
        expect(exposed).toContain(header);
      const other = await t.app.inject({
        method: 'GET',
        url: '/health/live',
        headers: { origin: 'https://evil.example' },
      });
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});
