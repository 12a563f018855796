import { setFlagsFromString } from 'node:v8';

/**
 * V8's defaults trade memory for throughput as if the process had a big machine to itself; a
 * replica is one small container among many (issue 6: RSS targets idle and under load). Both
 * flags are read by V8 at every collection, so setting them here, at run time, works for
 * `node dist/src/main.js` however it is started. Imported first by main.ts, so that start-up
 * (module loading, DI, migrations) already runs under them.
 *
 * - The old generation may grow to 1.5× what the last full GC kept instead of up to 4×: a drain
 *   allocates fast, and with the default factor a replica carried 100+ MB of dead objects, and
 *   V8's off-heap bookkeeping for them, between full collections (100,000 noop jobs: peak RSS
 *   310 → ~185 MB, worker CPU within the run-to-run noise).
 * - The young generation does not grow while starting: start-up retains most of what it
 *   allocates, which makes V8 double the young generation up to its 32 MB maximum, and an idle
 *   process runs no collection that would shrink it again (idle RSS ~145 MB). endOfStartup()
 *   gives back V8's growth factor, so that under load the young generation still grows as far
 *   as the allocation rate asks for.
 */
setFlagsFromString('--heap-growing-percent=50');
setFlagsFromString('--semi-space-growth-factor=1');

/** Call once serving: from here on the young generation grows with the load (V8's default). */
export function endOfStartup(): void {
  setFlagsFromString('--semi-space-growth-factor=2');
}
