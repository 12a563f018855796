import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';

const RECHECK_MS = 2000;

/**
 * Answers "are all migrations applied?" for readiness; once they are, it stays so. With
 * MIGRATIONS_RUN=false a pipeline may apply them after the start: start-up steps that read the
 * schema wait for them through `onceApplied`, so an unmigrated store is a replica that is up and
 * not ready, not a crash.
 */
@Injectable()
export class MigrationStatus implements BeforeApplicationShutdown {
  private readonly logger = new Logger(MigrationStatus.name);
  /** True once every migration was found applied; a check that found some pending leaves it false. */
  get applied(): boolean {
    return this.isApplied;
  }

  private isApplied = false;
  private waiting: { what: string; step: () => Promise<void> | void }[] = [];
  private timer?: NodeJS.Timeout;
  private starting = false;

  constructor(private readonly dataSource: DataSource) {}

  async allApplied(): Promise<boolean> {
    if (!this.isApplied) this.isApplied = !(await this.dataSource.showMigrations());
    return this.isApplied;
  }

  /** For readiness: what waits for the migrations has not started yet, or is starting. */
  get catchingUp(): boolean {
    return this.waiting.length > 0 || this.starting;
  }

  /**
   * Runs `step` now when every migration is applied (awaited: its failure fails the start), else
   * once they are, checked every 2 s (its failure is then logged, the replica stays up).
   */
  async onceApplied(what: string, step: () => Promise<void> | void): Promise<void> {
    if (await this.allApplied()) return step();
    if (this.waiting.length === 0)
      this.logger.warn(
        'Migrations are pending and MIGRATIONS_RUN=false: not ready until `npm run migration:run` applies them',
      );
    this.waiting.push({ what, step });
    this.timer ??= setTimeout(() => void this.recheck(), RECHECK_MS);
  }

  /** What waits never starts once the replica is stopping. */
  beforeApplicationShutdown(): void {
    clearTimeout(this.timer);
    this.waiting = [];
  }

  private async recheck(): Promise<void> {
    const applied = await this.allApplied().catch(() => false);
    if (!applied) {
      if (this.waiting.length > 0) this.timer = setTimeout(() => void this.recheck(), RECHECK_MS);
      return;
    }
    this.timer = undefined;
    const ready = this.waiting;
    this.waiting = [];
    this.starting = true;
    this.logger.log(`Migrations applied: starting ${ready.map(({ what }) => what).join(', ')}`);
    for (const { what, step } of ready) {
      await Promise.resolve()
        .then(step)
        .catch((error: unknown) => this.logger.error(`${what} failed to start: ${String(error)}`));
    }
    this.starting = false;
  }
}
