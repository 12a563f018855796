import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** Answers "are all migrations applied?" for readiness; once they are, it stays so. */
@Injectable()
export class MigrationStatus {
  private applied = false;

  constructor(private readonly dataSource: DataSource) {}

  async allApplied(): Promise<boolean> {
    if (!this.applied) this.applied = !(await this.dataSource.showMigrations());
    return this.applied;
  }
}
