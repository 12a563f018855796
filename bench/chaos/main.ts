/**
 * Fault campaign (issue 7): N replicas of the built service on one PostgreSQL, each behind its
 * own TCP proxy, take randomized faults — SIGKILL, SIGTERM, a store cut, a freeze (SIGSTOP) past
 * the lease — while clients submit jobs. After each trial everything is healed, the jobs are left
 * to finish, and the promises are checked (invariants.ts). Exit code 1 on any violation.
 *
 *   npm run build && npm run chaos -- [--trials 50] [--seed S] [--replicas 3] [--smoke]
 *
 * DATABASE_URL names the server (default postgres://postgres@127.0.0.1:5432/postgres); the
 * campaign creates and drops a throwaway database on it.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { JobTarget } from '../../test/support/job-target';
import { drawFault, type FaultKind, inject } from './faults';
import { checkInvariants, type Tally, untilQuiet } from './invariants';
import { Load } from './load';
import { Random } from './random';
import { Replica } from './replica';

const LEASE_SECONDS = 5; // the shortest JOBS_LEASE_SECONDS allows

const { values: args } = parseArgs({
  options: {
    trials: { type: 'string' },
    seed: { type: 'string' },
    replicas: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const smoke = args.smoke ?? false;
const trials = Number(args.trials ?? (smoke ? 3 : 50));
const seed = Number(args.seed ?? randomBytes(4).readUInt32BE());
const replicaCount = Number(args.replicas ?? (smoke ? 2 : 3));
const server = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function main(): Promise<number> {
  const began = Date.now();
  console.log(`chaos: ${trials} trials, ${replicaCount} replicas, seed ${seed} (replay: --seed ${seed})`);
  const random = new Random(seed);
  const name = `jobs_chaos_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const storeUrl = Object.assign(new URL(server), { pathname: `/${name}` }).toString();
  const db = new Client({ connectionString: storeUrl });
  const target = await new JobTarget().start();
  const replicas: Replica[] = [];
  const violations: string[] = [];
  const faults = new Map<FaultKind, number>();
  const accepted: string[] = [];
  const http = { requests: 0, unavailable: 0, unanswered: 0 };
  let tally: Tally | undefined;
  try {
    const env = {
      JOBS_LEASE_SECONDS: String(LEASE_SECONDS),
      SHUTDOWN_GRACE_SECONDS: '2',
      JOBS_CONCURRENCY: '5',
      JOBS_POLL_INTERVAL_MS: '500',
      DATABASE_POOL_SIZE: '5',
      JOBS_HTTP_ALLOWED_HOSTS: '127.0.0.1',
    };
    for (let i = 0; i < replicaCount; i += 1) {
      const replica = await Replica.create(`r${i}`, storeUrl, env);
      await replica.start(); // one after the other: the first applies the migrations
      replicas.push(replica);
    }
    await db.connect();

    for (let trial = 1; trial <= trials; trial += 1) {
      const fault = drawFault(trial, random, replicas, LEASE_SECONDS, smoke);
      faults.set(fault.kind, (faults.get(fault.kind) ?? 0) + 1);
      const load = new Load(random, replicas, target.url);
      load.start(3, smoke ? 100 : 60);
      await sleep(random.int(300, smoke ? 800 : 1500));
      const outcome = await inject(fault);
      await sleep(random.int(0, 1000));
      await load.stop();
      for (const replica of replicas) await replica.heal();
      const quiet = await untilQuiet(db, 90_000);
      for (const replica of replicas) await replica.scrapeStale();

      accepted.push(...load.figures.accepted);
      http.requests += load.figures.requests;
      http.unavailable += load.figures.unavailable;
      http.unanswered += load.figures.unanswered;
      const found = [
        ...(outcome === 'DIED' ? [`${fault.replica.name} died during a ${fault.kind}`] : []),
        ...(quiet ? [] : ['jobs still open 90 s after recovery']),
        ...load.figures.unexpected.map((u) => `unexpected answer: ${u}`),
      ];
      const checked = await checkInvariants(db, target, accepted);
      tally = checked.tally;
      found.push(...checked.violations);
      violations.push(...found.map((v) => `trial ${trial}: ${v}`));
      console.log(
        `trial ${trial}/${trials}: ${fault.kind} ${fault.replica.name} ${fault.ms} ms (${outcome}); ` +
          `${load.figures.accepted.length} accepted, ${load.figures.unavailable} × 503, ` +
          `${load.figures.unanswered} unanswered; ${found.length === 0 ? 'ok' : `${found.length} VIOLATION(S)`}`,
      );
      for (const v of found.slice(0, 5)) console.log(`  ${v}`);
    }
  } finally {
    for (const replica of replicas) await replica.close();
    await target.stop();
    await db.end().catch(() => undefined);
    if (!args.keep) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }

  const stale = replicas.reduce((sum, r) => sum + r.staleWrites, 0);
  const t = tally ?? {
    jobs: 0,
    lost: 0,
    duplicatedCompletions: 0,
    rerunsAfterLeaseExpiry: 0,
    interrupted: 0,
  };
  console.log(
    [
      '',
      `seed ${seed}; ${trials} trials over ${replicaCount} replicas in ${((Date.now() - began) / 1000).toFixed(0)} s`,
      `faults: ${[...faults].map(([kind, n]) => `${kind} ${n}`).join(', ')}`,
      `requests ${http.requests}: ${accepted.length} jobs accepted, ${http.unavailable} × 503 with Retry-After, ` +
        `${http.unanswered} unanswered (killed or frozen replica)`,
      `jobs in the store ${t.jobs}; lost ${t.lost}; duplicated completions ${t.duplicatedCompletions}`,
      `re-runs after lease expiry ${t.rerunsAfterLeaseExpiry}; interrupted by a drain ${t.interrupted}; ` +
        `stale writes refused ${stale} (job_stale_writes_total, best effort)`,
      `violations ${violations.length}`,
    ].join('\n'),
  );
  for (const v of violations.slice(0, 50)) console.log(`  ${v}`);
  return violations.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
