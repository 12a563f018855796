/**
 * Job engine numbers, through the built service as a separate process over real HTTP:
 * - enqueue: noop jobs/s through POST /v1/jobs/batch (1,000 per request), worker off;
 * - drain: noop jobs/s one replica (default JOBS_CONCURRENCY) takes to run that backlog;
 * - pickup: idle-worker latency from "POST /v1/jobs sent" to "handler started" (the job's
 *   startedAt, same host clock), over sequential submits: p50/p95/p99.
 *
 *   npm run build && npm run bench:jobs                       # embedded store
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:jobs
 *
 * With DATABASE_URL it works in a throwaway database on that server (dropped at the end).
 * JOBS=… and PICKUPS=… change the sizes.
 */
import { post, type Service, startService, stopService, withThrowawayStore } from './support/service';

const JOBS = Number(process.env.JOBS ?? 20_000);
const PICKUPS = Number(process.env.PICKUPS ?? 200);

async function finishedNoops(service: Service): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const match = /^jobs_finished_total\{type="noop",outcome="succeeded"\} (\d+)/m.exec(text);
  return match ? Number(match[1]) : 0;
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

async function measure(storeEnv: Record<string, string>): Promise<Record<string, string>> {
  const api = await startService({ ...storeEnv, JOBS_WORKER_ENABLED: 'false' });
  const batch = { jobs: Array.from({ length: 1000 }, () => ({ type: 'noop', payload: {} })) };
  const t0 = performance.now();
  for (let sent = 0; sent < JOBS; sent += 1000) {
    const res = await post(api.url, '/v1/jobs/batch', batch, api.headers);
    if (res.status !== 202) throw new Error(`batch → ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  }
  const enqueueSeconds = (performance.now() - t0) / 1000;
  await stopService(api);

  const worker = await startService(storeEnv);
  const drainStart = performance.now();
  while ((await finishedNoops(worker)) < JOBS) await new Promise((resolve) => setTimeout(resolve, 20));
  const drainSeconds = (performance.now() - drainStart) / 1000;

  const pickups: number[] = [];
  for (let i = 0; i < PICKUPS; i += 1) {
    // An idle worker: nothing queued, nothing running, the last wake-up long done.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const sentAt = Date.now();
    const res = await post(worker.url, '/v1/jobs', { type: 'noop', payload: {} }, worker.headers);
    const { id } = (await res.json()) as { id: string };
    for (;;) {
      const job = (await (
        await fetch(`${worker.url}/v1/jobs/${id}`, { headers: worker.headers })
      ).json()) as {
        status: string;
        startedAt: string;
      };
      if (job.status === 'succeeded') {
        pickups.push(Date.parse(job.startedAt) - sentAt);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }
  await stopService(worker);
  pickups.sort((a, b) => a - b);
  return {
    'enqueue jobs/s': (JOBS / enqueueSeconds).toFixed(0),
    'drain jobs/s': (JOBS / drainSeconds).toFixed(0),
    'pickup p50 ms': String(percentile(pickups, 0.5)),
    'pickup p95 ms': String(percentile(pickups, 0.95)),
    'pickup p99 ms': String(percentile(pickups, 0.99)),
  };
}

async function main(): Promise<void> {
  const { store, numbers } = await withThrowawayStore(measure);
  console.log(`\njobs-service engine, ${store}: ${JOBS} noop jobs, ${PICKUPS} pickups`);
  console.table(numbers);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
