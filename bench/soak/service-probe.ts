/**
 * What the soak watches in the service: its RSS, sampled every second from /proc, and from
 * /metrics the queued backlog (jobs_in_state) and the jobs that reached a final state.
 */
import { rssMb } from '../support/rss';
import { median } from '../support/stats';
import type { Service } from '../support/service';

const IN_STATE = /^jobs_in_state\{([^}]*)\} (\d+)/gm;
const FINISHED = /^jobs_finished_total\{([^}]*)\} (\d+)/gm;

export interface JobCounts {
  /** Jobs waiting to run, delayed ones included (the soak's cancel leaves a few for a moment). */
  queued: number;
  running: number;
  /** Jobs that reached a final state since the start, by outcome. */
  finished: Map<string, number>;
}

export class ServiceProbe {
  private readonly samples: { at: number; mb: number }[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly service: Service) {
    const pid = service.child.pid ?? -1;
    const sample = () => {
      try {
        this.samples.push({ at: performance.now(), mb: rssMb(pid) });
      } catch {
        // The process is exiting; the samples so far stand.
      }
    };
    sample();
    this.timer = setInterval(sample, 1000);
  }

  /**
   * Median RSS in MiB of the samples in [from, to]. Over a whole period, so that where the heap
   * stands in its garbage-collection sawtooth at one instant does not decide a verdict (a
   * 10-minute run at 400 arrivals/s swings by ±8 % from one minute's reading to the next).
   */
  rssMedian(from: number, to: number): number {
    const inside = this.samples.filter((s) => s.at >= from && s.at <= to).map((s) => s.mb);
    return inside.length ? median(inside) : Number.NaN;
  }

  async jobs(): Promise<JobCounts> {
    const res = await fetch(`${this.service.url}/metrics`);
    if (!res.ok) throw new Error(`/metrics → ${res.status}`);
    const text = await res.text();
    const counts: JobCounts = { queued: 0, running: 0, finished: new Map() };
    for (const [, labels, value] of text.matchAll(IN_STATE)) {
      if (labels.includes('status="queued"')) counts.queued += Number(value);
      if (labels.includes('status="running"')) counts.running += Number(value);
    }
    for (const [, labels, value] of text.matchAll(FINISHED)) {
      const outcome = /outcome="([^"]*)"/.exec(labels)?.[1] ?? '?';
      counts.finished.set(outcome, (counts.finished.get(outcome) ?? 0) + Number(value));
    }
    return counts;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export function totalFinished(counts: JobCounts): number {
  let total = 0;
  for (const value of counts.finished.values()) total += value;
  return total;
}
