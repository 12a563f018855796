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
import { auditConfig } from '@lib/config';
import { MigrationStatus } from '@lib/database';
import { AuditService } from './audit.service';

const PRUNED = 'audit_logs_pruned_total';
const EVERY_MS = 60 * 60_000;

export const auditRetentionMetricProviders = [
  makeCounterProvider({ name: PRUNED, help: 'Audit rows deleted by retention (AUDIT_RETENTION_DAYS).' }),
];

/**
 * Retention of the audit trail (CONTRACT §6): every hour, rows older than AUDIT_RETENTION_DAYS
 * go, in small batches, one replica at a time (AuditService.pruneOlderThan).
 */
@Injectable()
export class AuditRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AuditRetention.name);
  private readonly loop = new PeriodicTask('Audit retention', () => this.prune(), this.logger);

  constructor(
    private readonly audit: AuditService,
    private readonly migrations: MigrationStatus,
    @Inject(auditConfig.KEY) private readonly config: ConfigType<typeof auditConfig>,
    @InjectMetric(PRUNED) private readonly pruned: Counter,
  ) {}

  onApplicationBootstrap(): Promise<void> {
    return this.migrations.onceApplied('audit retention', () => this.loop.start(EVERY_MS));
  }

  onApplicationShutdown(): Promise<void> {
    return this.loop.stop();
  }

  async prune(): Promise<number> {
    const deleted = await this.audit.pruneOlderThan(this.config.retentionDays);
    this.pruned.inc(deleted);
    if (deleted > 0) this.logger.log(`Retention deleted ${deleted} audit row(s)`);
    return deleted;
  }
}
