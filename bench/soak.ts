/**
 * The soak (issue 7.5): the built service under 70 % of its measured peak for 10 minutes, a
 * realistic request mix through the real API, one line per minute (errors, latency, RSS,
 * backlog); it fails when RSS grew more than 10 % after the warm-up, when any request failed or
 * when jobs piled up. See bench/README.md, "Soak".
 *
 *   npm run build && npm run soak                   # embedded store
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run soak
 *   npm run soak -- --smoke                         # 50 arrivals/s for 30 s, no RSS verdict
 */
import { rmSync } from 'node:fs';
import { describeMachine } from './support/machine';
import {
  SERVICE_LOG,
  serviceLogSummary,
  startService,
  stopService,
  withThrowawayStore,
} from './support/service';
import { drainBacklog, measurePeak } from './soak/calibrate';
import { HttpTarget } from './soak/http-target';
import { driveOpenLoop } from './soak/open-loop';
import { parseSoakOptions, type SoakOptions } from './soak/options';
import { clock, SoakReport } from './soak/report';
import { ServiceProbe } from './soak/service-probe';
import { Workload } from './soak/workload';

/** The run's rate: `loadShare` of the measured peak, once the calibration's backlog has run. */
async function calibrate(workload: Workload, probe: ServiceProbe, options: SoakOptions): Promise<number> {
  console.log(`calibrating: closed loop, ${options.connections} connections, ${options.peakSeconds} s …`);
  const peak = await measurePeak(workload, probe, options.peakSeconds, options.connections);
  const rate = Math.max(1, Math.round(peak.sustained * options.loadShare));
  console.log(
    `peak: ${peak.answered.toFixed(0)} arrivals/s answered, ${peak.drained.toFixed(0)} drained by the ` +
      `worker (errors: ${peak.errors}, p99 ${peak.p99.toFixed(1)} ms) → sustained ${peak.sustained.toFixed(0)}; ` +
      `driving ${options.loadShare * 100} %: ${rate} arrivals/s`,
  );
  await drainBacklog(probe);
  return rate;
}

async function soak(
  storeEnv: Record<string, string>,
  options: SoakOptions,
  target: HttpTarget,
): Promise<boolean> {
  const service = await startService({
    ...storeEnv,
    // The mix's http jobs call the soak's own target on loopback, which the SSRF guard refuses unless listed.
    JOBS_HTTP_ALLOWED_HOSTS: '127.0.0.1',
    // One login for the whole run: the access token must outlive calibration, run and drain.
    JWT_ACCESS_TTL: '24h',
    ...options.env,
  });
  const probe = new ServiceProbe(service);
  const workload = new Workload(service, target.url, options.connections);
  try {
    const rate = options.rate ?? (await calibrate(workload, probe, options));
    console.log(
      `run: ${rate} arrivals/s open loop for ${clock(options.minutes * 60_000)}, warm-up ` +
        `${clock(options.warmupMinutes * 60_000)}, ` +
        `a line every ${options.periodSeconds} s (answered: requests completed, a cancel is two)\n`,
    );
    const report = new SoakReport(probe);
    await report.begin();
    await driveOpenLoop(
      workload,
      {
        rate,
        durationMs: options.minutes * 60_000,
        periodMs: options.periodSeconds * 1000,
        maxInFlight: Math.max(500, rate * 5),
      },
      (period) => report.period(period),
    );
    return report.summary({
      warmupMs: options.warmupMinutes * 60_000,
      periodMs: options.periodSeconds * 1000,
      maxRssGrowthPercent: options.maxRssGrowthPercent,
      judgeRss: options.judgeRss,
      maxBacklogSeconds: 10,
    }).passed;
  } finally {
    probe.stop();
    await workload.close();
    await stopService(service);
  }
}

async function main(): Promise<boolean> {
  const options = parseSoakOptions(process.argv.slice(2));
  console.log(await describeMachine(process.env.DATABASE_URL));
  const target = await HttpTarget.start();
  try {
    const { store, numbers: passed } = await withThrowawayStore((storeEnv) =>
      soak(storeEnv, options, target),
    );
    const { lines, messages } = serviceLogSummary();
    console.log(`\n${store}; http target hit ${target.hits} times`);
    if (!lines) rmSync(SERVICE_LOG, { force: true });
    console.log(`service logged ${lines} warn/error line(s)${lines ? ` (${SERVICE_LOG}):` : ''}`);
    for (const [message, count] of [...messages].sort((a, b) => b[1] - a[1]).slice(0, 10)) {
      console.log(`  ${count} × ${message}`);
    }
    return passed;
  } finally {
    await target.close();
  }
}

main().then(
  (passed) => process.exit(passed ? 0 : 1),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
