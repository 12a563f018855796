/* eslint jest/expect-expect: ['warn', { assertFunctionNames: ['expect', 'expectRefused'] }] */
import type { InjectOptions } from 'fastify';
import { DataSource } from 'typeorm';
import { loginAdmin, newUser, type Session } from '../support/auth';
import { expectClientProblem, StoreWatch } from '../support/hostile';
import { getJob, type JobJson } from '../support/jobs';
import { startTestApp, type TestApp } from '../support/test-app';

// Issue 7.3, the hand-picked half: bombs, limits, encodings and keys that generators reach
// rarely or not at all. Each refused request must be a problem+json 4xx that changes nothing.

const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const nested = (depth: number, open = '[', close = ']') => open.repeat(depth) + close.repeat(depth);

describe('hostile input, explicit cases (issue 7.3)', () => {
  let t: TestApp;
  let admin: Session;
  let user: Session;
  let watch: StoreWatch;

  beforeAll(async () => {
    t = await startTestApp({ env: { JOBS_WORKER_ENABLED: 'false' } });
    admin = await loginAdmin(t.app);
    user = await newUser(t.app, admin);
    watch = await StoreWatch.of(t.app);
  });
  afterAll(() => t.close());

  const send = (request: InjectOptions) =>
    t.app.inject({ ...request, headers: { ...user.headers, ...request.headers } });
  /** `body` sent as it is, labelled JSON. */
  const sendRaw = (
    method: 'POST' | 'PATCH',
    url: string,
    body: string | Buffer,
    headers: Record<string, string> = {},
  ) => send({ method, url, payload: body, headers: { 'content-type': 'application/json', ...headers } });
  const postRaw = (url: string, body: string, headers: Record<string, string> = {}) =>
    sendRaw('POST', url, body, headers);
  /** The request is refused with `status` (or any 4xx), and no row changed. */
  async function expectRefused(request: Promise<Awaited<ReturnType<typeof send>>>, status?: number) {
    const res = await request;
    // Checked first: a change becomes the baseline, so one failure does not fail the next tests.
    const unchanged = await watch.expectUnchanged().then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
    );
    const body = expectClientProblem(res, status);
    if (unchanged) throw unchanged;
    return body;
  }
  const fieldsOf = (problem: { errors?: { field: string }[] }) => (problem.errors ?? []).map((e) => e.field);

  describe('JSON bombs and deep nesting', () => {
    it.each([
      ['100,000 nested arrays as the body', '/v1/jobs', nested(100_000)],
      [
        '100,000 nested arrays in a payload',
        '/v1/jobs',
        `{"type":"noop","payload":{"a":${nested(100_000)}}}`,
      ],
      [
        '100,000 nested objects in a payload',
        '/v1/jobs',
        `{"type":"noop","payload":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`,
      ],
      ['5,000 nested arrays as a batch item', '/v1/jobs/batch', `{"jobs":[${nested(5000)}]}`],
      ['5,000 nested arrays in a profile field', '/v1/users/me/api-keys', `{"name":${nested(5000)}}`],
    ])('%s → 400 naming the field, quickly', async (_name, url, body) => {
      const started = Date.now();
      const problem = await expectRefused(postRaw(url, body), 400);
      expect(problem.errors?.[0].message).toMatch(/deeper than 64 levels/);
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it('a payload nested within the limit is accepted and stored as sent', async () => {
      const payload = JSON.parse(`{"a":${nested(50)}}`) as Record<string, unknown>;
      const res = await send({ method: 'POST', url: '/v1/jobs', payload: { type: 'noop', payload } });
      expect(res.statusCode).toBe(202);
      expect((await getJob(t.app, user, res.json<JobJson>().id)).payload).toEqual(payload);
      await watch.reset();
    });

    it('a 10 MB body → 413, and the service still answers', async () => {
      await expectRefused(
        postRaw(
          '/v1/jobs',
          JSON.stringify({ type: 'noop', payload: {}, name: 'x'.repeat(10 * 1024 * 1024) }),
        ),
        413,
      );
      expect((await t.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    });
  });

  describe('text the store cannot hold (PostgreSQL refuses NUL; UTF-8 has no lone surrogates)', () => {
    it.each([
      ['NUL in a job name', '/v1/jobs', { type: 'noop', payload: {}, name: 'a\u0000b' }, 'name'],
      ['NUL in a payload string', '/v1/jobs', { type: 'noop', payload: { s: 'a\u0000' } }, 'payload.s'],
      ['NUL in a payload key', '/v1/jobs', { type: 'noop', payload: { 'k\u0000': 1 } }, 'payload'],
      [
        'NUL in an http body',
        '/v1/jobs',
        { type: 'http', payload: { url: 'https://example.com/', body: '\u0000' } },
        'payload.body',
      ],
      ['NUL in an API key name', '/v1/users/me/api-keys', { name: 'k\u0000' }, 'name'],
      [
        'a lone high surrogate in a job name',
        '/v1/jobs',
        { type: 'noop', payload: {}, name: 'a\ud800' },
        'name',
      ],
      [
        'a lone low surrogate in a payload',
        '/v1/jobs',
        { type: 'noop', payload: { s: '\udc00' } },
        'payload.s',
      ],
    ])('%s → 400 on that field', async (_name, url, body, field) => {
      const problem = await expectRefused(postRaw(url, JSON.stringify(body)), 400);
      expect(fieldsOf(problem)).toEqual([field]);
    });

    it('a number JSON cannot write back (1e400) → 400, not stored as null', async () => {
      const problem = await expectRefused(postRaw('/v1/jobs', '{"type":"noop","payload":{"n":1e400}}'), 400);
      expect(fieldsOf(problem)).toEqual(['payload.n']);
    });

    it('in a batch, only the items the store cannot hold are refused (CONTRACT §5)', async () => {
      const items = [
        '{"type":"noop","payload":{"ok":1}}',
        '{"type":"noop","payload":{},"name":"\\u0000"}',
        '{"type":"noop","payload":{"s":"\\ud800"}}',
        '{"type":"noop","payload":{"n":-1e400}}',
        '{"type":"noop","payload":{"k\\u0000":1}}',
      ];
      const res = await postRaw('/v1/jobs/batch', `{"jobs":[${items.join(',')}]}`);
      expect(res.statusCode).toBe(202);
      const { results } = res.json<{
        results: ({ job: JobJson } | { error: { status: number; errors: { field: string }[] } })[];
      }>();
      const errors = results.map((item) =>
        'error' in item ? [item.error.status, fieldsOf(item.error)] : null,
      );
      expect(errors).toEqual([
        null,
        [400, ['name']],
        [400, ['payload.s']],
        [400, ['payload.n']],
        [400, ['payload']],
      ]);
      const [created] = results;
      if (!('job' in created)) throw new Error('the valid item was not created');
      expect((await getJob(t.app, user, created.job.id)).payload).toEqual({ ok: 1 });
      await watch.reset();
    });

    it.each([
      ['a profile name', { method: 'PATCH', url: '/v1/users/me', payload: { firstName: '\u0000' } }],
      ['a job list filter', { method: 'GET', url: '/v1/jobs?name=%00' }],
      ['a job type filter', { method: 'GET', url: '/v1/jobs?type=a%00' }],
      ['a path param', { method: 'POST', url: '/v1/jobs/%00/cancel' }],
    ] as [string, InjectOptions][])('NUL in %s → 400', async (_name, request) => {
      await expectRefused(send(request), 400);
    });

    it.each([
      ['a stray continuation byte', Buffer.from([0x80])],
      ['a truncated sequence', Buffer.from([0xe2, 0x82])],
      ['an overlong encoding of "/"', Buffer.from([0xc0, 0xaf])],
      ['an encoded surrogate', Buffer.from([0xed, 0xa0, 0x80])],
    ])('a body that is not UTF-8 (%s in a string) → 400, not stored as U+FFFD', async (_name, bad) => {
      const body = Buffer.concat([
        Buffer.from('{"type":"noop","payload":{},"name":"a'),
        bad,
        Buffer.from('"}'),
      ]);
      const problem = await expectRefused(sendRaw('POST', '/v1/jobs', body), 400);
      expect(problem.errors).toEqual([{ field: '(body)', message: 'the body is not valid UTF-8' }]);
    });

    it('a well-formed surrogate pair (an emoji) is ordinary text', async () => {
      const res = await send({
        method: 'POST',
        url: '/v1/jobs',
        payload: { type: 'noop', payload: {}, name: '😀' },
      });
      expect(res.json<JobJson>().name).toBe('😀');
      await watch.reset();
    });
  });

  describe('prototype pollution', () => {
    afterEach(() => {
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    });

    it.each([
      ['__proto__ in the body', '{"type":"noop","payload":{},"__proto__":{"polluted":1}}'],
      ['__proto__ in a payload', '{"type":"noop","payload":{"__proto__":{"polluted":1}}}'],
      [
        'constructor.prototype in a payload',
        '{"type":"noop","payload":{"constructor":{"prototype":{"polluted":1}}}}',
      ],
      ['__proto__ in a batch item', '{"jobs":[{"type":"noop","payload":{},"__proto__":{"polluted":1}}]}'],
    ])('%s → 400', async (_name, body) => {
      const problem = await expectRefused(
        postRaw(body.includes('jobs') ? '/v1/jobs/batch' : '/v1/jobs', body),
        400,
      );
      // Refused for the key, which the answer names; the JSON itself is valid.
      expect(JSON.stringify(problem)).toMatch(/__proto__|constructor|prototype/);
      expect(JSON.stringify(problem)).not.toMatch(/not valid JSON/);
    });

    it.each([
      ['/v1/users/me/api-keys', { name: 'k', constructor: 'x' }, 'constructor'],
      ['/v1/users/me/api-keys', { name: 'k', toString: 'x' }, 'toString'],
      ['/v1/jobs', { type: 'noop', payload: {}, hasOwnProperty: 1 }, 'hasOwnProperty'],
    ])(
      'an unknown field named like a prototype member (%s %j) → 400, not silently dropped',
      async (url, body, field) => {
        expect(fieldsOf(await expectRefused(postRaw(url, JSON.stringify(body)), 400))).toEqual([field]);
      },
    );

    it('… also in a batch item, which alone is refused', async () => {
      const res = await send({
        method: 'POST',
        url: '/v1/jobs/batch',
        payload: {
          jobs: [
            { type: 'noop', payload: {}, name: 'kept' },
            { type: 'noop', payload: {}, toString: 1 },
          ],
        },
      });
      expect(res.statusCode).toBe(202);
      const [first, second] = res.json<{
        results: { job?: JobJson; error?: { errors: { field: string }[] } }[];
      }>().results;
      expect(first.job?.name).toBe('kept');
      expect(second.error?.errors.map((e) => e.field)).toEqual(['toString']);
      await watch.reset();
    });

    it.each(['__proto__', 'constructor', 'prototype'])('a query param named %s → 400', async (name) => {
      await expectRefused(send({ method: 'GET', url: `/v1/jobs?${name}=1` }), 400);
    });

    it.each([
      ['constructor', '{"type":"noop","payload":{"constructor":"c"}}', 'payload.constructor'],
      ['prototype', '{"type":"noop","payload":{"a":{"prototype":{"x":1}}}}', 'payload.a.prototype'],
      [
        'constructor in a batch item',
        '{"jobs":[{"type":"noop","payload":{}},{"type":"noop","payload":{},"constructor":1}]}',
        'jobs.1.constructor',
      ],
    ])('a key named %s, which the framework would delete silently → 400', async (_name, body, field) => {
      const url = body.includes('jobs') ? '/v1/jobs/batch' : '/v1/jobs';
      expect(fieldsOf(await expectRefused(postRaw(url, body), 400))).toEqual([field]);
    });

    it('other payload keys named like prototype members are plain data, stored as sent', async () => {
      const payload = { toString: 's', hasOwnProperty: 1, valueOf: { x: [1] } };
      const res = await send({ method: 'POST', url: '/v1/jobs', payload: { type: 'noop', payload } });
      expect(res.statusCode).toBe(202);
      expect((await getJob(t.app, user, res.json<JobJson>().id)).payload).toEqual(payload);
      await watch.reset();
    });
  });

  describe('path params, limits and cursors', () => {
    it.each([
      'not-a-uuid',
      '1',
      "1' OR '1'='1",
      '00000000-0000-0000-0000-00000000000g',
      '%E2%80%AE',
      '..%2F..%2Fetc',
    ])('job id %s → 400', async (id) => {
      await expectRefused(send({ method: 'POST', url: `/v1/jobs/${id}/cancel` }), 400);
    });

    it('a path param over 100 characters → 414 problem+json', async () => {
      await expectRefused(send({ method: 'GET', url: `/v1/jobs/${'a'.repeat(5000)}` }), 414);
    });

    it('a malformed %-escape in the path → 400 problem+json', async () => {
      await expectRefused(send({ method: 'GET', url: '/v1/jobs/%E0%A4%A' }), 400);
    });

    it.each(['0', '-1', '101', '1e400', '99999999999999999999999', '1.5', 'NaN', '', '0x10000'])(
      'limit=%s → 400',
      async (limit) => {
        await expectRefused(send({ method: 'GET', url: `/v1/jobs?limit=${limit}` }), 400);
      },
    );

    it.each([
      ['garbage', '!!!'],
      ['negative', '-1'],
      ['not JSON', Buffer.from('nope').toString('base64url')],
      ['a forged non-UUID id', cursorOf(['2024-01-01T00:00:00.000Z', '-'.repeat(36)])],
      [
        'a year PostgreSQL cannot hold',
        cursorOf(['-271821-04-20T00:00:00.000Z', '00000000-0000-4000-8000-000000000000']),
      ],
      ['a loose date', cursorOf(['1', '00000000-0000-4000-8000-000000000000'])],
      ['an object', cursorOf({ at: '2024-01-01T00:00:00.000Z' })],
      ['201 characters', 'a'.repeat(201)],
    ])('a %s cursor → 400 on cursor', async (_name, cursor) => {
      for (const url of ['/v1/jobs', '/v1/admin/audit-logs', '/v1/admin/users']) {
        const as = url.includes('admin') ? admin : user;
        const problem = await expectRefused(
          t.app.inject({
            method: 'GET',
            url: `${url}?cursor=${encodeURIComponent(cursor)}`,
            headers: as.headers,
          }),
          400,
        );
        expect(fieldsOf(problem)).toEqual(['cursor']);
      }
    });
  });

  describe('bodies, content types and numbers', () => {
    it.each([
      ['application/x-www-form-urlencoded', 'type=noop'],
      ['text/plain', '{"type":"noop","payload":{}}'],
      ['application/xml', '<type>noop</type>'],
      [
        'multipart/form-data; boundary=x',
        '--x\r\nContent-Disposition: form-data; name="type"\r\n\r\nnoop\r\n--x--',
      ],
    ])('Content-Type %s → 415', async (type, body) => {
      await expectRefused(
        send({ method: 'POST', url: '/v1/jobs', payload: body, headers: { 'content-type': type } }),
        415,
      );
    });

    it.each([
      ['an empty JSON body', ''],
      ['whitespace', '   '],
      ['JSON null', 'null'],
      ['a JSON string', '"noop"'],
      ['truncated JSON', '{"type":'],
      ['a trailing comma', '{"type":"noop","payload":{},}'],
    ])('%s → 400', async (_name, body) => {
      await expectRefused(postRaw('/v1/jobs', body), 400);
    });

    it.each([
      ['null', 'null'],
      ['an array', '[]'],
      ['an array of an object', '[{"firstName":"Ada"}]'],
      ['a number', '1'],
      ['no body', ''],
    ])('a body that is not an object (%s) → 400, also where every field is optional', async (_name, body) => {
      const problem = await expectRefused(sendRaw('PATCH', '/v1/users/me', body), 400);
      expect(problem.errors).toEqual([{ field: '(body)', message: 'the body must be a JSON object' }]);
    });

    it('an empty body with Content-Type: application/json is no body: an action that takes none runs', async () => {
      const queued = await send({
        method: 'POST',
        url: '/v1/jobs',
        payload: { type: 'noop', payload: {}, delaySeconds: 3600 },
      });
      expect(queued.statusCode).toBe(202);
      const id = queued.json<JobJson>().id;
      const cancelled = await postRaw(`/v1/jobs/${id}/cancel`, '');
      expect(cancelled.statusCode).toBe(200);
      expect(cancelled.json<JobJson>().status).toBe('cancelled');
      await watch.reset();
    });

    it.each([
      ['priority', '1e400'],
      ['priority', '-0'],
      ['priority', '"NaN"'],
      ['priority', '"5"'],
      ['priority', '5.5'],
      ['maxAttempts', '1e2'],
      ['delaySeconds', '-1e-300'],
      ['timeoutSeconds', '"Infinity"'],
    ])('%s: %s → 400 on that field', async (field, value) => {
      const problem = await expectRefused(
        postRaw('/v1/jobs', `{"type":"noop","payload":{},"${field}":${value}}`),
        400,
      );
      expect(fieldsOf(problem)).toContain(field);
    });

    it('duplicate keys: the last one wins, as JSON.parse reads them, and is what gets stored', async () => {
      const res = await postRaw(
        '/v1/jobs',
        '{"type":"sleep","name":"first","name":"last","type":"noop","payload":{}}',
      );
      expect(res.statusCode).toBe(202);
      expect(res.json<JobJson>()).toMatchObject({ type: 'noop', name: 'last' });
      await watch.reset();
    });
  });

  describe('ISO 8601 forms that JavaScript cannot read as a date', () => {
    // Valid ISO 8601 (class-validator's strict IsISO8601 takes them all), but Date.parse gives NaN:
    // they used to reach the store as an invalid date and come back as a 500.
    const unreadable = [
      ['a week date', '2026-W49-5T10:00:00Z'],
      ['an ordinal date', '2026-338T10:00:00Z'],
      ['the basic format', '20261204T100000Z'],
      ['an hour without minutes', '2026-12-04T10Z'],
      ['a comma fraction', '2026-12-04T10:00:00,5Z'],
      ['an hours-only offset', '2026-12-04T10:00:00+01'],
    ];
    const q = encodeURIComponent;

    it.each(unreadable)('%s (%s) → 400 naming the field on every date input', async (_name, date) => {
      const fields = async (request: Parameters<typeof send>[0]) =>
        fieldsOf(await expectRefused(send(request), 400));
      expect(
        await fields({
          method: 'POST',
          url: '/v1/jobs',
          payload: { type: 'noop', payload: {}, runAt: date },
        }),
      ).toContain('runAt');
      expect(await fields({ method: 'GET', url: `/v1/jobs?createdFrom=${q(date)}` })).toContain(
        'createdFrom',
      );
      expect(await fields({ method: 'GET', url: `/v1/jobs?createdTo=${q(date)}` })).toContain('createdTo');
      expect(
        await fields({
          method: 'POST',
          url: '/v1/users/me/api-keys',
          payload: { name: 'k', expiresAt: date },
        }),
      ).toContain('expiresAt');
      for (const param of ['from', 'to']) {
        const request = {
          method: 'GET' as const,
          url: `/v1/admin/audit-logs?${param}=${q(date)}`,
          headers: admin.headers,
        };
        expect(await fields(request)).toContain(param);
      }
    });

    it("in a batch it is that item's problem: its valid sibling is created", async () => {
      const res = await send({
        method: 'POST',
        url: '/v1/jobs/batch',
        payload: {
          jobs: [
            { type: 'noop', payload: {} },
            { type: 'noop', payload: {}, runAt: '2026-W49-5T10:00:00Z' },
          ],
        },
      });
      expect(res.statusCode).toBe(202);
      const [created, refused] = res.json<{
        results: { index: number; job?: JobJson; error?: { status: number; errors?: { field: string }[] } }[];
      }>().results;
      expect(created.job?.status).toBe('queued');
      expect(refused.error?.status).toBe(400);
      expect(fieldsOf(refused.error ?? {})).toContain('runAt');
      await watch.reset();
    });

    it.each([
      ['2030-01-02T03:04:05+0100', '2030-01-02T02:04:05.000Z'],
      ['2030-01-02T03:04Z', '2030-01-02T03:04:00.000Z'],
      ['2030-01-02T03:04:05.123456789Z', '2030-01-02T03:04:05.123Z'],
    ])('the forms it does read are taken: runAt %s is %s', async (runAt, stored) => {
      const res = await send({
        method: 'POST',
        url: '/v1/jobs',
        payload: { type: 'noop', payload: {}, runAt },
      });
      expect(res.statusCode).toBe(202);
      expect(res.json<JobJson>().runAt).toBe(stored);
      await watch.reset();
    });
  });

  describe('headers', () => {
    it.each([
      ['100,000 characters', 'k'.repeat(100_000)],
      ['201 characters', 'k'.repeat(201)],
      ['a space', 'a b'],
      ['a non-ASCII character', 'clé'],
    ])('an Idempotency-Key of %s → 400 naming the header', async (_name, key) => {
      const problem = await expectRefused(
        postRaw('/v1/jobs', '{"type":"noop","payload":{}}', { 'idempotency-key': key }),
        400,
      );
      expect(fieldsOf(problem)).toEqual(['Idempotency-Key']);
    });

    it('an X-Request-Id of 100,000 characters is replaced by a UUID, not echoed', async () => {
      const res = await send({
        method: 'GET',
        url: '/v1/jobs/nope',
        headers: { 'x-request-id': 'r'.repeat(100_000) },
      });
      const problem = await expectRefused(Promise.resolve(res), 400);
      expect(problem.requestId).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('a 100,000-character bearer token → 401 problem+json', async () => {
      await expectRefused(
        t.app.inject({
          method: 'GET',
          url: '/v1/jobs',
          headers: { authorization: `Bearer ${'t'.repeat(100_000)}` },
        }),
        401,
      );
    });
  });

  it('the tables are intact after all of it', async () => {
    const tables = await t.app
      .get(DataSource)
      .query<{ n: number }[]>("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
    expect(tables[0].n).toBeGreaterThanOrEqual(8);
    await watch.expectUnchanged();
  });
});
