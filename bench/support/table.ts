/**
 * The one results table: per scenario and metric, the median over the repetitions for each system
 * and the ratio ours/peer, as Markdown so it can go straight into docs/performance.md.
 */
import { median } from './stats';

export interface Measurement {
  scenario: string;
  system: string;
  rep: number;
  /** null: the scenario does not apply to this system. */
  metrics: Record<string, number> | null;
}

function format(metric: string, value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (/\/s$/.test(metric)) return Math.round(value).toLocaleString('en-US');
  if (/ms$/.test(metric)) return value.toFixed(value < 1000 ? 2 : 0);
  if (/ratio$/.test(metric) || / s$/.test(metric)) return value.toFixed(2);
  return value.toFixed(1);
}

/** ours/peer; not for percentages, whose ratio means nothing. */
function ratio(metric: string, ours: number, peer: number): string {
  const value = ours / peer;
  return /%$/.test(metric) || !Number.isFinite(value) ? 'n/a' : value.toFixed(2);
}

/** Median of the finite values of `metric` for `system` in `scenario`, NaN when there is none. */
function medianOf(measurements: Measurement[], scenario: string, system: string, metric: string): number {
  const values = measurements
    .filter((m) => m.scenario === scenario && m.system === system && m.metrics)
    .map((m) => m.metrics?.[metric] ?? Number.NaN)
    .filter(Number.isFinite);
  return values.length ? median(values) : Number.NaN;
}

export function renderTable(measurements: Measurement[], scenarios: string[], systems: string[]): string {
  const [ours, ...peers] = systems;
  const header = ['scenario', 'metric', ...systems, ...peers.map((peer) => `${ours}/${peer}`)];
  const rows: string[][] = [];
  for (const scenario of scenarios) {
    const metrics = [
      ...new Set(
        measurements.filter((m) => m.scenario === scenario).flatMap((m) => Object.keys(m.metrics ?? {})),
      ),
    ];
    for (const metric of metrics) {
      const values = systems.map((system) => medianOf(measurements, scenario, system, metric));
      rows.push([
        scenario,
        metric,
        ...values.map((value) => format(metric, value)),
        ...values.slice(1).map((peer) => ratio(metric, values[0], peer)),
      ]);
    }
  }
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i].length)));
  const line = (row: string[]) =>
    `| ${row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/**
 * For each throughput of a scenario the peers ran too: ours/peer in each repetition. The reps
 * interleave the systems, so the two runs of a pair shared the host's state of the moment; on a
 * drifting host these ratios vary less than those of the medians (one system's median may come
 * from a quick rep, the other's from a slow one).
 */
export function renderPerRepRatios(
  measurements: Measurement[],
  scenarios: string[],
  systems: string[],
): string[] {
  const [ours, ...peers] = systems;
  const lines: string[] = [];
  for (const scenario of scenarios) {
    const runs = measurements.filter((m) => m.scenario === scenario && m.metrics);
    const reps = [...new Set(runs.map((m) => m.rep))].sort((a, b) => a - b);
    if (reps.length < 2) continue;
    const metricOf = (system: string, rep: number, metric: string) =>
      runs.find((m) => m.system === system && m.rep === rep)?.metrics?.[metric] ?? Number.NaN;
    const metrics = [...new Set(runs.flatMap((m) => Object.keys(m.metrics ?? {})))].filter((metric) =>
      /\/s$/.test(metric),
    );
    for (const metric of metrics) {
      const parts = peers.flatMap((peer) => {
        const ratios = reps.map((rep) => metricOf(ours, rep, metric) / metricOf(peer, rep, metric));
        return ratios.some(Number.isFinite)
          ? [`${ours}/${peer} ${ratios.map((r) => (Number.isFinite(r) ? r.toFixed(2) : 'n/a')).join(', ')}`]
          : [];
      });
      if (parts.length > 0) lines.push(`- ${scenario} · ${metric}: ${parts.join('; ')}`);
    }
  }
  return lines;
}
