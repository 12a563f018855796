import { coalesced } from '@lib/common';
import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Gauge, register } from 'prom-client';
import { DataSource } from 'typeorm';
import { JOB_STATUSES, type JobStatus } from './job-lifecycle';

const GAUGE = 'jobs_in_state';
/** Final-state counts may trail by this much (CONTRACT §5 admin queues); live states never do. */
const FINAL_COUNTS_MAX_AGE_MS = 5000;
/**
 * Queued and running jobs each have their own narrow table (migration 1796200000000): the queued
 * count is an index-only scan of IDX_job_queue_ready, the running count a scan of job_leases, which
 * holds only the attempts running now.
 */
export const LIVE_COUNTS = `
  SELECT type, 'queued' AS status, count(*)::int AS count FROM job_queue GROUP BY type
  UNION ALL
  SELECT type, 'running' AS status, count(*)::int AS count FROM job_leases GROUP BY type`;
/**
 * A scan of the jobs table: no index of it may name `status`, or state changes could not be HOT
 * updates (migration 1796200000000). Hence the cache below.
 */
export const FINAL_COUNTS = `SELECT type, status, count(*)::int AS count FROM jobs
  WHERE status IN ('succeeded', 'failed', 'cancelled') GROUP BY type, status`;

export type StateCounts = Map<string, Record<JobStatus, number>>;

/**
 * Jobs per type and status, for jobs_in_state and the admin queue view. Queued and running
 * counts are read on every call from their narrow tables, which hold only those jobs; the
 * final-state counts (the bulk of the table) are a scan of it, cached for 5 s and only run when
 * someone asks, so an idle scrape target costs nothing.
 *
 * /metrics needs no credentials unless METRICS_TOKEN is set, so a flood of scrapes must not become
 * a flood of counts: concurrent callers share one count of each kind (`coalesced`), and the
 * database runs at most one of each at a time however many scrapes arrive.
 */
@Injectable()
export class JobStateCounts implements OnModuleInit, OnModuleDestroy {
  private readonly liveCounts = coalesced(() => this.dataSource.query<CountRow[]>(LIVE_COUNTS));
  private finals?: { at: number; rows: Promise<CountRow[]> };

  constructor(private readonly dataSource: DataSource) {}

  onModuleInit(): void {
    // The last app built in a process owns the gauge (tests build many; production one).
    register.removeSingleMetric(GAUGE);
    const snapshot = () => this.snapshot();
    new Gauge({
      name: GAUGE,
      help: 'Jobs per type and status (final states may trail by up to 5 s).',
      labelNames: ['type', 'status'],
      async collect() {
        this.reset();
        for (const [type, byStatus] of await snapshot().catch(() => new Map() as StateCounts)) {
          for (const status of JOB_STATUSES) this.set({ type, status }, byStatus[status]);
        }
      },
    });
  }

  onModuleDestroy(): void {
    this.finals = undefined;
  }

  async snapshot(): Promise<StateCounts> {
    const [live, finals] = await Promise.all([this.liveCounts(), this.finalCounts()]);
    const counts: StateCounts = new Map();
    for (const row of [...live, ...finals]) {
      const byStatus = counts.get(row.type) ?? {
        queued: 0,
        running: 0,
        succeeded: 0,
        failed: 0,
        cancelled: 0,
      };
      byStatus[row.status] = row.count;
      counts.set(row.type, byStatus);
    }
    return counts;
  }

  /** The cached final counts, or one count shared by everyone who asks until it is 5 s old. */
  private finalCounts(): Promise<CountRow[]> {
    if (!this.finals || Date.now() - this.finals.at > FINAL_COUNTS_MAX_AGE_MS) {
      const rows = this.dataSource.query<CountRow[]>(FINAL_COUNTS);
      const finals = { at: Date.now(), rows };
      this.finals = finals;
      // A failed count is not kept: the next caller tries again.
      rows.catch(() => {
        if (this.finals === finals) this.finals = undefined;
      });
    }
    return this.finals.rows;
  }
}

interface CountRow {
  type: string;
  status: JobStatus;
  count: number;
}
