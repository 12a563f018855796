/** Command-line options of bench/soak.ts (see bench/README.md, "Soak"). */
import { parseArgs } from 'node:util';

export interface SoakOptions {
  smoke: boolean;
  /** Length of the driven run, after the calibration. */
  minutes: number;
  /** The first part of the run, after which the reference RSS is taken. */
  warmupMinutes: number;
  /** Target arrival rate in requests/s; undefined: `loadShare` of the measured peak. */
  rate?: number;
  /** Share of the measured peak driven during the run. */
  loadShare: number;
  /** Length of the peak calibration (closed loop); its first quarter is not measured. */
  peakSeconds: number;
  /** Concurrent requests of the calibration's closed loop and HTTP connections of the run. */
  connections: number;
  /** One report line per this many seconds. */
  periodSeconds: number;
  /** RSS may grow at most this much (percent) from the warm-up to the end. */
  maxRssGrowthPercent: number;
  /** Whether RSS growth decides the verdict (a 30 s smoke run is too short to tell). */
  judgeRss: boolean;
  /** Extra environment for the service. */
  env: Record<string, string>;
}

export function parseSoakOptions(argv: string[]): SoakOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      smoke: { type: 'boolean', default: false },
      minutes: { type: 'string' },
      'warmup-minutes': { type: 'string' },
      rate: { type: 'string' },
      'peak-seconds': { type: 'string' },
      connections: { type: 'string' },
      env: { type: 'string', multiple: true, default: [] },
    },
  });
  const smoke = values.smoke;
  const number = (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`not a positive number: ${value}`);
    return n;
  };
  const positive = (value: string | undefined, normal: number, small: number): number =>
    value === undefined ? (smoke ? small : normal) : number(value);
  const minutes = positive(values.minutes, 10, 0.5);
  const warmupMinutes = positive(values['warmup-minutes'], 1, 1 / 6);
  if (warmupMinutes >= minutes) {
    throw new Error(`--warmup-minutes (${warmupMinutes}) must be shorter than --minutes (${minutes})`);
  }
  const env: Record<string, string> = {};
  for (const pair of values.env) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--env wants KEY=VALUE, got ${pair}`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return {
    smoke,
    minutes,
    warmupMinutes,
    // Smoke: a fixed low rate, so that its pass/fail does not depend on the machine's speed.
    rate: values.rate === undefined ? (smoke ? 50 : undefined) : number(values.rate),
    loadShare: 0.7,
    peakSeconds: positive(values['peak-seconds'], 20, 20),
    connections: Math.round(positive(values.connections, 32, 32)),
    periodSeconds: smoke || minutes < 2 ? 10 : 60,
    maxRssGrowthPercent: 10,
    judgeRss: !smoke,
    env,
  };
}
