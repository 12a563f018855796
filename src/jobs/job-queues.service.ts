import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { JobHandlerRegistry } from './job-handler-registry';
import { JobSignals } from './job-signals';
import { JobStateCounts } from './job-state-counts';
import { JobStore } from './job-store';
import type { QueueDto } from './jobs.dto';
import { QueueNotFoundError } from './jobs.errors';

const NO_JOBS = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };

/**
 * The admin view of queues (one per job type) and their pause switch (CONTRACT §5). A paused
 * type still accepts jobs; workers stop claiming it within a second (JobEngine reads
 * pausedTypes() every second and on a change signal).
 */
@Injectable()
export class JobQueuesService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: JobHandlerRegistry,
    private readonly counts: JobStateCounts,
    private readonly audit: AuditService,
    private readonly signals: JobSignals,
    private readonly store: JobStore,
  ) {}

  async list(): Promise<QueueDto[]> {
    const [counts, paused, ages] = await Promise.all([
      this.counts.snapshot(),
      this.store.pausedTypes(),
      this.oldestReadyAges(),
    ]);
    return this.registry.all().map(({ type }) => ({
      type,
      paused: paused.has(type),
      counts: { ...NO_JOBS, ...counts.get(type) },
      oldestQueuedAgeSeconds: ages.get(type) ?? null,
    }));
  }

  async get(type: string): Promise<QueueDto> {
    const queue = (await this.list()).find((item) => item.type === type);
    if (!queue) throw new QueueNotFoundError();
    return queue;
  }

  /** Idempotent; only a real change is audited and signalled, and a refusal (no such type). */
  async setPaused(type: string, paused: boolean): Promise<QueueDto> {
    const action = paused ? 'queue.paused' : 'queue.resumed';
    const changed = await this.audit.refusalsAudited(
      { action, resourceType: 'queue', resourceId: type },
      () => {
        if (!this.registry.get(type)) throw new QueueNotFoundError();
        return this.dataSource.transaction(async (em) => {
          const [row] = await em.query<{ paused: boolean }[]>(
            'SELECT paused FROM job_queues WHERE type = $1 FOR UPDATE',
            [type],
          );
          const before = row?.paused ?? false;
          if (before === paused) return false;
          await em.query(
            `INSERT INTO job_queues (type, paused) VALUES ($1, $2)
             ON CONFLICT (type) DO UPDATE SET paused = EXCLUDED.paused, updated_at = now()`,
            [type, paused],
          );
          await this.audit.record(
            {
              action,
              resourceType: 'queue',
              resourceId: type,
              changes: { paused: { before, after: paused } },
            },
            em,
          );
          await this.signals.publishQueuesChanged(em);
          return true;
        });
      },
    );
    if (changed) this.signals.queuesChangedLocally();
    return this.get(type);
  }

  /** Seconds since the oldest ready job of each type could have started (delayed ones wait by design). */
  private async oldestReadyAges(): Promise<Map<string, number>> {
    const rows = await this.dataSource.query<{ type: string; age: number }[]>(
      `SELECT type, extract(epoch FROM now() - min(run_at))::float8 AS age FROM job_queue
       WHERE run_at <= now() GROUP BY type`,
    );
    return new Map(rows.map((row) => [row.type, Math.round(row.age * 1000) / 1000]));
  }
}
