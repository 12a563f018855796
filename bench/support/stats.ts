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

/** Polls `read` until `done` agrees with what it read, failing if that value stalls. */
export async function waitFor(
  read: () => Promise<number>,
  done: (value: number) => boolean | Promise<boolean>,
  { intervalMs = 20, what = 'progress' }: { intervalMs?: number; what?: string } = {},
): Promise<void> {
  const observe = stallGuard(what);
  for (;;) {
    const value = await read();
    if (await done(value)) return;
    observe(value);
    await sleep(intervalMs);
  }
}
