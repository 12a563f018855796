import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { FINAL_COUNTS, LIVE_COUNTS } from '../src/jobs/job-state-counts';
import { ProbeModule } from './support/probe.module';
import { startTestApp, type TestApp } from './support/test-app';

describe('/metrics (CONTRACT §7)', () => {
  describe('open (no METRICS_TOKEN)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ imports: [ProbeModule] });
    });
    afterAll(() => t.close());

    it('exposes default process metrics in Prometheus text format', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.body).toMatch(/^process_resident_memory_bytes \d+/m);
      expect(res.body).toMatch(/^nodejs_eventloop_lag_seconds /m);
      expect(res.body).toMatch(/^http_requests_in_flight \d+/m);
    });

    it('labels HTTP metrics by route template, never by raw path', async () => {
      await t.app.inject({ method: 'GET', url: '/v1/probe/items/31415926' });
      await t.app.inject({ method: 'GET', url: '/v1/no/such/route/27182818' });
      await t.app.inject({ method: 'POST', url: '/v1/probe/echo', payload: { bogus: 1 } });
      const body = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(body).toMatch(
        /http_requests_total\{method="GET",route="\/v1\/probe\/items\/:id",status_code="200"\} 1/,
      );
      expect(body).toMatch(/http_requests_total\{method="GET",route="unmatched",status_code="404"\} 1/);
      expect(body).toMatch(
        /http_requests_total\{method="POST",route="\/v1\/probe\/echo",status_code="400"\} 1/,
      );
      expect(body).toMatch(
        /http_request_duration_seconds_bucket\{le="0\.1",method="GET",route="\/v1\/probe\/items\/:id",status_code="200"\} 1/,
      );
      expect(body).not.toContain('31415926');
      expect(body).not.toContain('27182818');
    });

    it('a burst of scrapes costs the database at most two counts of live jobs, not one per scrape', async () => {
      // Without METRICS_TOKEN anyone may scrape; each scrape needs jobs_in_state, which counts the
      // queued and running rows.
      const dataSource = t.app.get(DataSource);
      const query = jest.spyOn(dataSource, 'query');
      try {
        const scrapes = await Promise.all(
          Array.from({ length: 20 }, () => t.app.inject({ method: 'GET', url: '/metrics' })),
        );
        expect(scrapes.map((res) => res.statusCode)).toEqual(Array(20).fill(200));
        const counts = (sql: string) => query.mock.calls.filter(([sent]) => sent === sql).length;
        expect(counts(LIVE_COUNTS)).toBeGreaterThanOrEqual(1);
        expect(counts(LIVE_COUNTS)).toBeLessThanOrEqual(2);
        expect(counts(FINAL_COUNTS)).toBeLessThanOrEqual(1);
      } finally {
        query.mockRestore();
      }
    });

    it('jobs_in_state counts queued and running jobs from their own tables, not the jobs table', async () => {
      const dataSource = t.app.get(DataSource);
      // Mostly finished jobs, as in a store that has run for a while; a type no worker handles.
      await dataSource.query(
        `WITH j AS (
           INSERT INTO jobs (type, status, payload, max_attempts, timeout_seconds, backoff_base_seconds,
             backoff_max_seconds, owner_id, finished_at)
           SELECT 'test.counted', s.status, '{}', 3, 30, 1, 60, $1,
             CASE WHEN s.status = 'succeeded' THEN now() END
           FROM (SELECT CASE WHEN i <= 50 THEN 'queued' WHEN i <= 60 THEN 'running' ELSE 'succeeded' END AS status
                 FROM generate_series(1, 3000) AS i) AS s
           RETURNING id, type, status, priority, run_at, created_at, lease_token
         ), q AS (
           INSERT INTO job_queue SELECT id, type, priority, run_at, created_at FROM j WHERE status = 'queued'
         )
         INSERT INTO job_leases SELECT id, lease_token, type, now() + interval '1 hour' FROM j WHERE status = 'running'`,
        [randomUUID()],
      );
      await dataSource.query('VACUUM ANALYZE jobs, job_queue, job_leases');
      const [row] = await dataSource.query<{ 'QUERY PLAN': unknown }[]>(
        `EXPLAIN (FORMAT JSON) ${LIVE_COUNTS}`,
      );
      const plan = JSON.stringify(row['QUERY PLAN']);
      expect(plan).not.toContain('"Relation Name":"jobs"');
      expect(plan).toMatch(/"(Relation|Index) Name":"(job_queue|IDX_job_queue_ready)"/);
      expect(plan).toContain('"Relation Name":"job_leases"');

      const body = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(body).toContain('jobs_in_state{type="test.counted",status="queued"} 50\n');
      expect(body).toContain('jobs_in_state{type="test.counted",status="running"} 10\n');
    });
  });

  describe('with METRICS_TOKEN', () => {
    let t: TestApp;
    const token = 'scrape-token-0123456789';
    beforeAll(async () => {
      t = await startTestApp({ env: { METRICS_TOKEN: token } });
    });
    afterAll(() => t.close());

    it.each([undefined, 'Bearer wrong-token-0123456789', `Basic ${token}`])(
      'refuses a scrape with authorization %j: 401 problem with WWW-Authenticate',
      async (authorization) => {
        const res = await t.app.inject({
          method: 'GET',
          url: '/metrics',
          headers: authorization ? { authorization } : {},
        });
        expect(res.statusCode).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer');
        expect(res.json()).toMatchObject({ status: 401 });
        expect(res.body).not.toContain('process_resident_memory_bytes');
      },
    );

    it('serves the right bearer token', async () => {
      const res = await t.app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('process_resident_memory_bytes');
    });
  });
});
