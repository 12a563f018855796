/** Small statistics for the bench scripts: nearest-rank percentiles and medians. */

/** Nearest-rank percentile of an ascending array; `p` in [0, 1]. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(p * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Throws when the counter it observes has not moved for `stallMs`, so a stuck run fails. */
export function stallGuard(what: string, stallMs = 60_000): (value: number) => void {
  let last = Number.NaN;
  let lastChange = performance.now();
  return (value) => {
    if (value !== last) {
      last = value;
      lastChange = performance.now();
    } else if (performance.now() - lastChange > stallMs) {
      throw new Error(`no ${what} for ${stallMs / 1000} s (stuck at ${value})`);
    }
  };
}

/** Polls `check` every `intervalMs` until it returns true, failing if `progress` stalls. */
export async function waitFor(
  check: () => Promise<boolean>,
  progress: () => Promise<number>,
  { intervalMs = 20, what = 'progress' } = {},
): Promise<void> {
  const observe = stallGuard(what);
  while (!(await check())) {
    observe(await progress());
    await sleep(intervalMs);
  }
}

/**
 * Polls `count` until it reaches `target` and `settled` agrees, failing if it stalls. Ours counts
 * by scraping /metrics, whose jobs_in_state gauge counts the queued rows in PostgreSQL (~12 ms at
 * 100,000 queued), while the peers count in process for free; so it polls slowly until the end is
 * near (few rows left, a cheap count), then every `intervalMs`. Returns the last count.
 */
export async function waitForCount(
  count: () => Promise<number>,
  target: number,
  settled: () => Promise<boolean>,
  { intervalMs = 20, farIntervalMs = 200, what = 'progress' } = {},
): Promise<number> {
  const observe = stallGuard(what);
  for (;;) {
    const done = await count();
    if (done >= target && (await settled())) return done;
    observe(done);
    await sleep(done < 0.9 * target ? farIntervalMs : intervalMs);
  }
}
