import { DataSource } from 'typeorm';
import { loginAdmin, newUser, type Session } from '../support/auth';
import { LocalTarget } from '../support/http-target';
import { type JobJson, submitJob, waitForJob } from '../support/jobs';
import { startTestApp, type TestApp } from '../support/test-app';
import { createTestStore } from '../support/test-store';

// OWASP API7:2023, end to end through the `http` job type (CONTRACT §5). Every spelling of every
// refused address class is in src/jobs/handlers/http-target-guard.spec.ts and test/jobs-http;
// here one address per class is refused at submit with nothing stored, a host name resolving to
// loopback is refused when the job runs, redirects never reach an internal target, and a job
// accepted under one allow-list is checked again by a worker that has another.
describe('OWASP API7:2023 Server Side Request Forgery', () => {
  const target = new LocalTarget();
  let t: TestApp;
  let user: Session;
  const countJobs = async () =>
    (await t.app.get(DataSource).query<{ n: number }[]>('SELECT count(*)::int AS n FROM jobs'))[0].n;
  const submit = (payload: object) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: user.headers,
      payload: { type: 'http', payload },
    });

  beforeAll(async () => {
    await target.start();
    // Only the literal 127.0.0.1 is allowed, so the test can reach its own target; `localhost`
    // (the same address by name) is not.
    t = await startTestApp({ env: { JOBS_HTTP_ALLOWED_HOSTS: '127.0.0.1' } });
    user = await newUser(t.app, await loginAdmin(t.app));
  });
  afterAll(async () => {
    await t.close();
    await target.stop();
  });

  it.each([
    ['loopback (unlisted)', 'http://127.0.0.2/'],
    ['loopback IPv6', 'http://[::1]/'],
    ['private 10/8', 'http://10.0.0.1/'],
    ['private 172.16/12', 'http://172.16.0.1/'],
    ['private 192.168/16', 'http://192.168.0.1/'],
    ['carrier-grade NAT', 'http://100.64.0.1/'],
    ['link-local / cloud metadata', 'http://169.254.169.254/latest/meta-data/iam/'],
    ['AWS IPv6 metadata', 'http://[fd00:ec2::254]/'],
    ['unique-local IPv6', 'http://[fc00::1]/'],
    ['link-local IPv6', 'http://[fe80::1]/'],
    ['unspecified', 'http://0.0.0.0/'],
    ['multicast', 'http://224.0.0.1/'],
    ['broadcast / reserved', 'http://255.255.255.255/'],
    ['IPv4-mapped private', 'http://[::ffff:10.0.0.1]/'],
    ['decimal private', 'http://167772161/'],
    ['another scheme', 'file:///etc/passwd'],
    ['gopher', 'gopher://127.0.0.1:6379/_INFO'],
    ['credentials in the URL', 'https://admin:secret@example.com/'],
  ])('%s (%s) → 400 on payload.url at submit, nothing stored', async (_, url) => {
    const before = await countJobs();
    const res = await submit({ url });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ errors: { field: string }[] }>().errors.map((e) => e.field)).toEqual(['payload.url']);
    expect(await countJobs()).toBe(before);
  });

  it.each(['Host', 'host', 'HOST'])(
    'a %s header (an internal virtual host behind a public address) → 400 on payload.headers, nothing stored',
    async (name) => {
      const before = await countJobs();
      const res = await submit({ url: 'https://example.com/', headers: { [name]: 'admin.internal' } });
      expect(res.statusCode).toBe(400);
      expect(res.json<{ errors: { field: string; message: string }[] }>().errors).toEqual([
        { field: 'payload.headers', message: `the ${name} header is set by the service` },
      ]);
      expect(await countJobs()).toBe(before);
    },
  );

  it('a host name that resolves to loopback is accepted at submit and refused when it runs', async () => {
    const url = target.path((_, res) => res.writeHead(200).end('internal secret'), 'localhost');
    const job = await submitJob(t.app, user, {
      type: 'http',
      payload: { url, method: 'GET' },
      maxAttempts: 5,
    });
    const done = await waitForJob(t.app, user, job.id);
    expect(done).toMatchObject({ status: 'failed', attempts: 1, lastError: { code: 'HTTP_TARGET_REFUSED' } });
    expect(target.hits(url)).toBe(0);
    expect(JSON.stringify(done)).not.toContain('internal secret');
  });

  it.each([
    ['302 to a name resolving to loopback', (port: number) => `http://localhost:${port}/admin`],
    ['307 to the cloud metadata address', () => 'http://169.254.169.254/latest/meta-data/'],
    ['301 to an unlisted loopback literal', (port: number) => `http://127.0.0.2:${port}/`],
  ])('a %s is not followed, whatever expectStatus says', async (_, location) => {
    const internal = target.path((__, res) => res.writeHead(200).end('internal secret'), 'localhost');
    const redirect = (path: string) =>
      target.path((__, res) =>
        res.writeHead(302, { location: path.replace('/admin', new URL(internal).pathname) }).end(),
      );
    const url = redirect(location(target.port));
    const strict = await waitForJob(
      t.app,
      user,
      (await submitJob(t.app, user, { type: 'http', payload: { url } })).id,
    );
    expect(strict).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: { code: 'HTTP_UNEXPECTED_STATUS' },
    });
    const lenient = await submitJob(t.app, user, { type: 'http', payload: { url, expectStatus: '3xx' } });
    const done = await waitForJob(t.app, user, lenient.id);
    expect(done.status).toBe('succeeded');
    const result = await t.app.inject({
      method: 'GET',
      url: `/v1/jobs/${done.id}/result`,
      headers: user.headers,
    });
    expect(result.json<{ result: { status: number; body: string } }>().result).toMatchObject({
      status: 302,
      body: '',
    });
    expect(target.hits(url)).toBe(2);
    expect(target.hits(internal)).toBe(0);
  });
});

describe('OWASP API7:2023 Server Side Request Forgery: the allow-list is applied again at run time', () => {
  it('a job accepted under an allow-list is refused by a worker without it', async () => {
    const target = await new LocalTarget().start();
    const store = await createTestStore();
    try {
      const url = target.path((_, res) => res.writeHead(200).end('ok'));
      // An API-only replica that allows 127.0.0.1 accepts the job; the store outlives it.
      const api = await startTestApp({
        store,
        env: { JOBS_HTTP_ALLOWED_HOSTS: '127.0.0.1', JOBS_WORKER_ENABLED: 'false' },
      });
      let user: Session;
      let job: JobJson;
      try {
        user = await newUser(api.app, await loginAdmin(api.app));
        job = await submitJob(api.app, user, { type: 'http', payload: { url }, maxAttempts: 3 });
      } finally {
        await api.close();
      }
      // …and a worker whose configuration no longer allows it refuses to make the call.
      const worker = await startTestApp({
        store,
        env: { JOBS_HTTP_ALLOWED_HOSTS: undefined, JOBS_WORKER_ENABLED: undefined },
      });
      try {
        const done = await waitForJob(worker.app, user, job.id);
        expect(done).toMatchObject({
          status: 'failed',
          attempts: 1,
          lastError: { code: 'HTTP_TARGET_REFUSED' },
        });
        expect(target.hits(url)).toBe(0);
      } finally {
        await worker.close();
      }
    } finally {
      await store.drop();
      await target.stop();
    }
  });
});
