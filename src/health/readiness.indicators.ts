import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { ReadinessDetails, type ReadinessDetailsSource, ShutdownState } from '@lib/common';
import { MigrationStatus } from '@lib/database';

/** CONTRACT §7: the store answers within 1 s. */
export const STORE_TIMEOUT_MS = 1000;

/**
 * The three things readiness depends on, each reported under its own name, plus what other
 * modules mark with @ReadinessDetails: shown, never failing readiness.
 */
@Injectable()
export class ReadinessIndicators implements OnModuleInit {
  private readonly logger = new Logger(ReadinessIndicators.name);
  private sources: { name: string; source: ReadinessDetailsSource }[] = [];

  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly dataSource: DataSource,
    private readonly migrations: MigrationStatus,
    private readonly shutdown: ShutdownState,
    private readonly discovery: DiscoveryService,
  ) {}

  onModuleInit(): void {
    this.sources = this.discovery
      .getProviders({ metadataKey: ReadinessDetails.KEY })
      .filter((wrapper) => wrapper.instance)
      .map((wrapper) => ({
        name: this.discovery.getMetadataByDecorator(ReadinessDetails, wrapper) ?? String(wrapper.name),
        source: wrapper.instance as ReadinessDetailsSource,
      }));
  }

  /** Always up: these report on what the service talks to, not on whether it can serve. */
  informational() {
    return this.sources.map(({ name, source }) => () => {
      const check = this.indicators.check(name);
      try {
        return check.up(source.readinessDetails());
      } catch {
        // A throwing check would turn readiness 503, which these must never do.
        return check.up({ message: 'details unavailable' });
      }
    });
  }

  shuttingDown() {
    const check = this.indicators.check('shutdown');
    return this.shutdown.isShuttingDown ? check.down({ message: 'shutting down' }) : check.up();
  }

  /**
   * The probe is anonymous: it says that the store failed, and the log says why (a driver's
   * message can name the host, the database or the role).
   */
  store() {
    return this.indicators
      .check('store')
      .attempt(async () => {
        try {
          await this.dataSource.query('SELECT 1');
        } catch (error) {
          this.logger.warn(`Readiness: the store failed: ${String(error)}`);
          throw new Error('store unavailable', { cause: error });
        }
      })
      .withTimeout(STORE_TIMEOUT_MS);
  }

  async migrationsApplied() {
    const check = this.indicators.check('migrations');
    try {
      if (!(await this.migrations.allApplied())) return check.down({ message: 'migrations pending' });
      return this.migrations.catchingUp
        ? check.down({ message: 'starting after the migrations' })
        : check.up();
    } catch {
      return check.down({ message: 'migration status unknown' });
    }
  }
}
