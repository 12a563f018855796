/**
 * The soak's output: one line per period (arrivals, answers, errors by status, latency, the
 * service's RSS, its job backlog and throughput), then a summary with the verdict.
 */
import type { Period } from './open-loop';
import { type ServiceProbe, totalFinished } from './service-probe';
import { Window } from './window';

export interface Verdict {
  passed: boolean;
  reasons: string[];
}

export interface Limits {
  warmupMs: number;
  /** Length of a report period: RSS is compared as medians over one period. */
  periodMs: number;
  maxRssGrowthPercent: number;
  judgeRss: boolean;
  /** The queued backlog at the end may hold at most this many seconds of submitted jobs. */
  maxBacklogSeconds: number;
}

const COLUMNS = [
  ['time', 6],
  ['arrivals', 9],
  ['answered', 9],
  ['p50 ms', 8],
  ['p99 ms', 8],
  ['RSS MB', 7],
  ['submitted', 10],
  ['finished', 9],
  ['queued', 7],
  ['running', 8],
  ['errors', 0],
] as const;

export class SoakReport {
  private readonly totals = new Window();
  private readonly backlog: { endedAt: number; queued: number }[] = [];
  private finishedBefore = 0;
  private jobsSubmitted = 0;
  private jobsFinished = 0;
  private startedAt = Number.NaN;
  private lastEnd = Number.NaN;
  private failedOutcomes = new Map<string, number>();

  constructor(private readonly probe: ServiceProbe) {}

  async begin(): Promise<void> {
    this.finishedBefore = totalFinished(await this.probe.jobs());
    console.log(COLUMNS.map(([name, width]) => name.padStart(width)).join(' '));
  }

  /** Prints one period's line (a driveOpenLoop callback). */
  async period(period: Period): Promise<void> {
    const jobs = await this.probe.jobs();
    const finished = totalFinished(jobs);
    const { window } = period;
    this.totals.absorb(window);
    this.backlog.push({ endedAt: period.endedAt, queued: jobs.queued });
    this.jobsSubmitted += period.jobsSubmitted;
    this.jobsFinished += finished - this.finishedBefore;
    this.startedAt = period.runStartedAt;
    this.lastEnd = period.endedAt;
    for (const [outcome, count] of jobs.finished) {
      if (outcome !== 'succeeded' && outcome !== 'cancelled') this.failedOutcomes.set(outcome, count);
    }
    const cells = [
      clock(period.endedAt - this.startedAt),
      int(period.arrivals),
      int(window.requests),
      window.latency(0.5).toFixed(1),
      window.latency(0.99).toFixed(1),
      this.probe.rssMedian(period.beganAt, period.endedAt).toFixed(1),
      int(period.jobsSubmitted),
      int(finished - this.finishedBefore),
      int(jobs.queued),
      int(jobs.running),
      window.describeErrors(),
    ];
    this.finishedBefore = finished;
    console.log(cells.map((cell, i) => cell.padStart(COLUMNS[i][1])).join(' '));
  }

  /** Prints the summary and decides. */
  summary(limits: Limits): Verdict {
    const end = this.endState(limits);
    console.log(
      `\nRSS (medians over a period) after warm-up (${clock(limits.warmupMs)}-` +
        `${clock(Math.min(limits.warmupMs + limits.periodMs, end.seconds * 1000))}) ${end.rssWarm.toFixed(1)} MB, ` +
        `at the end (${clock(end.seconds * 1000 - limits.periodMs)}-${clock(end.seconds * 1000)}) ` +
        `${end.rssEnd.toFixed(1)} MB: ${signed(end.growth)} % ` +
        `(limit +${limits.maxRssGrowthPercent} %${limits.judgeRss ? '' : ', not judged in --smoke'})`,
    );
    console.log(
      `requests ${int(this.totals.requests)}, p50 ${this.totals.latency(0.5).toFixed(1)} ms, ` +
        `p99 ${this.totals.latency(0.99).toFixed(1)} ms; errors ${int(this.totals.errorCount)}: ` +
        this.totals.describeErrors(),
    );
    console.log(
      `jobs submitted ${int(this.jobsSubmitted)} (${end.jobRate.toFixed(0)}/s), finished ${int(this.jobsFinished)}; ` +
        `queued after warm-up ${end.backlogWarm ?? 'n/a'}, at the end ${int(end.backlogEnd)} ` +
        `(${end.backlogSeconds.toFixed(1)} s of submissions, limit ${limits.maxBacklogSeconds} s)` +
        (this.failedOutcomes.size ? `; not succeeded since start: ${describe(this.failedOutcomes)}` : ''),
    );
    const verdict = this.judge(end, limits);
    console.log(verdict.passed ? 'PASS' : `FAIL: ${verdict.reasons.join('; ')}`);
    return verdict;
  }

  private endState(limits: Limits) {
    const warmupEnd = this.startedAt + limits.warmupMs;
    // One period's worth of samples on each side: the first period after the warm-up, the last one.
    const rssWarm = this.probe.rssMedian(warmupEnd, Math.min(warmupEnd + limits.periodMs, this.lastEnd));
    const rssEnd = this.probe.rssMedian(this.lastEnd - limits.periodMs, this.lastEnd);
    const seconds = (this.lastEnd - this.startedAt) / 1000;
    const jobRate = this.jobsSubmitted / seconds;
    const backlogEnd = this.backlog.at(-1)?.queued ?? Number.NaN;
    return {
      rssWarm,
      rssEnd,
      growth: ((rssEnd - rssWarm) / rssWarm) * 100,
      seconds,
      jobRate,
      backlogWarm: [...this.backlog].reverse().find((b) => b.endedAt <= warmupEnd + 1)?.queued,
      backlogEnd,
      backlogSeconds: backlogEnd / Math.max(jobRate, 1e-9),
    };
  }

  private judge(end: ReturnType<SoakReport['endState']>, limits: Limits): Verdict {
    const reasons: string[] = [];
    if (limits.judgeRss && !(end.growth <= limits.maxRssGrowthPercent)) {
      reasons.push(`RSS grew ${signed(end.growth)} % after warm-up (limit +${limits.maxRssGrowthPercent} %)`);
    }
    if (this.totals.serverErrors) reasons.push(`${this.totals.serverErrors} 5xx/network/dropped`);
    const clientErrors = this.totals.errorCount - this.totals.serverErrors;
    // Every request of the mix is valid: a 4xx is a regression too (a lost job, a refused token).
    if (clientErrors) reasons.push(`${clientErrors} unexpected 4xx`);
    if (!(end.backlogSeconds <= limits.maxBacklogSeconds)) {
      reasons.push(`jobs are piling up: ${int(end.backlogEnd)} queued at the end`);
    }
    return { passed: reasons.length === 0, reasons };
  }
}

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const signed = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(1)}`;
const describe = (counts: Map<string, number>) => [...counts].map(([k, v]) => `${k} ${v}`).join(', ');

/** m:ss of a duration in ms. */
export function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
