import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { ShutdownState } from '@lib/common';
import { MigrationStatus } from '@lib/database';

/** CONTRACT §7: the store answers within 1 s. */
export const STORE_TIMEOUT_MS = 1000;

/** The three things readiness depends on, each reported under its own name. */
@Injectable()
export class ReadinessIndicators {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly typeorm: TypeOrmHealthIndicator,
    private readonly migrations: MigrationStatus,
    private readonly shutdown: ShutdownState,
  ) {}

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
      return (await this.migrations.allApplied())
        ? check.up()
        : check.down({ message: 'migrations pending' });
    } catch {
      return check.down({ message: 'migration status unknown' });
    }
  }
}
