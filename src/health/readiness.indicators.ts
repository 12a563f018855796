import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
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
  private sources: { name: string; source: ReadinessDetailsSource }[] = [];

  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly typeorm: TypeOrmHealthIndicator,
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

  store() {
    return this.typeorm.pingCheck('store').withTimeout(STORE_TIMEOUT_MS);
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
