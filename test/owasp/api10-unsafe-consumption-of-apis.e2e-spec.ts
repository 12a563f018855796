import { gzipSync } from 'node:zlib';
import { loginAdmin, newUser, type Session } from '../support/auth';
import { LocalTarget } from '../support/http-target';
import { type JobJson, submitJob, waitForJob } from '../support/jobs';
import { startTestApp, type TestApp } from '../support/test-app';

const CAP = 2048;
const KEPT = ['content-length', 'content-type', 'etag', 'last-modified', 'location', 'retry-after'];

interface HttpResult {
  status: number;
  headers: Record<string, string>;
  body: string;
  bodyTruncated: boolean;
  durationMs: number;
}

// OWASP API10:2023. What an `http` job's target answers is untrusted input: it is read up to
// JOBS_HTTP_MAX_RESPONSE_BYTES and no further, never parsed, filtered before it is kept, and cut
// off by the payload's timeoutMs however slowly it arrives. And whatever it contains, it cannot
// stop the worker from recording this job or any other.
describe('OWASP API10:2023 Unsafe Consumption of APIs', () => {
  const target = new LocalTarget();
  let t: TestApp;
  let user: Session;
  const run = async (url: string, extra: Record<string, unknown> = {}, payload: object = {}) => {
    const job = await submitJob(t.app, user, {
      type: 'http',
      payload: { url, method: 'GET', ...payload },
      ...extra,
    });
    return waitForJob(t.app, user, job.id);
  };
  const resultOf = async (job: JobJson) => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/v1/jobs/${job.id}/result`,
      headers: user.headers,
    });
    expect(res.statusCode).toBe(200);
    return res.json<{ result: HttpResult }>().result;
  };

  beforeAll(async () => {
    await target.start();
    t = await startTestApp({
      env: {
        JOBS_HTTP_ALLOWED_HOSTS: '127.0.0.1',
        JOBS_HTTP_MAX_RESPONSE_BYTES: String(CAP),
        JOBS_HTTP_BREAKER_FAILURES: '1000',
      },
    });
    user = await newUser(t.app, await loginAdmin(t.app));
  });
  afterAll(async () => {
    await t.close();
    await target.stop();
  });

  it('an endless body is read up to the cap, marked truncated, and its connection dropped', async () => {
    const chunk = Buffer.alloc(16 * 1024, 'y');
    const url = target.path((_, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const pump = () => {
        while (res.write(chunk));
        res.once('drain', pump);
      };
      pump();
    });
    const done = await run(url, {}, { timeoutMs: 20_000 });
    expect(done.status).toBe('succeeded');
    const result = await resultOf(done);
    expect(result).toMatchObject({ status: 200, body: 'y'.repeat(CAP), bodyTruncated: true });
    // Long before the 20 s timeout: the cap ended the read, not the clock.
    expect(result.durationMs).toBeLessThan(10_000);
    await target.closed(url);
  });

  it('a compression bomb is inflated only up to the cap', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 'z'));
    expect(bomb.length).toBeLessThan(200 * 1024);
    const url = target.path((_, res) =>
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(bomb.length) }).end(bomb),
    );
    const result = await resultOf(await run(url));
    expect(result.bodyTruncated).toBe(true);
    expect(Buffer.byteLength(result.body)).toBeLessThanOrEqual(CAP);
    expect(result.body).toMatch(/^z*$/);
  });

  it('a slow drip that never ends is cut by timeoutMs (HTTP_TIMEOUT), and retried', async () => {
    const url = target.path((_, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('.'), 50);
      res.on('close', () => clearInterval(timer));
    });
    const done = await run(
      url,
      { maxAttempts: 2, backoff: { baseSeconds: 0.01, maxSeconds: 0.02 } },
      { timeoutMs: 400 },
    );
    expect(done).toMatchObject({ status: 'failed', attempts: 2, lastError: { code: 'HTTP_TIMEOUT' } });
    expect(target.hits(url)).toBe(2);
    await target.closed(url);
  });

  it('JSON is never parsed: malformed or hostile JSON under any content type is kept as text', async () => {
    for (const [contentType, body] of [
      ['application/json', '{"a": [1, 2,'],
      ['application/json; charset=utf-16', '{"__proto__": {"polluted": true}}'],
      ['application/problem+json', `${'['.repeat(100_000)}`],
      ['text/html', '<script>alert(1)</script>'],
    ]) {
      const url = target.path((_, res) => res.writeHead(200, { 'content-type': contentType }).end(body));
      const result = await resultOf(await run(url));
      expect(result.headers['content-type']).toBe(contentType);
      expect(result.body).toBe(body.slice(0, CAP));
      expect(typeof result.body).toBe('string');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('only an allow-list of response headers is kept: no Set-Cookie, no auth challenges, nothing else', async () => {
    const url = target.path((_, res) =>
      res
        .writeHead(200, [
          ['set-cookie', 'session=target-secret; HttpOnly'],
          ['set-cookie', 'other=1'],
          ['www-authenticate', 'Basic realm="internal"'],
          ['authorization', 'Bearer leaked'],
          ['x-amz-security-token', 'leaked'],
          ['link', '<http://169.254.169.254/>; rel="next"'],
          ['content-type', 'text/plain'],
          ['etag', '"v1"'],
        ])
        .end('ok'),
    );
    const result = await resultOf(await run(url));
    expect(Object.keys(result.headers).every((name) => KEPT.includes(name))).toBe(true);
    expect(result.headers).toMatchObject({ 'content-type': 'text/plain', etag: '"v1"' });
    expect(JSON.stringify(result)).not.toMatch(/target-secret|leaked|realm|169\.254/);
  });

  it('a huge error body leaves only a short excerpt in lastError', async () => {
    const url = target.path((_, res) => res.writeHead(418).end('e'.repeat(1_000_000)));
    const done = await run(url);
    expect(done).toMatchObject({ status: 'failed', lastError: { code: 'HTTP_UNEXPECTED_STATUS' } });
    expect(done.lastError!.message.length).toBeLessThan(500);
  });

  it('bytes that are not UTF-8 become U+FFFD, nothing worse', async () => {
    const url = target.path((_, res) => res.writeHead(200).end(Buffer.from([0x61, 0xff, 0xfe, 0xc3, 0x62])));
    const result = await resultOf(await run(url));
    expect(result.body).toBe('a\ufffd\ufffd\ufffdb');
  });

  it('NUL characters in a response cannot wedge the worker: the job ends, and so do the jobs after it', async () => {
    const ok = target.path((_, res) => res.writeHead(200).end('a\u0000b'));
    const failing = target.path((_, res) => res.writeHead(500).end('oops\u0000'));
    const [withNul, failed] = await Promise.all([
      submitJob(t.app, user, { type: 'http', payload: { url: ok, method: 'GET' } }),
      submitJob(t.app, user, { type: 'http', payload: { url: failing, method: 'GET' }, maxAttempts: 1 }),
    ]);
    const after = await submitJob(t.app, user, { type: 'noop', payload: { n: 1 } });
    expect(await waitForJob(t.app, user, after.id, undefined, 10_000)).toMatchObject({ status: 'succeeded' });
    const done = await waitForJob(t.app, user, withNul.id, undefined, 10_000);
    expect(done.status).toBe('succeeded');
    expect((await resultOf(done)).body).toMatch(/^a.b$/);
    const broken = await waitForJob(t.app, user, failed.id, undefined, 10_000);
    expect(broken).toMatchObject({ status: 'failed', lastError: { code: 'HTTP_SERVER_ERROR' } });
    expect(broken.lastError!.message).toMatch(/answered 500: oops/);
  });
});
