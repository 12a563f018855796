import { randomInt } from 'node:crypto';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { ProbeModule } from './support/probe.module';
import { startTestApp, type TestApp } from './support/test-app';
import { createTestStore, type TestStore } from './support/test-store';

// A client IP of its own per run, so counters left in a shared Redis by an earlier run within
// the same minute cannot leak into this one.
const randomIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

const get = (t: TestApp, ip: string, url = '/v1/probe/items/1') =>
  t.app.inject({ method: 'GET', url, remoteAddress: ip });

describe('rate limiting (CONTRACT §3)', () => {
  describe('in memory', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ imports: [ProbeModule], env: { RATE_LIMIT_PER_MINUTE: '3' } });
    });
    afterAll(() => t.close());

    it('counts per caller, sends X-RateLimit-*, then 429 problem with Retry-After', async () => {
      const ip = randomIp();
      const remaining: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await get(t, ip);
        expect(res.statusCode).toBe(200);
        expect(res.headers['x-ratelimit-limit']).toBe('3');
        expect(Number(res.headers['x-ratelimit-reset'])).toBeGreaterThan(0);
        remaining.push(String(res.headers['x-ratelimit-remaining']));
      }
      expect(remaining).toEqual(['2', '1', '0']);

      const limited = await get(t, ip);
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(limited.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
      expect(limited.headers['x-ratelimit-remaining']).toBe('0');

      // Another caller is not affected.
      expect((await get(t, randomIp())).statusCode).toBe(200);
    });

    it('on a 429, X-RateLimit-Reset is when the block ends, the same as Retry-After', async () => {
      const ip = randomIp();
      expect((await get(t, ip)).statusCode).toBe(200);
      // The window started 1.5 s before the block: its own end comes sooner than the block's.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      for (let i = 0; i < 2; i++) expect((await get(t, ip)).statusCode).toBe(200);
      const limited = await get(t, ip);
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['x-ratelimit-reset']).toBe(limited.headers['retry-after']);
    });

    it('does not limit probes and metrics', async () => {
      const ip = randomIp();
      for (let i = 0; i < 6; i++) {
        expect((await get(t, ip, '/health/live')).statusCode).toBe(200);
        expect((await get(t, ip, '/metrics')).statusCode).toBe(200);
      }
    });

    it('counts rejections by route template in rate_limit_rejections_total', async () => {
      const ip = randomIp();
      for (let i = 0; i < 5; i++) await get(t, ip, '/v1/probe/items/987654');
      const metrics = (await get(t, randomIp(), '/metrics')).body;
      expect(metrics).toMatch(/rate_limit_rejections_total\{route="\/v1\/probe\/items\/:id"\} [1-9]/);
      expect(metrics).not.toContain('987654');
    });
  });

  it('AUTH_RATE_LIMIT_PER_MINUTE limits /v1/auth/* per client IP, whatever the account', async () => {
    const t = await startTestApp({ env: { AUTH_RATE_LIMIT_PER_MINUTE: '2', RATE_LIMIT_PER_MINUTE: '100' } });
    try {
      const ip = randomIp();
      const attempt = (n: number) =>
        t.app.inject({
          method: 'POST',
          url: '/v1/auth/login',
          remoteAddress: ip,
          payload: { email: `someone-${n}@test.local`, password: 'wrong-password-123' },
        });
      // Below both limits, the headers count down the nearer one: the auth limit's 2, not the 100.
      const first = await attempt(1);
      expect(first.statusCode).toBe(401);
      expect([first.headers['x-ratelimit-limit'], first.headers['x-ratelimit-remaining']]).toEqual([
        '2',
        '1',
      ]);
      const second = await attempt(2);
      expect(second.statusCode).toBe(401);
      expect(second.headers['x-ratelimit-remaining']).toBe('0');
      // The library's per-throttler copies (`X-RateLimit-Remaining-auth`, …) are not sent.
      expect(Object.keys(second.headers).filter((name) => name.endsWith('-auth'))).toEqual([]);
      const limited = await attempt(3);
      expect(limited.statusCode).toBe(429);
      expect(limited.json()).toMatchObject({ code: 'RATE_LIMITED' });
      // The headers are the auth limit's, under the names every 429 uses.
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(limited.headers['x-ratelimit-limit']).toBe('2');
      expect(limited.headers['x-ratelimit-remaining']).toBe('0');
      expect(Object.keys(limited.headers).filter((name) => name.endsWith('-auth'))).toEqual([]);
      // One budget for all of /v1/auth/*: the IP's refresh calls are out of it too.
      const refresh = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        remoteAddress: ip,
        payload: { refreshToken: 'jsr_unknown' },
      });
      expect(refresh.statusCode).toBe(429);
      // Routes outside /v1/auth and other IPs are not affected.
      expect((await get(t, ip, '/health/live')).statusCode).toBe(200);
      const elsewhere = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        remoteAddress: randomIp(),
        payload: { email: 'someone@test.local', password: 'wrong-password-123' },
      });
      expect(elsewhere.statusCode).toBe(401);
    } finally {
      await t.close();
    }
  });

  it('RATE_LIMIT_PER_MINUTE=0 turns limiting off', async () => {
    const t = await startTestApp({ imports: [ProbeModule], env: { RATE_LIMIT_PER_MINUTE: '0' } });
    try {
      const ip = randomIp();
      for (let i = 0; i < 30; i++) expect((await get(t, ip)).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });

  // A refused connection, and one that is accepted and never answered.
  describe.each([
    ['refuses connections', () => createServer((socket) => socket.destroy())],
    ['accepts and never answers', () => createServer(() => undefined)],
  ])('with REDIS_URL set and a Redis that %s', (_name, redisStandIn) => {
    let redis: Server;
    let t: TestApp;
    const sockets = new Set<Socket>();
    beforeAll(async () => {
      redis = redisStandIn().on('connection', (socket) => sockets.add(socket));
      await new Promise<void>((resolve) => redis.listen(0, '127.0.0.1', resolve));
      const { port } = redis.address() as AddressInfo;
      t = await startTestApp({
        imports: [ProbeModule],
        env: { RATE_LIMIT_PER_MINUTE: '3', REDIS_URL: `redis://127.0.0.1:${port}` },
      });
    });
    afterAll(async () => {
      await t.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => redis.close(resolve));
    });

    it("serves every request and still limits, on this replica's counters", async () => {
      const ip = randomIp();
      for (let i = 0; i < 3; i++) expect((await get(t, ip)).statusCode).toBe(200);
      expect((await get(t, ip)).statusCode).toBe(429);
      expect((await get(t, randomIp())).statusCode).toBe(200);
    });
  });

  // Needs a Redis; CI provides one (TEST_REDIS_URL) and fails on any skipped test.
  const withRedis = process.env.TEST_REDIS_URL ? describe : describe.skip;
  withRedis('shared through Redis (REDIS_URL)', () => {
    let store: TestStore;
    let replicas: TestApp[];
    beforeAll(async () => {
      store = await createTestStore();
      const env = { RATE_LIMIT_PER_MINUTE: '3', REDIS_URL: process.env.TEST_REDIS_URL };
      // Two replicas on one store; started one after the other (the embedded store is one process).
      replicas = [await startTestApp({ imports: [ProbeModule], env, store })];
      if (store.kind === 'postgres')
        replicas.push(await startTestApp({ imports: [ProbeModule], env, store }));
      else replicas.push(replicas[0]);
    });
    afterAll(async () => {
      await Promise.all([...new Set(replicas)].map((r) => r.close()));
      await store.drop();
    });

    it('one budget across replicas', async () => {
      const ip = randomIp();
      expect((await get(replicas[0], ip)).statusCode).toBe(200);
      expect((await get(replicas[1], ip)).statusCode).toBe(200);
      expect((await get(replicas[0], ip)).statusCode).toBe(200);
      const limited = await get(replicas[1], ip);
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['retry-after']).toBeDefined();
    });
  });
});
