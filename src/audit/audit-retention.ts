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
import { auditConfig } from '@lib/config';
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
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly audit: AuditService,
    @Inject(auditConfig.KEY) private readonly config: ConfigType<typeof auditConfig>,
    @InjectMetric(PRUNED) private readonly pruned: Counter,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running ??= this.prune()
        .catch((error: unknown) => this.logger.warn(`Audit retention failed: ${String(error)}`))
        .finally(() => (this.running = undefined));
    }, EVERY_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async prune(): Promise<number> {
    const deleted = await this.audit.pruneOlderThan(this.config.retentionDays);
    this.pruned.inc(deleted);
    if (deleted > 0) this.logger.log(`Retention deleted ${deleted} audit row(s)`);
    return deleted;
  }
}
