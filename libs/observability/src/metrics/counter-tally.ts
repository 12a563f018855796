import type { Counter } from 'prom-client';

/**
 * Increments of a counter with two labels, kept in plain maps and added to the counter when it is
 * collected (prom-client's `collect` hook runs before every read of the metric). Counter#inc
 * builds and checks a label object and a key string on every call; a worker counting each of
 * tens of thousands of jobs per second twice spent ~4 % of its CPU there (profile,
 * docs/performance.md).
 */
export class CounterTally<A extends string, B extends string> {
  private readonly counts = new Map<string, Map<string, number>>();

  constructor(
    private readonly first: A,
    private readonly second: B,
  ) {}

  add(first: string, second: string, count = 1): void {
    let row = this.counts.get(first);
    if (!row) this.counts.set(first, (row = new Map()));
    row.set(second, (row.get(second) ?? 0) + count);
  }

  /** For the counter's `collect`: adds what was counted since and starts again from zero. */
  flushInto(counter: Counter<A | B>): void {
    for (const [first, row] of this.counts) {
      for (const [second, count] of row) {
        if (count === 0) continue;
        counter.inc({ [this.first]: first, [this.second]: second } as Record<A | B, string>, count);
        // Kept at zero rather than deleted: the same pairs come back at once.
        row.set(second, 0);
      }
    }
  }
}
