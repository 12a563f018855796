/**
 * `http` job numbers (issue 5): one replica (default JOBS_CONCURRENCY) calling a local target
 * that answers at once, through the built service over real HTTP.
 * - drain: http jobs/s for a backlog submitted with the worker off (batches of 1,000);
 * - memory: the service's RSS idle, then after every job has run.
 *
 *   npm run build && npm run bench:http                       # embedded store
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:http
 *
 * JOBS=… changes the size (default 100,000).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { post, type Service, startService, stopService, withThrowawayStore } from './support/service';

const JOBS = Number(process.env.JOBS ?? 100_000);

async function metric(service: Service, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const match = pattern.exec(text);
  return match ? Number(match[1]) : 0;
}

const rssMb = (service: Service) =>
  metric(service, /^process_resident_memory_bytes (\d+)/m).then((bytes) => (bytes / 2 ** 20).toFixed(0));

async function measure(storeEnv: Record<string, string>): Promise<Record<string, string>> {
  const target = createServer((_req, res) => res.writeHead(200, { 'content-length': '2' }).end('ok'));
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}/hook`;
  const env = { ...storeEnv, JOBS_HTTP_ALLOWED_HOSTS: '127.0.0.1' };
  try {
    const api = await startService({ ...env, JOBS_WORKER_ENABLED: 'false' });
    const batch = { jobs: Array.from({ length: 1000 }, () => ({ type: 'http', payload: { url } })) };
    for (let sent = 0; sent < JOBS; sent += 1000) {
      const res = await post(api.url, '/v1/jobs/batch', batch, api.headers);
      if (res.status !== 202) throw new Error(`batch → ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    }
    await stopService(api);

    const worker = await startService({ ...env, JOBS_WORKER_ENABLED: 'false' });
    const idle = await rssMb(worker);
    await stopService(worker);
    const runner = await startService(env);
    const started = performance.now();
    const done = /^jobs_finished_total\{type="http",outcome="succeeded"\} (\d+)/m;
    let peak = 0;
    while ((await metric(runner, done)) < JOBS) {
      peak = Math.max(peak, Number(await rssMb(runner)));
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const seconds = (performance.now() - started) / 1000;
    const after = await rssMb(runner);
    await stopService(runner);
    return {
      'http jobs/s': (JOBS / seconds).toFixed(0),
      'RSS idle MB': idle,
      'RSS peak while draining MB': String(peak),
      [`RSS after ${JOBS} jobs MB`]: after,
    };
  } finally {
    await new Promise((resolve) => target.close(resolve));
  }
}

async function main(): Promise<void> {
  const { store, numbers } = await withThrowawayStore(measure);
  console.log(`\njobs-service http jobs, ${store}: ${JOBS} jobs against a local target`);
  console.table(numbers);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
