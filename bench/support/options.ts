/** Command-line options of bench/run.ts (see bench/README.md). */
import { parseArgs } from 'node:util';
import { DEFAULT_DATABASE_URL } from './database';

export interface BenchOptions {
  peers: boolean;
  smoke: boolean;
  reps: number;
  scenarios: string[];
  /** Drain scenario: jobs enqueued, then drained. */
  jobs: number;
  /** Pickup scenario: sequential submits measured (after a few unmeasured warm-up ones). */
  pickups: number;
  /** Idle time between pickups, so the worker is idle at each submit. */
  pickupGapMs: number;
  /** Memory scenario: jobs fed while the worker drains, the backlog kept at most this. */
  memoryJobs: number;
  backlog: number;
  /** Idle RSS is read this long after ready. */
  idleSeconds: number;
  /** API scenario: autocannon duration and connections. */
  durationSeconds: number;
  connections: number;
  databaseUrl?: string;
  oursEnv: Record<string, string>;
  /** Bulk calls in flight while enqueueing, for every system alike. */
  enqueueInFlight: number;
  /** Drain scenario: also print each system's costliest statements (pg_stat_statements). */
  statements: boolean;
  json?: string;
}

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      peers: { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      reps: { type: 'string' },
      scenarios: { type: 'string', default: 'a,b,c,d,e' },
      jobs: { type: 'string' },
      pickups: { type: 'string' },
      'memory-jobs': { type: 'string' },
      backlog: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      'enqueue-in-flight': { type: 'string' },
      env: { type: 'string', multiple: true, default: [] },
      statements: { type: 'boolean', default: false },
      json: { type: 'string' },
    },
  });
  const smoke = values.smoke;
  const int = (value: string | undefined, normal: number, small: number): number => {
    if (value === undefined) return smoke ? small : normal;
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`not a positive integer: ${value}`);
    return n;
  };
  const oursEnv: Record<string, string> = {};
  for (const pair of values.env) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--env wants KEY=VALUE, got ${pair}`);
    oursEnv[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const scenarios = values.scenarios.split(',').map((s) => s.trim().toLowerCase());
  const unknown = scenarios.filter((s) => !/^[a-e]$/.test(s));
  if (unknown.length) throw new Error(`unknown scenarios: ${unknown.join(', ')} (a-e)`);
  return {
    peers: values.peers,
    smoke,
    reps: int(values.reps, 3, 1),
    scenarios,
    jobs: int(values.jobs, 100_000, 500),
    pickups: int(values.pickups, 500, 30),
    pickupGapMs: 20,
    memoryJobs: int(values['memory-jobs'], 1_000_000, 3_000),
    backlog: int(values.backlog, 50_000, 1_000),
    idleSeconds: smoke ? 1 : 5,
    durationSeconds: int(values.duration, 10, 1),
    connections: int(values.connections, 32, 32),
    // Peers always need PostgreSQL; ours alone may run on the embedded store.
    databaseUrl: process.env.DATABASE_URL || (values.peers ? DEFAULT_DATABASE_URL : undefined),
    oursEnv,
    enqueueInFlight: int(values['enqueue-in-flight'], 1, 1),
    statements: values.statements,
    json: values.json,
  };
}
