import { HttpCircuitBreakers } from '../src/jobs/handlers/http-circuit-breakers';
import { startTestApp, type TestApp } from './support/test-app';

// The breakers as the app wires them: thresholds from the environment, state in readiness and
// /metrics. Calls are faked; the http handler's own suite drives them with real requests.
describe('circuit breakers in readiness and metrics (CONTRACT §5, §7)', () => {
  const DOWN = 'https://down.example.com:443';
  const UP = 'https://up.example.com:443';
  const OWNER = '00000000-0000-4000-8000-000000000001';
  const signal = new AbortController().signal;
  const isFailure = ({ error, result }: { error?: unknown; result?: number }) =>
    error !== undefined || result! >= 500;
  let t: TestApp;
  let breakers: HttpCircuitBreakers;

  beforeAll(async () => {
    t = await startTestApp({
      env: { JOBS_HTTP_BREAKER_FAILURES: '2', JOBS_HTTP_BREAKER_HALF_OPEN_SECONDS: '1' },
    });
    breakers = t.app.get(HttpCircuitBreakers);
  });
  afterAll(() => t.close());

  const call = (origin: string, status: number) =>
    breakers.execute({ owner: OWNER, origin }, () => Promise.resolve(status), isFailure, signal);
  const ready = async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/ready' });
    return { status: res.statusCode, body: res.json() };
  };
  const gauge = async () => {
    const body = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    return [...body.matchAll(/^circuit_breaker_state\{target="([^"]+)"\} (\d)$/gm)].map((m) => [m[1], +m[2]]);
  };

  it('lists no circuit while every origin is healthy', async () => {
    await call(UP, 200);
    expect(await ready()).toMatchObject({
      status: 200,
      body: { status: 'ok', info: { circuits: { status: 'up', open: 0, halfOpen: 0 } } },
    });
    expect(await gauge()).toEqual([]);
    expect((await t.app.inject({ method: 'GET', url: '/metrics' })).body).toContain(
      '# HELP circuit_breaker_state',
    );
  });

  it('opens after JOBS_HTTP_BREAKER_FAILURES failures; readiness stays 200 and counts it without naming it', async () => {
    await call(DOWN, 503);
    await call(DOWN, 502);
    await expect(call(DOWN, 200)).rejects.toMatchObject({
      code: 'CIRCUIT_OPEN',
      options: { retryAfterMs: expect.any(Number) },
    });

    expect(await ready()).toMatchObject({
      status: 200,
      body: {
        status: 'ok',
        info: {
          store: { status: 'up' },
          circuits: { status: 'up', open: 1, halfOpen: 0 },
        },
      },
    });
    // The probe answers anyone; which hosts the users' jobs call is not theirs to read.
    expect(JSON.stringify((await ready()).body)).not.toContain('down.example.com');
    expect(await gauge()).toEqual([[DOWN, 1]]);
  });

  it('half-opens after JOBS_HTTP_BREAKER_HALF_OPEN_SECONDS, then a good probe closes it', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await ready()).body.info.circuits).toEqual({ status: 'up', open: 0, halfOpen: 1 });
    expect(await gauge()).toEqual([[DOWN, 2]]);

    await expect(call(DOWN, 200)).resolves.toBe(200);
    expect((await ready()).body.info.circuits).toEqual({ status: 'up', open: 0, halfOpen: 0 });
    expect(await gauge()).toEqual([[DOWN, 0]]);
  });
});
