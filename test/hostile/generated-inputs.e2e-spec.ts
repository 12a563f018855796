/* eslint jest/expect-expect: ['warn', { assertFunctionNames: ['expect', 'check'] }] */
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ModulesContainer } from '@nestjs/core';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { DataSource } from 'typeorm';
import { loginAdmin, newUser, type Session } from '../support/auth';
import {
  expectClientProblem,
  FC_SEED,
  hostileText,
  isWellFormed,
  RequestCounter,
  StoreWatch,
  toQuery,
} from '../support/hostile';
import {
  invalidBody,
  invalidQuery,
  notEmail,
  notIsoDate,
  notUuid,
  type Shape,
} from '../support/hostile-inputs';
import { getJob, type JobJson, submitJob } from '../support/jobs';
import { startTestApp, type TestApp } from '../support/test-app';

// Issue 7.3: generated malformed, oversized, wrongly typed, deeply nested, unicode-edge and
// injection-shaped input for every route's body, query and path params. Every request must get
// a problem+json 4xx and change no row (CONTRACT §3). Run counts are fixed so that one run of
// this file, on either store, sends more than 10,000 requests; FC_SEED=<n> replays another seed.

const RUNS = { body: 450, batchItems: 300, query: 500, path: 300, verbatim: 100 };
const RESERVED = ['__proto__', 'constructor', 'prototype'];
const JOB_TYPES = ['noop', 'sleep', 'http'];

const text = (max: number, min?: number) => ({ kind: 'text', max, min }) as const;
const format = (invalid: fc.Arbitrary<string>, max?: number) => ({ kind: 'format', invalid, max }) as const;
const int = (min: number, max: number) => ({ kind: 'int', min, max }) as const;
const notJobType = hostileText(64).filter((s) => !JOB_TYPES.includes(s));
const notIdempotencyKey = fc.oneof(
  fc.constant(''),
  fc.string({ minLength: 201, maxLength: 300 }),
  hostileText(200).filter((s) => !/^[\x21-\x7e]{1,200}$/.test(s)),
);

const CREATE_JOB: Shape = {
  valid: { type: 'noop', name: 'n', payload: {} },
  required: ['type', 'payload'],
  fields: {
    type: format(notJobType),
    name: text(200),
    payload: { kind: 'object' },
    priority: int(1, 10),
    runAt: format(notIsoDate),
    delaySeconds: int(0, 31_536_000),
    maxAttempts: int(1, 25),
    timeoutSeconds: int(1, 3600),
    backoff: {
      kind: 'nested',
      shape: {
        valid: { baseSeconds: 1, maxSeconds: 2 },
        required: [],
        fields: {
          baseSeconds: { kind: 'number', min: 0.001, max: 86_400 },
          maxSeconds: { kind: 'number', min: 0.001, max: 604_800 },
        },
      },
    },
    idempotencyKey: format(notIdempotencyKey),
  },
};
const NAMES = { firstName: text(100), lastName: text(100) };
const REFRESH: Shape = {
  valid: { refreshToken: 'x' },
  required: ['refreshToken'],
  fields: { refreshToken: text(512) },
};
const ROLE = { kind: 'enum', values: ['admin', 'user'] } as const;

type As = 'anonymous' | 'user' | 'admin';
const BODY_ROUTES: Record<string, { as: As; shape: Shape }> = {
  'POST /v1/auth/login': {
    as: 'anonymous',
    shape: {
      valid: { email: 'nobody@test.local', password: 'not-the-password' },
      required: ['email', 'password'],
      fields: { email: format(notEmail, 254), password: text(1024) },
    },
  },
  'POST /v1/auth/refresh': { as: 'anonymous', shape: REFRESH },
  'POST /v1/auth/logout': { as: 'anonymous', shape: REFRESH },
  'PATCH /v1/users/me': {
    as: 'user',
    shape: {
      valid: { firstName: 'Ann' },
      fields: { ...NAMES, phone: format(hostileText().filter((s) => !/^[0-9 +-]{10,15}$/.test(s))) },
    },
  },
  'POST /v1/users/me/password': {
    as: 'user',
    shape: {
      valid: { currentPassword: 'wrong-password', newPassword: 'a-new-password-123' },
      required: ['currentPassword', 'newPassword'],
      fields: { currentPassword: text(1024), newPassword: { kind: 'password' } },
    },
  },
  'POST /v1/users/me/api-keys': {
    as: 'user',
    shape: {
      valid: { name: 'ci' },
      required: ['name'],
      fields: { name: text(100, 1), expiresAt: format(notIsoDate) },
    },
  },
  'POST /v1/admin/users': {
    as: 'admin',
    shape: {
      valid: { email: 'fresh@test.local', password: 'password-12345', role: 'user' },
      required: ['email', 'password', 'role'],
      fields: { ...NAMES, email: format(notEmail, 254), password: { kind: 'password' }, role: ROLE },
    },
  },
  'PATCH /v1/admin/users/{id}': {
    as: 'admin',
    shape: { valid: { firstName: 'Bo' }, fields: { ...NAMES, role: ROLE, disabled: { kind: 'bool' } } },
  },
  'POST /v1/jobs': { as: 'user', shape: CREATE_JOB },
  'POST /v1/jobs/batch': {
    as: 'user',
    shape: {
      valid: { jobs: [{ type: 'noop', payload: {} }] },
      required: ['jobs'],
      fields: { jobs: { kind: 'list' } },
    },
  },
};

const PAGE = { limit: int(1, 100), cursor: text(200) };
const QUERY_ROUTES: Record<string, { as: As; shape: Shape }> = {
  'GET /v1/jobs': {
    as: 'user',
    shape: {
      valid: {},
      fields: {
        ...PAGE,
        status: { kind: 'enum', values: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] },
        type: text(64),
        name: text(200),
        createdFrom: format(notIsoDate),
        createdTo: format(notIsoDate),
        ownerId: format(notUuid),
      },
    },
  },
  'GET /v1/users/me/api-keys': { as: 'user', shape: { valid: {}, fields: PAGE } },
  'GET /v1/admin/users': {
    as: 'admin',
    shape: { valid: {}, fields: { ...PAGE, email: text(254), role: ROLE, disabled: { kind: 'bool' } } },
  },
  'GET /v1/admin/audit-logs': {
    as: 'admin',
    shape: {
      valid: {},
      fields: {
        ...PAGE,
        action: text(100),
        actorId: format(notUuid),
        resourceType: text(100),
        resourceId: text(200),
        requestId: text(128),
        success: { kind: 'bool' },
        from: format(notIsoDate),
        to: format(notIsoDate),
      },
    },
  },
};

/** Routes with a path param: who calls, and the body that is valid apart from the param. */
const PATH_ROUTES: Record<string, { as: As; body?: object }> = {
  'DELETE /v1/users/me/api-keys/{id}': { as: 'user' },
  'GET /v1/admin/users/{id}': { as: 'admin' },
  'PATCH /v1/admin/users/{id}': { as: 'admin', body: { firstName: 'Cy' } },
  'DELETE /v1/admin/users/{id}': { as: 'admin' },
  'GET /v1/jobs/{id}': { as: 'user' },
  'DELETE /v1/jobs/{id}': { as: 'user' },
  'GET /v1/jobs/{id}/result': { as: 'user' },
  'GET /v1/jobs/{id}/attempts': { as: 'user' },
  'POST /v1/jobs/{id}/cancel': { as: 'user' },
  'POST /v1/jobs/{id}/retry': { as: 'user' },
  'POST /v1/admin/queues/{type}/pause': { as: 'admin' },
  'POST /v1/admin/queues/{type}/resume': { as: 'admin' },
};

/** Path segments that are not ids: anything but '', '.', '..' (which would change the route). */
const segment = (arb: fc.Arbitrary<string>) =>
  arb.filter((s) => isWellFormed(s) && s !== '' && s !== '.' && s !== '..');

describe('hostile input, generated (issue 7.3)', () => {
  let t: TestApp;
  let sessions: Record<As, { headers: Record<string, string> }>;
  let foreignIds: string[];
  let user: Session & { id: string };
  let userId: string;
  let watch: StoreWatch;
  const sent = new RequestCounter();

  beforeAll(async () => {
    // No workers: queued jobs stay as they are, so any row change is the request's doing.
    t = await startTestApp({ env: { JOBS_WORKER_ENABLED: 'false' } });
    const admin: Session = await loginAdmin(t.app);
    user = await newUser(t.app, admin);
    userId = user.id;
    sessions = { anonymous: { headers: {} }, user, admin };
    // The user's own job and others' things: a user must get 404 for those, and change nothing.
    await submitJob(t.app, user, { type: 'noop', payload: {}, name: 'mine' });
    const adminsJob = await submitJob(t.app, admin, { type: 'noop', payload: {}, name: 'theirs' });
    const adminsKey = await t.app.inject({
      method: 'POST',
      url: '/v1/users/me/api-keys',
      headers: admin.headers,
      payload: { name: 'admin-key' },
    });
    foreignIds = [adminsJob.id, adminsKey.json<{ id: string }>().id];
    watch = await StoreWatch.of(t.app);
  });
  afterAll(async () => {
    console.log(`hostile generated requests: ${sent.total}`, Object.fromEntries(sent.byRoute));
    await t?.close();
  });

  const call = (as: As, request: InjectOptions) =>
    t.app.inject({ ...request, headers: { ...sessions[as].headers, ...request.headers } });

  async function expectRefused(route: string, as: As, request: InjectOptions): Promise<void> {
    sent.add(route);
    const res = await call(as, request);
    expectClientProblem(res);
    await watch.expectUnchanged();
  }

  const json = (body: unknown) => ({
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
  const urlOf = (route: string, param = userId) =>
    route.split(' ')[1].replace(/\{[^}]+\}/, encodeURIComponent(param));
  const methodOf = (route: string) => route.split(' ')[0] as 'GET';
  const check = (property: fc.IAsyncProperty<[unknown]> | fc.IAsyncProperty<[never]>, numRuns: number) =>
    fc.assert(property as fc.IAsyncProperty<[unknown]>, { numRuns, seed: FC_SEED });

  it('covers every route that reads a body, a query or a path param', async () => {
    const expected = { body: new Set<string>(), query: new Set<string>(), path: new Set<string>() };
    for (const [route, controller, method] of await documentedRoutes(t)) {
      const kinds = new Set(
        Object.keys(Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, method) ?? {}).map((key) =>
          Number(key.split(':')[0]),
        ),
      );
      if (kinds.has(RouteParamtypes.BODY)) expected.body.add(route);
      if (kinds.has(RouteParamtypes.QUERY)) expected.query.add(route);
      if (kinds.has(RouteParamtypes.PARAM)) expected.path.add(route);
    }
    expect([...expected.body].sort()).toEqual(Object.keys(BODY_ROUTES).sort());
    expect([...expected.query].sort()).toEqual(Object.keys(QUERY_ROUTES).sort());
    expect([...expected.path].sort()).toEqual(Object.keys(PATH_ROUTES).sort());
  });

  it.each(Object.entries(BODY_ROUTES))(
    `%s: ${RUNS.body} invalid bodies → problem+json 4xx, nothing changed`,
    (route, { as, shape }) =>
      check(
        fc.asyncProperty(invalidBody(shape), (body) =>
          expectRefused(route, as, { method: methodOf(route), url: urlOf(route), ...json(body) }),
        ),
        RUNS.body,
      ),
  );

  it(`POST /v1/jobs: ${RUNS.body} invalid Idempotency-Key headers → 400, nothing changed`, () =>
    check(
      fc.asyncProperty(
        notIdempotencyKey.filter((key) => /^[\x20-\x7e\x80-\xff]*$/.test(key)),
        (key) => {
          const request = json({ type: 'noop', payload: {} });
          return expectRefused('POST /v1/jobs (Idempotency-Key)', 'user', {
            method: 'POST',
            url: '/v1/jobs',
            payload: request.payload,
            headers: { ...request.headers, 'idempotency-key': key },
          });
        },
      ),
      RUNS.body,
    ));

  it(`POST /v1/jobs/batch: ${RUNS.batchItems} batches of invalid items → every item refused, nothing changed`, () =>
    check(
      fc.asyncProperty(fc.array(invalidBody(CREATE_JOB), { minLength: 1, maxLength: 4 }), async (jobs) => {
        sent.add('POST /v1/jobs/batch (items)');
        const res = await call('user', { method: 'POST', url: '/v1/jobs/batch', ...json({ jobs }) });
        // Unstorable text or depth anywhere refuses the whole request; otherwise each item is.
        if (res.statusCode === 202) {
          const { results } = res.json<{ results: { index: number; error?: { status: number } }[] }>();
          expect(results.map((r) => [r.index, r.error?.status])).toEqual(jobs.map((_, i) => [i, 400]));
        } else expectClientProblem(res, 400);
        await watch.expectUnchanged();
      }),
      RUNS.batchItems,
    ));

  it.each(Object.entries(QUERY_ROUTES))(
    `%s: ${RUNS.query} invalid queries → problem+json 4xx, nothing changed`,
    (route, { as, shape }) =>
      check(
        fc.asyncProperty(invalidQuery(shape), (query) =>
          expectRefused(route, as, { method: 'GET', url: urlOf(route) + toQuery(query) }),
        ),
        RUNS.query,
      ),
  );

  it.each(Object.entries(PATH_ROUTES))(
    `%s: ${RUNS.path} invalid or foreign params → problem+json 4xx, nothing changed`,
    (route, { as, body }) => {
      const param = route.includes('{type}')
        ? segment(hostileText().filter((s) => !JOB_TYPES.includes(s)))
        : fc.oneof(
            segment(notUuid),
            fc.uuid(),
            ...(as === 'user' ? [fc.noShrink(fc.constantFrom(...foreignIds))] : []),
          );
      return check(
        fc.asyncProperty(param, (value) =>
          expectRefused(route, as, {
            method: methodOf(route),
            url: urlOf(route, value),
            ...(body ? json(body) : {}),
          }),
        ),
        RUNS.path,
      );
    },
  );

  it(`${RUNS.verbatim} injection-shaped and unicode-edge texts where free text is valid → stored verbatim, nothing else changed`, () =>
    check(
      fc.asyncProperty(
        hostileText(200).filter((s) => isWellFormed(s) && !s.includes('\u0000') && !RESERVED.includes(s)),
        async (s) => {
          sent.add('verbatim');
          const before = await rowCounts();
          const res = await call('user', {
            method: 'POST',
            url: '/v1/jobs',
            ...json({ type: 'noop', name: s, payload: { [s]: s, list: [s] } }),
          });
          expect(res.statusCode).toBe(202);
          const job = await getJob(t.app, user, res.json<JobJson>().id);
          expect([job.name, job.payload]).toEqual([s, { [s]: s, list: [s] }]);
          const [row] = await t.app
            .get(DataSource)
            .query<{ name: string }[]>('SELECT name FROM jobs WHERE id = $1', [job.id]);
          expect(row.name).toBe(s);
          expect(await rowCounts()).toEqual({
            ...before,
            jobs: before.jobs + 1,
            audit_logs: before.audit_logs + 1,
          });
          const found = await call('user', {
            method: 'GET',
            url: `/v1/jobs${toQuery({ name: s, limit: 100 })}`,
          });
          expect(found.json<{ items: JobJson[] }>().items.map((item) => item.name)).toContain(s);
          await watch.reset();
        },
      ),
      RUNS.verbatim,
    ));

  /** Rows per table, to prove a valid hostile-looking request changed only what it should. */
  async function rowCounts(): Promise<Record<string, number>> {
    const rows = await t.app.get(DataSource).query<{ name: string; n: number }[]>(
      `SELECT 'jobs' AS name, count(*)::int AS n FROM jobs
       UNION ALL SELECT 'audit_logs', count(*)::int FROM audit_logs
       UNION ALL SELECT 'users', count(*)::int FROM users
       UNION ALL SELECT 'api_keys', count(*)::int FROM api_keys
       UNION ALL SELECT 'refresh_tokens', count(*)::int FROM refresh_tokens`,
    );
    return Object.fromEntries(rows.map((row) => [row.name, row.n]));
  }

  it('sent at least 10,000 generated requests in this run', () => {
    expect(sent.total).toBeGreaterThanOrEqual(10_000);
  });
});

/** `METHOD /path` of every documented /v1 route, with its controller class and method name. */
async function documentedRoutes(t: TestApp): Promise<[string, object, string][]> {
  const controllers = new Map<string, object>();
  for (const module of t.app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      if (typeof wrapper.metatype === 'function') controllers.set(wrapper.metatype.name, wrapper.metatype);
    }
  }
  const doc = (await t.app.inject({ method: 'GET', url: '/docs-json' })).json<{
    paths: Record<string, Record<string, { operationId: string }>>;
  }>();
  return Object.entries(doc.paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, { operationId }]): [string, object, string] => {
      const [controller, name] = operationId.split('_');
      return [`${method.toUpperCase()} ${path}`, controllers.get(controller) as object, name];
    }),
  );
}
