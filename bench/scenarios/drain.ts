/**
 * (a) Drain: `--jobs` noop jobs enqueued through the bulk API with no worker running, then one
 * worker replica drains them. Drain jobs/s counts from the moment the worker is ready (jobs it
 * finished while starting up are left out of both the count and the time) until the store holds
 * no unfinished job. Also the CPU each job cost PostgreSQL and the worker process over the same
 * windows (support/cpu.ts), and for ours the API replica's CPU per enqueued job: what bounds the rates.
 * For ours on PostgreSQL also the drain's floor (bareDrain below).
 */
import { postgresCpu, processCpuMs, walWritten } from '../support/cpu';
import { formatStatements, statementWindow } from '../support/statements';
import { sleep, stallGuard, waitFor } from '../support/stats';
import { OursSession } from '../systems/ours';
import type { BenchOptions } from '../support/options';
import type { Metrics, Scenario } from './scenario';

const perJob = (ms: number, jobs: number) => (ms * 1000) / jobs;

export const drain: Scenario = {
  key: 'a',
  title: 'drain',
  async run(system, options) {
    const session = await system.open(options);
    try {
      await session.prepareEnqueue();
      let database = postgresCpu(options.databaseUrl);
      let wal = await walWritten(options.databaseUrl);
      const api = session.enqueuePid();
      const apiMs = api === undefined ? Number.NaN : processCpuMs(api);
      const t0 = performance.now();
      await session.enqueue(options.jobs);
      const enqueueSeconds = (performance.now() - t0) / 1000;
      const enqueueServiceMs = api === undefined ? Number.NaN : processCpuMs(api) - apiMs;
      const enqueueDatabaseMs = database.stop();
      const enqueueWal = await wal.stop();
      await session.startWorker();
      const start = performance.now();
      const before = await session.processed();
      const worker = session.workerPid();
      const workerMs = processCpuMs(worker);
      const statements = options.statements ? await statementWindow(options.databaseUrl) : null;
      database = postgresCpu(options.databaseUrl);
      wal = await walWritten(options.databaseUrl);
      // Whether it is over, every 20 ms (Session.drained: next to free for every system); the
      // progress, only for the stall guard, every 5 s.
      const observe = stallGuard('drain progress');
      let lastRead = start;
      while (!(await session.drained(options.jobs))) {
        if (performance.now() - lastRead >= 5000) {
          observe(await session.processed());
          lastRead = performance.now();
        }
        await sleep(20);
      }
      const drainSeconds = (performance.now() - start) / 1000;
      const drained = options.jobs - before;
      const drainWal = await wal.stop();
      if (statements) console.log(formatStatements(system.name, drained, await statements.stop()));
      const metrics: Metrics = {
        'enqueue jobs/s': options.jobs / enqueueSeconds,
        // Too few jobs left after start-up to time (tiny --jobs): no number rather than a wrong one.
        'drain jobs/s': before < options.jobs ? drained / drainSeconds : Number.NaN,
        'enqueue PostgreSQL CPU µs/job': perJob(enqueueDatabaseMs, options.jobs),
        // Ours only: the peers enqueue inside the bench process, through their library.
        'enqueue service CPU µs/job': perJob(enqueueServiceMs, options.jobs),
        'drain PostgreSQL CPU µs/job': before < options.jobs ? perJob(database.stop(), drained) : Number.NaN,
        'enqueue WAL bytes/job': enqueueWal / options.jobs,
        'drain WAL bytes/job': before < options.jobs ? drainWal / drained : Number.NaN,
        'drain worker CPU µs/job':
          before < options.jobs ? perJob(processCpuMs(worker) - workerMs, drained) : Number.NaN,
      };
      if (session instanceof OursSession && session.storeEnv.DATABASE_URL) {
        Object.assign(metrics, await bareDrain(session, options));
      }
      return metrics;
    } finally {
      await session.close();
    }
  },
};

/**
 * The floors: a second backlog of as many jobs, into the emptied tables, enqueued through the bare
 * batch route (support/bare-enqueue.ts: what any service answering the contract does, on ours'
 * tables) and drained by ours' worker SQL with nothing around it (support/bare-drain.ts). Ours'
 * rates are these less what ours' API and worker processes do per job around the same SQL.
 */
async function bareDrain(session: OursSession, options: BenchOptions): Promise<Metrics> {
  await session.stopReplica();
  await session.emptyJobs();
  const enqueue = await session.withBareApi(async (url, child) => {
    const database = postgresCpu(options.databaseUrl);
    const childMs = processCpuMs(child.pid);
    const start = performance.now();
    await session.enqueue(options.jobs, url);
    const seconds = (performance.now() - start) / 1000;
    return {
      'bare enqueue jobs/s': options.jobs / seconds,
      'bare enqueue PostgreSQL CPU µs/job': perJob(database.stop(), options.jobs),
      'bare enqueue API CPU µs/job': perJob(processCpuMs(child.pid) - childMs, options.jobs),
    };
  });
  const drain = await session.withBareDrain(async (child) => {
    const database = postgresCpu(options.databaseUrl);
    const childMs = processCpuMs(child.pid);
    const start = performance.now();
    child.send({ type: 'go' });
    await waitFor(
      () => Promise.resolve(child.handled),
      async () => !(await session.unfinished()),
      { what: 'bare drain progress' },
    );
    const seconds = (performance.now() - start) / 1000;
    return {
      'bare drain jobs/s': options.jobs / seconds,
      'bare drain PostgreSQL CPU µs/job': perJob(database.stop(), options.jobs),
      'bare drain worker CPU µs/job': perJob(processCpuMs(child.pid) - childMs, options.jobs),
    };
  });
  return { ...enqueue, ...drain };
}
