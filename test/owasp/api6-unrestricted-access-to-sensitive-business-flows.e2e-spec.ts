import { randomInt, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { loginAdmin, newApiKey, newUser, type Session } from '../support/auth';
import { type JobJson, submitJob } from '../support/jobs';
import { startTestApp, type TestApp } from '../support/test-app';

const AUTH_PER_MINUTE = 6;
const randomIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

// OWASP API6:2023. The flows worth automating against this service are guessing passwords and
// replaying job submissions. test/auth.e2e-spec.ts proves the basic lockout and
// test/rate-limit.e2e-spec.ts the per-IP throttle on login; this file proves they cannot be
// sidestepped, and that an idempotency key never becomes a window into another owner's jobs.
describe('OWASP API6:2023 Unrestricted Access to Sensitive Business Flows', () => {
  let t: TestApp;
  let admin: Session;
  /** An account made through the admin API, without logging in (logins are what is counted here). */
  const account = async () => {
    const email = `acct-${randomUUID()}@test.local`;
    const password = `pw-${randomUUID()}`;
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/admin/users',
      headers: admin.headers,
      payload: { email, password, role: 'user' },
    });
    expect(res.statusCode).toBe(201);
    return { email, password };
  };
  const login = (email: string, password: string, ip: string, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email, password },
      remoteAddress: ip,
      headers,
    });

  beforeAll(async () => {
    t = await startTestApp({ env: { AUTH_RATE_LIMIT_PER_MINUTE: String(AUTH_PER_MINUTE) } });
    admin = await loginAdmin(t.app);
  });
  afterAll(() => t.close());

  describe('password guessing', () => {
    it('spreading guesses over many IPs does not escape the per-account lockout', async () => {
      const victim = await account();
      for (let i = 0; i < 5; i++) {
        expect((await login(victim.email, `guess-${i}`, randomIp())).statusCode).toBe(401);
      }
      const res = await login(victim.email, victim.password, randomIp());
      expect(res.statusCode).toBe(429);
      expect(res.json()).toMatchObject({ code: 'AUTH.ACCOUNT_LOCKED' });
      const audit = await t.app
        .get(DataSource)
        .query<{ n: number }[]>(
          "SELECT count(*)::int AS n FROM audit_logs WHERE action = 'auth.login.locked' AND changes->'email'->>'after' = $1",
          [victim.email],
        );
      expect(audit[0].n).toBe(1);
    });

    it('spreading guesses over many accounts from one IP hits the per-IP throttle', async () => {
      const ip = randomIp();
      const statuses: number[] = [];
      for (let i = 0; i <= AUTH_PER_MINUTE; i++) {
        const { email } = await account();
        statuses.push((await login(email, 'wrong-password-123', ip)).statusCode);
      }
      expect(statuses).toEqual([...Array<number>(AUTH_PER_MINUTE).fill(401), 429]);
    });

    it('X-Forwarded-For is not believed (TRUST_PROXY off), so rotating it does not reset the budget', async () => {
      const ip = randomIp();
      const statuses: number[] = [];
      for (let i = 0; i <= AUTH_PER_MINUTE; i++) {
        const res = await login(`nobody-${i}@test.local`, 'wrong-password-123', ip, {
          'x-forwarded-for': randomIp(),
          'x-real-ip': randomIp(),
        });
        statuses.push(res.statusCode);
      }
      expect(statuses.at(-1)).toBe(429);
    });

    it('behind a proxy that writes ip:port, a new source port does not reset the budget', async () => {
      const proxied = await startTestApp({
        env: { AUTH_RATE_LIMIT_PER_MINUTE: String(AUTH_PER_MINUTE), TRUST_PROXY: '10.0.0.0/8' },
      });
      try {
        const client = randomIp().replace(/^10\./, '198.');
        const statuses: number[] = [];
        for (let i = 0; i <= AUTH_PER_MINUTE; i++) {
          const res = await proxied.app.inject({
            method: 'POST',
            url: '/v1/auth/login',
            payload: { email: `nobody-${i}@test.local`, password: 'wrong-password-123' },
            remoteAddress: '10.1.2.3',
            headers: { 'x-forwarded-for': `${client}:${40000 + i}` },
          });
          statuses.push(res.statusCode);
        }
        expect(statuses).toEqual([...Array<number>(AUTH_PER_MINUTE).fill(401), 429]);
      } finally {
        await proxied.close();
      }
    });

    it('a valid bearer token on the login call does not buy a per-user budget', async () => {
      const ip = randomIp();
      const user = await newUser(t.app, admin);
      let last = 0;
      for (let i = 0; i <= AUTH_PER_MINUTE; i++) {
        last = (await login(`nobody-${i}@test.local`, 'wrong-password-123', ip, user.headers)).statusCode;
      }
      expect(last).toBe(429);
    });

    it('refresh-token guessing is throttled per IP as well', async () => {
      const ip = randomIp();
      const statuses: number[] = [];
      for (let i = 0; i <= AUTH_PER_MINUTE; i++) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/v1/auth/refresh',
          remoteAddress: ip,
          payload: { refreshToken: `jsr_${randomUUID()}` },
        });
        statuses.push(res.statusCode);
      }
      expect(statuses).toEqual([...Array<number>(AUTH_PER_MINUTE).fill(401), 429]);
    });
  });

  describe('idempotency keys (scoped to the owner, CONTRACT §5)', () => {
    let a: Session & { id: string };
    let b: Session & { id: string };
    let key: string;
    let original: JobJson;
    const body = { type: 'noop', payload: { order: 42, card: 'A-only' }, delaySeconds: 3600 };
    const submit = (session: { headers: Record<string, string> }, payload: object, idem = key) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/jobs',
        headers: { ...session.headers, 'idempotency-key': idem },
        payload,
      });

    beforeAll(async () => {
      a = await newUser(t.app, admin);
      b = await newUser(t.app, admin);
      key = `order-${randomUUID()}`;
      original = await submitJob(t.app, a, body, { 'idempotency-key': key });
    });

    it("B replaying A's key with A's exact body gets a job of B's own, never A's", async () => {
      const res = await submit(b, body);
      expect(res.statusCode).toBe(202);
      const job = res.json<JobJson>();
      expect(job.id).not.toBe(original.id);
      expect(job.ownerId).toBe(b.id);
    });

    it("B using A's key with another body is not told the key is taken (no 409 oracle)", async () => {
      // C never used the key: a 409 here would tell C that someone else did.
      const c = await newUser(t.app, admin);
      const res = await submit(c, { type: 'noop', payload: { probe: true } });
      expect(res.statusCode).toBe(202);
      expect(res.json<JobJson>().ownerId).toBe(c.id);
      expect(res.body).not.toContain(original.id);
    });

    it("B's batch with A's key does not reach A's job either", async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/jobs/batch',
        headers: b.headers,
        payload: { jobs: [{ ...body, idempotencyKey: key }] },
      });
      expect(res.statusCode).toBe(202);
      // B's own earlier job with that key and body, or a new one of B's: never A's.
      const [item] = res.json<{ results: { job: JobJson }[] }>().results;
      expect(item.job.ownerId).toBe(b.id);
      expect(res.body).not.toContain(original.id);
    });

    it("A's own repeat → 200 with the original, also through A's API key; another body → 409", async () => {
      const apiKey = (await newApiKey(t.app, a, 'k')).key;
      const again = await submit({ headers: { 'x-api-key': apiKey } }, body);
      expect(again.statusCode).toBe(200);
      expect(again.json<JobJson>().id).toBe(original.id);
      const conflict = await submit(a, { ...body, payload: { order: 43 } });
      expect(conflict.statusCode).toBe(409);
      expect(conflict.json()).toMatchObject({ code: 'JOBS.IDEMPOTENCY_CONFLICT' });
      expect(conflict.body).not.toContain('A-only');
    });

    it("A's job is untouched, and each owner has exactly the jobs they made with the key", async () => {
      const rows = await t.app
        .get(DataSource)
        .query<{ owner_id: string; n: number }[]>(
          'SELECT owner_id, count(*)::int AS n FROM jobs WHERE idempotency_key = $1 GROUP BY owner_id',
          [key],
        );
      const counts = Object.fromEntries(rows.map((r) => [r.owner_id, r.n]));
      expect(counts).toMatchObject({ [a.id]: 1, [b.id]: 1 });
      expect(Object.keys(counts)).toHaveLength(3);
      const now = await t.app.inject({ method: 'GET', url: `/v1/jobs/${original.id}`, headers: a.headers });
      expect(now.json()).toEqual(original);
    });
  });
});
