import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectMetric, makeCounterProvider } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { PeriodicTask } from '@lib/common';
import { DataSource } from 'typeorm';
import { databaseConfig, jobsConfig } from '@lib/config';
import { inTurn, MigrationStatus } from '@lib/database';

const PRUNED = 'jobs_pruned_total';
/** pg_try_advisory_xact_lock key: one replica prunes at a time. */
const RETENTION_LOCK = 7_364_101_001;
const BATCH = 500;
const EVERY_MS = 5 * 60_000;

export const jobRetentionMetricProviders = [
  makeCounterProvider({
    name: PRUNED,
    help: 'Finished jobs deleted by retention, by type.',
    labelNames: ['type'],
  }),
];

/**
 * Retention (CONTRACT §5): finished jobs older than JOBS_RETENTION_DAYS, with their attempt
 * history, are deleted in batches of 500, each its own short transaction, every 5 minutes. They
 * are found oldest first through IDX_jobs_created: a job finishes after it was created, and no
 * index may name `finished_at`, which a finish writes, or the finish would not be a HOT update
 * (migration 1796200000000). A batch runs only under a transaction-level advisory lock, so
 * replicas take turns instead of competing. PGlite has no autovacuum: on the embedded store each
 * run ends with a VACUUM, or the dead rows of every finished job would pile up.
 */
@Injectable()
export class JobRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(JobRetention.name);
  private readonly loop = new PeriodicTask('Job retention', () => this.prune(), this.logger);

  constructor(
    private readonly dataSource: DataSource,
    private readonly migrations: MigrationStatus,
    @Inject(jobsConfig.KEY) private readonly config: ConfigType<typeof jobsConfig>,
    @Inject(databaseConfig.KEY) private readonly db: ConfigType<typeof databaseConfig>,
    @InjectMetric(PRUNED) private readonly pruned: Counter<'type'>,
  ) {}

  onApplicationBootstrap(): Promise<void> {
    return this.migrations.onceApplied('job retention', () => this.loop.start(EVERY_MS));
  }

  onApplicationShutdown(): Promise<void> {
    return this.loop.stop();
  }

  /** Deletes what is past retention now; returns how many jobs went (0 if another replica holds the turn). */
  async prune(): Promise<number> {
    let total = 0;
    for (;;) {
      const types = await inTurn(this.dataSource, RETENTION_LOCK, async (em) => {
        // TypeORM answers a DELETE with [rows, count].
        const [rows] = await em.query<[{ type: string }[], number]>(
          `WITH doomed AS (
             SELECT id FROM jobs
             WHERE created_at < now() - $1::float8 * interval '1 day'
               AND status IN ('succeeded', 'failed', 'cancelled')
               AND finished_at < now() - $1::float8 * interval '1 day'
             ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED
           ), history AS (
             DELETE FROM job_attempts a USING doomed WHERE a.job_id = doomed.id
           )
           DELETE FROM jobs j USING doomed WHERE j.id = doomed.id RETURNING j.type`,
          [this.config.retentionDays, BATCH],
        );
        return rows.map((row) => row.type);
      });
      if (types === null) break;
      for (const type of types) this.pruned.inc({ type });
      total += types.length;
      if (types.length < BATCH) break;
    }
    if (!this.db.url)
      await this.dataSource.query('VACUUM (ANALYZE) jobs, job_attempts, job_queue, job_leases');
    if (total > 0) this.logger.log(`Retention deleted ${total} finished job(s)`);
    return total;
  }
}
