import { randomUUID } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { DataSource } from 'typeorm';
import { loginAdmin, newUser, type Session } from '../support/auth';
import { JOB_ID_ROUTES, type JobJson, submitJob, waitForJob } from '../support/jobs';
import { startTestApp, type TestApp } from '../support/test-app';

type Caller = { headers: Record<string, string> };
type Method = 'GET' | 'POST' | 'DELETE';

// OWASP API1:2023. Every route that takes an object id, called by someone who does not own the
// object, must answer exactly as for an id that does not exist (CONTRACT §3: "never reveal others'
// jobs") and change nothing. test/jobs-actions.e2e-spec.ts ("ownership") proves the 404 shape on a
// queued job; here every job state, both credential kinds, and the store itself.

describe('OWASP API1:2023 Broken Object Level Authorization', () => {
  let t: TestApp;
  let db: DataSource;
  let admin: Session;
  let owner: Awaited<ReturnType<typeof newUser>>;
  let stranger: Session & { id: string };
  let strangerKey: Caller;
  const jobs: Record<string, JobJson> = {};
  let ownerKey: { id: string; key: string };

  const call = (method: Method, url: string, caller: Caller, payload?: InjectOptions['payload']) =>
    t.app.inject({ method, url, headers: caller.headers, payload });
  /** Everything the owner has in the store, to prove that nothing moved. */
  const ownerState = () =>
    Promise.all([
      db.query(
        // Not updated_at or progress: the running job's heartbeats move those.
        `SELECT id, status, attempts, cancel_requested, run_at, finished_at, result, name, payload
         FROM jobs WHERE owner_id = $1 ORDER BY id`,
        [owner.id],
      ),
      db.query(
        `SELECT a.job_id, a.attempt, a.outcome FROM job_attempts a JOIN jobs j ON j.id = a.job_id
         WHERE j.owner_id = $1 ORDER BY a.job_id, a.attempt`,
        [owner.id],
      ),
      db.query('SELECT id, revoked_at FROM api_keys WHERE user_id = $1 ORDER BY id', [owner.id]),
      db.query('SELECT role, disabled, session_version, updated_at FROM users WHERE id = $1', [owner.id]),
    ]);

  beforeAll(async () => {
    t = await startTestApp();
    db = t.app.get(DataSource);
    admin = await loginAdmin(t.app);
    owner = await newUser(t.app, admin);
    stranger = await newUser(t.app, admin);
    const key = await call('POST', '/v1/users/me/api-keys', stranger, { name: 'stranger' });
    strangerKey = { headers: { 'x-api-key': key.json<{ key: string }>().key } };
    ownerKey = (await call('POST', '/v1/users/me/api-keys', owner, { name: 'owner' })).json();

    // One job of the owner's in each state a route treats differently.
    jobs.queued = await submitJob(t.app, owner, { type: 'noop', payload: {}, delaySeconds: 3600 });
    const done = await submitJob(t.app, owner, { type: 'noop', payload: { secret: 'owner-only' } });
    jobs.succeeded = await waitForJob(t.app, owner, done.id, (j) => j.status === 'succeeded');
    const cancelled = await submitJob(t.app, owner, { type: 'noop', payload: {}, delaySeconds: 3600 });
    jobs.cancelled = (await call('POST', `/v1/jobs/${cancelled.id}/cancel`, owner)).json<JobJson>();
    const running = await submitJob(t.app, owner, { type: 'sleep', payload: { ms: 60_000 } });
    jobs.running = await waitForJob(t.app, owner, running.id, (j) => j.status === 'running');
  });
  afterAll(async () => {
    await call('POST', `/v1/jobs/${jobs.running.id}/cancel`, owner);
    await t.close();
  });

  describe.each([
    ['a bearer token', () => stranger as Caller],
    ['an API key', () => strangerKey],
  ])("another user's job ids, with %s", (_, caller) => {
    it.each(['queued', 'succeeded', 'cancelled', 'running'])(
      'every job route on a %s job → the 404 of an unknown id, and nothing changes',
      async (state) => {
        const before = await ownerState();
        for (const [method, suffix] of JOB_ID_ROUTES) {
          const theirs = await call(method, `/v1/jobs/${jobs[state].id}${suffix}`, caller());
          const unknown = await call(method, `/v1/jobs/${randomUUID()}${suffix}`, caller());
          const label = `${method} /v1/jobs/:id${suffix} on a ${state} job`;
          expect(`${label} → ${theirs.statusCode}`).toBe(`${label} → 404`);
          expect(theirs.headers['content-type']).toMatch(/^application\/problem\+json/);
          const strip = ({ instance: _i, requestId: _r, ...rest }: Record<string, unknown>) => rest;
          expect(strip(theirs.json())).toEqual(strip(unknown.json()));
          expect(theirs.body).not.toContain('owner-only');
        }
        expect(await ownerState()).toEqual(before);
      },
    );
  });

  it("the stranger's list never shows the owner's jobs, whatever the filters", async () => {
    for (const query of ['', `ownerId=${owner.id}`, 'status=running', 'limit=100', 'type=noop']) {
      const res = await call('GET', `/v1/jobs?${query}`, stranger);
      expect(res.statusCode).toBe(200);
      expect(res.json<{ items: unknown[] }>().items).toEqual([]);
    }
  });

  it("another user's API key id: revoke → 404, the key stays valid", async () => {
    const before = await ownerState();
    const res = await call('DELETE', `/v1/users/me/api-keys/${ownerKey.id}`, stranger);
    expect(res.statusCode).toBe(404);
    const unknown = await call('DELETE', `/v1/users/me/api-keys/${randomUUID()}`, stranger);
    expect(res.json<{ code: string }>().code).toBe(unknown.json<{ code: string }>().code);
    expect(await ownerState()).toEqual(before);
    const asOwner = await call('GET', '/v1/users/me', { headers: { 'x-api-key': ownerKey.key } });
    expect(asOwner.json()).toMatchObject({ id: owner.id });
    // And the stranger's own key list does not show it.
    const list = await call('GET', '/v1/users/me/api-keys', stranger);
    expect(list.json<{ items: { id: string }[] }>().items.map((k) => k.id)).not.toContain(ownerKey.id);
  });

  it('user ids: a user cannot read or change another account through /v1/admin/users/:id', async () => {
    const before = await ownerState();
    for (const [method, payload] of [
      ['GET', undefined],
      ['PATCH', { firstName: 'Mallory' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await t.app.inject({
        method,
        url: `/v1/admin/users/${owner.id}`,
        headers: stranger.headers,
        payload,
      });
      // Function-level denial (API5): the route itself is admin-only, whoever the id names.
      expect(`${method} ${res.statusCode}`).toBe(`${method} 403`);
      expect(res.body).not.toContain(owner.email);
    }
    expect(await ownerState()).toEqual(before);
    // /v1/users/me takes no id: it is always the caller.
    const me = await call('GET', '/v1/users/me', stranger);
    expect(me.json()).toMatchObject({ id: stranger.id });
  });

  it('the owner still sees and controls every one of their jobs (the 404s were not a blanket denial)', async () => {
    for (const job of Object.values(jobs)) {
      expect((await call('GET', `/v1/jobs/${job.id}`, owner)).statusCode).toBe(200);
    }
    const result = await call('GET', `/v1/jobs/${jobs.succeeded.id}/result`, owner);
    expect(result.json()).toEqual({ jobId: jobs.succeeded.id, result: { secret: 'owner-only' } });
    expect((await call('DELETE', `/v1/jobs/${jobs.queued.id}`, owner)).statusCode).toBe(204);
  });
});
