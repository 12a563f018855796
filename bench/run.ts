/**
 * The benchmark harness (issue 6). `npm run bench` measures jobs-service alone;
 * `npm run bench:peers` measures it side by side with pg-boss and graphile-worker. See
 * bench/README.md for the scenarios, options and method.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { api } from './scenarios/api';
import { drain } from './scenarios/drain';
import { memory } from './scenarios/memory';
import { pickup } from './scenarios/pickup';
import type { Scenario } from './scenarios/scenario';
import { startReady } from './scenarios/start-ready';
import { describeMachine } from './support/machine';
import { parseOptions } from './support/options';
import { SERVICE_LOG, serviceLogSummary } from './support/service';
import { type Measurement, renderPerRepRatios, renderTable } from './support/table';
import { graphileWorker } from './systems/graphile-worker';
import { ours } from './systems/ours';
import { pgBoss } from './systems/pg-boss';
import type { System } from './systems/system';

const SCENARIOS: Scenario[] = [drain, pickup, api, memory, startReady];

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const systems: System[] = options.peers ? [ours, pgBoss, graphileWorker] : [ours];
  const scenarios = SCENARIOS.filter((s) => options.scenarios.includes(s.key));
  const machine = await describeMachine(options.databaseUrl);
  const started = performance.now();
  const measurements: Measurement[] = [];
  // Interleaved (rep → scenario → system) so that drift on the machine hits every system alike.
  for (let rep = 1; rep <= options.reps; rep += 1) {
    for (const scenario of scenarios) {
      for (const system of systems) {
        const label = `rep ${rep}/${options.reps} · (${scenario.key}) ${scenario.title} · ${system.name}`;
        process.stderr.write(`${label} …\n`);
        const t0 = performance.now();
        const metrics = await scenario.run(system, options);
        const seconds = ((performance.now() - t0) / 1000).toFixed(1);
        process.stderr.write(
          `${label}: ${metrics ? JSON.stringify(round(metrics)) : 'n/a'} (${seconds} s)\n`,
        );
        measurements.push({
          scenario: `(${scenario.key}) ${scenario.title}`,
          system: system.name,
          rep,
          metrics,
        });
      }
    }
  }

  const minutes = ((performance.now() - started) / 60_000).toFixed(1);
  console.log(`\n${machine}`);
  console.log(
    `${options.reps} rep(s), medians; --jobs ${options.jobs}, --pickups ${options.pickups}, ` +
      `--memory-jobs ${options.memoryJobs}, --enqueue-in-flight ${options.enqueueInFlight}, autocannon ${options.connections} connections × ` +
      `${options.durationSeconds} s${options.smoke ? ' (smoke: sizes too small for real numbers)' : ''}; ${minutes} min`,
  );
  for (const system of systems) console.log(`- ${system.name}: ${system.settings}`);
  if (Object.keys(options.oursEnv).length) console.log(`- ours --env: ${JSON.stringify(options.oursEnv)}`);
  const scenarioNames = scenarios.map((s) => `(${s.key}) ${s.title}`);
  const systemNames = systems.map((s) => s.name);
  console.log(`\n${renderTable(measurements, scenarioNames, systemNames)}\n`);
  const perRep = renderPerRepRatios(measurements, scenarioNames, systemNames);
  if (perRep.length > 0) console.log(`Per rep, in the order run:\n${perRep.join('\n')}\n`);
  reportServiceLog();
  if (options.json) writeFileSync(options.json, JSON.stringify({ machine, options, measurements }, null, 2));
}

function round(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));
}

function reportServiceLog(): void {
  const { lines, messages } = serviceLogSummary();
  if (!lines) {
    rmSync(SERVICE_LOG, { force: true });
    return console.log('jobs-service logged no warnings or errors.');
  }
  console.log(`jobs-service logged ${lines} warn/error line(s) (${SERVICE_LOG}):`);
  for (const [message, count] of [...messages].sort((a, b) => b[1] - a[1]).slice(0, 10)) {
    console.log(`  ${count} × ${message}`);
  }
}

main().then(
  // Open handles (pg pools of the peers' submitters, keep-alive sockets) must not keep CI waiting.
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
