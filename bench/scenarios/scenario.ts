/** A benchmark scenario: one measurement of one system on a fresh store. */
import type { BenchOptions } from '../support/options';
import type { System } from '../systems/system';

/** Metric name → value; the unit is the name's suffix (see support/table.ts). */
export type Metrics = Record<string, number>;

export interface Scenario {
  key: string;
  title: string;
  /** Resolves with null when the scenario does not apply to `system` (printed n/a). */
  run(system: System, options: BenchOptions): Promise<Metrics | null>;
}
