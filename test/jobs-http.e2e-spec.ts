import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LightMyRequestResponse } from 'fastify';
import { loginAdmin, newUser, type Session } from './support/auth';
import { type JobJson, submitJob, waitForJob } from './support/jobs';
import { startTestApp, type TestApp } from './support/test-app';

// CONTRACT §5, the `http` built-in type, against a real HTTP target on 127.0.0.1 (the outside
// world of this test). The app allow-lists 127.0.0.1 so it may call the target at all.

interface Seen {
  method: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  /** Resolves when the connection closed before the target answered (the client aborted). */
  aborted: Promise<void>;
}
type Route = (res: ServerResponse, call: number) => void;

/** A local HTTP server; each test takes fresh paths so that tests share nothing. */
class Target {
  private readonly routes = new Map<string, Route>();
  private readonly seen = new Map<string, Seen[]>();
  private readonly server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      const calls = this.seen.get(path) ?? [];
      this.seen.set(path, calls);
      const aborted = new Promise<void>((resolve) => res.on('close', () => !res.writableEnded && resolve()));
      calls.push({
        method: req.method ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
        at: Date.now(),
        aborted,
      });
      (this.routes.get(path) ?? ((r) => r.writeHead(404).end()))(res, calls.length);
    });
  });
  port = 0;

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** A fresh path answered by `route`, as a URL on `host`. */
  route(route: Route, host = '127.0.0.1'): string {
    const path = `/${randomUUID()}`;
    this.routes.set(path, route);
    return `http://${host}:${this.port}${path}`;
  }

  requests(url: string): Seen[] {
    return this.seen.get(new URL(url).pathname) ?? [];
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const send =
  (status: number, body = '', headers: Record<string, string> = {}): Route =>
  (res) =>
    res.writeHead(status, { 'content-length': String(Buffer.byteLength(body)), ...headers }).end(body);
const hold: Route = () => undefined;
const FAST_RETRY = { backoff: { baseSeconds: 0.05, maxSeconds: 0.1 } };

describe('the http job type (CONTRACT §5)', () => {
  const target = new Target();
  let t: TestApp;
  let user: Session;
  beforeAll(async () => {
    await target.start();
    t = await startTestApp({
      // Every test here calls one origin, many of them failing on purpose: the breaker, tested in
      // jobs-http-breaker, must not trip across tests.
      env: {
        JOBS_HTTP_ALLOWED_HOSTS: '127.0.0.1',
        JOBS_HTTP_MAX_RESPONSE_BYTES: '1000',
        JOBS_HTTP_BREAKER_FAILURES: '1000',
      },
    });
    user = await newUser(t.app, await loginAdmin(t.app));
  });
  afterAll(async () => {
    await t.close();
    await target.close();
  });

  const submitHttp = (payload: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    submitJob(t.app, user, { type: 'http', payload, ...extra });
  const run = async (payload: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    waitForJob(t.app, user, (await submitHttp(payload, extra)).id);
  const resultOf = async (job: JobJson) =>
    (await t.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}/result`, headers: user.headers })).json<{
      result: Record<string, unknown>;
    }>().result;

  it('calls the target with X-Job-Id / X-Job-Attempt and keeps a selected response', async () => {
    const url = target.route(
      send(201, '{"ok":true}', {
        'content-type': 'application/json',
        etag: '"v1"',
        'set-cookie': 'sid=secret',
        'x-other': '1',
      }),
    );
    const body = { order: 42, tags: ['a', { b: null }], note: 'é' };
    const job = await run({ url, body, headers: { authorization: 'Bearer t0k', 'X-Job-Id': 'spoofed' } });
    expect(job).toMatchObject({ status: 'succeeded', attempts: 1, lastError: null });
    const [seen] = target.requests(url);
    expect(seen.method).toBe('POST');
    expect(seen.headers).toMatchObject({
      'x-job-id': job.id,
      'x-job-attempt': '1',
      authorization: 'Bearer t0k',
      'content-type': 'application/json',
    });
    expect(JSON.parse(seen.body)).toEqual(body);
    expect(await resultOf(job)).toEqual({
      status: 201,
      headers: { 'content-type': 'application/json', 'content-length': '11', etag: '"v1"' },
      body: '{"ok":true}',
      bodyTruncated: false,
      durationMs: expect.any(Number),
    });
  });

  it('sends a string body as is, and no body on GET', async () => {
    const url = target.route(send(204));
    await run({ url, method: 'PUT', body: 'raw <xml/>', headers: { 'content-type': 'application/xml' } });
    await run({ url, method: 'GET' });
    const [put, get] = target.requests(url);
    expect(put).toMatchObject({
      method: 'PUT',
      body: 'raw <xml/>',
      headers: { 'content-type': 'application/xml' },
    });
    expect(get).toMatchObject({ method: 'GET', body: '' });
    expect(get.headers['content-type']).toBeUndefined();
  });

  it('retries a 503 with the job backoff until it succeeds', async () => {
    const url = target.route((res, call) =>
      send(call <= 2 ? 503 : 200, call <= 2 ? 'busy' : 'ok')(res, call),
    );
    const job = await run({ url }, FAST_RETRY);
    expect(job).toMatchObject({ status: 'succeeded', attempts: 3, lastError: { code: 'HTTP_SERVER_ERROR' } });
    expect(job.lastError?.message).toMatch(/answered 503: busy/);
    expect(target.requests(url).map((r) => r.headers['x-job-attempt'])).toEqual(['1', '2', '3']);
  });

  it('fails at once on a 4xx outside expectStatus; expectStatus makes it a success', async () => {
    const url = target.route(send(404, 'no such thing'));
    const failed = await run({ url }, { maxAttempts: 5 });
    expect(failed).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: { code: 'HTTP_UNEXPECTED_STATUS' },
    });
    const accepted = await run({ url, expectStatus: [200, 404] });
    expect(accepted.status).toBe('succeeded');
    expect(await resultOf(accepted)).toMatchObject({ status: 404, body: 'no such thing' });
    expect(await run({ url: target.route(send(200)), expectStatus: 201 })).toMatchObject({
      status: 'failed',
      attempts: 1,
    });
  });

  it('a retried job goes on numbering its calls: a receiver may de-duplicate on X-Job-Id and X-Job-Attempt', async () => {
    const url = target.route((res, call) => send(call === 1 ? 404 : 200)(res, call));
    const failed = await run({ url }, { maxAttempts: 1 });
    expect(failed).toMatchObject({ status: 'failed', attempts: 1 });
    const retried = await t.app.inject({
      method: 'POST',
      url: `/v1/jobs/${failed.id}/retry`,
      headers: user.headers,
    });
    expect(retried.statusCode).toBe(202);
    // A fresh budget: attempts counts from 0 again, the numbers do not.
    expect(retried.json()).toMatchObject({ status: 'queued', attempts: 0 });
    expect(await waitForJob(t.app, user, failed.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(target.requests(url).map((r) => r.headers['x-job-attempt'])).toEqual(['1', '2']);
    const history = await t.app.inject({
      method: 'GET',
      url: `/v1/jobs/${failed.id}/attempts`,
      headers: user.headers,
    });
    expect(history.json<{ items: { attempt: number; outcome: string }[] }>().items).toEqual([
      expect.objectContaining({ attempt: 1, outcome: 'failed' }),
      expect.objectContaining({ attempt: 2, outcome: 'succeeded' }),
    ]);
  });

  it('honours Retry-After on a 429 as the next run time', async () => {
    const url = target.route((res, call) =>
      (call === 1 ? send(429, '', { 'retry-after': '1' }) : send(200))(res, call),
    );
    const { id } = await submitHttp({ url });
    const waiting = await waitForJob(t.app, user, id, (j) => j.status === 'queued' && j.attempts === 1);
    expect(waiting.lastError?.code).toBe('HTTP_RATE_LIMITED');
    const delay = Date.parse(waiting.runAt) - Date.parse(waiting.updatedAt);
    // Retry-After: 1 → about a second later (not the 50 ms backoff), with slack for a busy machine.
    expect(delay).toBeGreaterThan(500);
    expect(delay).toBeLessThanOrEqual(1100);
    expect((await waitForJob(t.app, user, id)).status).toBe('succeeded');
    const [first, second] = target.requests(url);
    expect(second.at - first.at).toBeGreaterThanOrEqual(900);
  });

  it('times out after timeoutMs, closes the connection and retries', async () => {
    const url = target.route(hold);
    const job = await run({ url, timeoutMs: 300 }, { maxAttempts: 2, ...FAST_RETRY });
    expect(job).toMatchObject({ status: 'failed', attempts: 2, lastError: { code: 'HTTP_TIMEOUT' } });
    const seen = target.requests(url);
    expect(seen).toHaveLength(2);
    await Promise.all(seen.map((r) => r.aborted));
    // The target stamps arrivals: the first came some ms after its send, which the 300 ms count
    // from, so the gap is 300 ms less that delivery time plus the retry's backoff and delivery.
    expect(seen[1].at - seen[0].at).toBeGreaterThanOrEqual(250);
  });

  it('cancel aborts the request in flight: the target sees the connection close', async () => {
    const url = target.route(hold);
    const { id } = await submitHttp({ url, timeoutMs: 60_000 });
    while (target.requests(url).length === 0) await sleep(10);
    const res = await t.app.inject({ method: 'POST', url: `/v1/jobs/${id}/cancel`, headers: user.headers });
    expect(res.statusCode).toBe(202);
    await expect(within(target.requests(url)[0].aborted, 5000)).resolves.toBe(true);
    expect(await waitForJob(t.app, user, id)).toMatchObject({ status: 'cancelled', attempts: 1 });
  });

  it('retries network errors', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const job = await run({ url: `http://127.0.0.1:${port}/` }, { maxAttempts: 2, ...FAST_RETRY });
    expect(job).toMatchObject({ status: 'failed', attempts: 2, lastError: { code: 'HTTP_NETWORK_ERROR' } });
    expect(job.lastError?.message).toMatch(/ECONNREFUSED/);
  });

  it('cuts the body at JOBS_HTTP_MAX_RESPONSE_BYTES without splitting a character', async () => {
    const url = target.route(send(200, `x${'é'.repeat(2000)}`));
    const job = await run({ url });
    expect(await resultOf(job)).toMatchObject({
      status: 200,
      body: `x${'é'.repeat(499)}`,
      bodyTruncated: true,
    });
  });

  it('does not follow redirects: a 3xx is judged by expectStatus', async () => {
    const elsewhere = target.route(send(200));
    const url = target.route(send(302, '', { location: elsewhere }));
    expect(await run({ url })).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: { code: 'HTTP_UNEXPECTED_STATUS' },
    });
    const accepted = await run({ url, expectStatus: '3xx' });
    expect(await resultOf(accepted)).toMatchObject({ status: 302, headers: { location: elsewhere } });
    expect(target.requests(elsewhere)).toHaveLength(0);
  });

  it('refuses at run time a host name that resolves to loopback unless that name is listed', async () => {
    const url = target.route(send(200), 'localhost');
    const job = await run({ url }, { maxAttempts: 3 });
    expect(job).toMatchObject({ status: 'failed', attempts: 1, lastError: { code: 'HTTP_TARGET_REFUSED' } });
    expect(job.lastError?.message).toMatch(
      /^localhost resolves to (127\.0\.0\.1|::1), which is a loopback address/,
    );
    expect(target.requests(url)).toHaveLength(0);
  });

  it('refuses at submit time an unlisted loopback literal, even next to a listed one', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: user.headers,
      payload: { type: 'http', payload: { url: `http://127.0.0.2:${target.port}/` } },
    });
    expect(problem(res)).toMatchObject({ status: 400, fields: ['payload.url'] });
  });

  it.each([
    [{ url: 'not a url' }, 'payload.url'],
    [{ url: 'ftp://example.com/' }, 'payload.url'],
    [{ url: 'https://user:pw@example.com/' }, 'payload.url'],
    [{ url: 'https://example.com/', method: 'GET', body: { a: 1 } }, 'payload.body'],
    [{ url: 'https://example.com/', method: 'TRACE' }, 'payload.method'],
    [{ url: 'https://example.com/', headers: { 'bad name': 'x' } }, 'payload.headers'],
    [{ url: 'https://example.com/', headers: { 'Content-Length': '5' } }, 'payload.headers'],
    [{ url: 'https://example.com/', headers: { a: 'x\r\nb: y' } }, 'payload.headers'],
    [
      {
        url: 'https://example.com/',
        headers: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`x-h${i}`, 'v'])),
      },
      'payload.headers',
    ],
    [{ url: 'https://example.com/', headers: { 'x-big': 'v'.repeat(16 * 1024) } }, 'payload.headers'],
    [{ url: 'https://example.com/', timeoutMs: 0 }, 'payload.timeoutMs'],
    [{ url: 'https://example.com/', expectStatus: 'ok' }, 'payload.expectStatus'],
    [{ url: 'https://example.com/', expectStatus: [200, 700] }, 'payload.expectStatus'],
  ])('refuses the payload %j (400, %s)', async (payload, field) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: user.headers,
      payload: { type: 'http', payload },
    });
    expect(problem(res)).toMatchObject({ status: 400, fields: [field] });
  });

  it('publishes its payload schema at GET /v1/job-types', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/job-types', headers: user.headers });
    const http = res
      .json<{ items: { type: string; payloadSchema: { properties: object; required: string[] } }[] }>()
      .items.find((i) => i.type === 'http');
    expect(http?.payloadSchema.required).toEqual(['url']);
    expect(Object.keys(http?.payloadSchema.properties ?? {}).sort()).toEqual([
      'body',
      'expectStatus',
      'headers',
      'method',
      'timeoutMs',
      'url',
    ]);
  });

  describe('without an allow-list (an API-only replica on its own store)', () => {
    let bare: TestApp;
    let caller: Session;
    beforeAll(async () => {
      bare = await startTestApp({
        env: { JOBS_HTTP_ALLOWED_HOSTS: undefined, JOBS_WORKER_ENABLED: 'false' },
      });
      caller = await newUser(bare.app, await loginAdmin(bare.app));
    });
    afterAll(() => bare.close());
    const submit = (url: string) =>
      bare.app.inject({
        method: 'POST',
        url: '/v1/jobs',
        headers: caller.headers,
        payload: { type: 'http', payload: { url } },
      });

    it.each([
      'http://127.0.0.1/',
      'http://2130706433/',
      'http://0177.0.0.1/',
      'http://0x7f.1/',
      'http://10.0.0.1/',
      'http://172.16.0.1/',
      'http://192.168.1.1/',
      'http://100.64.0.1/',
      'http://169.254.169.254/latest/meta-data/',
      'http://0.0.0.0/',
      'http://224.0.0.1/',
      'http://[::1]/',
      'http://[::]/',
      'http://[fe80::1]/',
      'http://[fc00::1]/',
      'http://[fd00:ec2::254]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::ffff:7f00:1]/',
      'http://[::ffff:a9fe:a9fe]/',
    ])('refuses %s at submit time (400, payload.url)', async (url) => {
      expect(problem(await submit(url))).toEqual({
        status: 400,
        fields: ['payload.url'],
        messages: [expect.stringMatching(/JOBS_HTTP_ALLOWED_HOSTS/)],
      });
    });

    it('accepts public literals and host names (names are checked when the job runs)', async () => {
      for (const url of [
        'http://93.184.215.14/',
        'http://[2606:4700::1111]/',
        `http://localhost:${target.port}/`,
      ]) {
        expect((await submit(url)).statusCode).toBe(202);
      }
    });
  });
});

/** The status of a response and the `errors[]` of its problem body. */
function problem(res: LightMyRequestResponse): { status: number; fields: string[]; messages: string[] } {
  const errors = res.json<{ errors?: { field: string; message: string }[] }>().errors ?? [];
  return {
    status: res.statusCode,
    fields: errors.map((e) => e.field),
    messages: errors.map((e) => e.message),
  };
}

/** Whether `promise` settles within `ms`, leaving no timer behind. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([promise.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}
